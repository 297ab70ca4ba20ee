// Set-up step: builds the fortio load generator that `npm run bench -- proxy`
// drives (once per version, into the cache). Does nothing when it is there.
import { ensureFortio } from "../../bench/lib-proxy-fortio.ts";

ensureFortio((line) => console.log(`[prepare] ${line}`));
