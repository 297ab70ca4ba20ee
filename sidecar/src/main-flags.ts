// First import of main.ts: ESM evaluates imports in order, so this runs
// before the proxy's own modules load and the re-exec wastes no work.
import { reexecWithProxyFlags } from "./node-flags.ts";

reexecWithProxyFlags();
