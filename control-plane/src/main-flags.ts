// First import of main.ts: ESM evaluates imports in order, so this runs before
// the control plane's own modules load and the re-exec wastes no work. Only
// when main.ts (or its built main.js) is the process's entry point: a program
// that imports main.ts for startControlPlane keeps its own flags.
import { basename, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { reexecWithNodeFlags } from "../../lib/node-flags.ts";
import { CONTROL_PLANE_NODE_SPEC } from "./node-flags.ts";

const entry = process.argv[1] ? resolve(process.argv[1]) : "";
const here = dirname(fileURLToPath(import.meta.url));
if (dirname(entry) === here && /^main\.(ts|js)$/.test(basename(entry))) reexecWithNodeFlags(CONTROL_PLANE_NODE_SPEC);
