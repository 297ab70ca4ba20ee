#!/usr/bin/env node
// weft-proxy-init: the init container the injector adds to meshed pods. It
// writes the pod's capture rules (see capture/rules.ts) and exits.
import { runCapture } from "./capture/run.ts";

process.exitCode = runCapture(process.argv.slice(2));
