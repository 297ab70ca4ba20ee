// Set-up step: builds h2spec, the HTTP/2 conformance checker that
// test/sidecar/h2spec.test.ts runs against the proxy's HTTP/2 listener, once
// per version into the cache. Does nothing when it is there.
import { ensureH2spec } from "../support/h2spec.ts";

ensureH2spec((line) => console.log(`[prepare] ${line}`));
