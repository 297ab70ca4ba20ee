// The control plane's Node and allocator settings (applied by main-flags.ts
// through lib/node-flags.ts; the discovery benchmark starts its server with
// the same). Measured with 1,000 discovery streams (docs/benchmarks.md,
// "Discovery"): V8's default young generation (up to 16-32 MB semi-spaces)
// and glibc's growing mmap threshold each kept tens of MB resident after the
// connect burst; 2 MB semi-spaces and a fixed 128 KiB mmap/trim threshold
// (large buffers such as full snapshots mapped and returned, not left in the
// heap) keep RSS near what the mesh and connections need. With 2 MB
// semi-spaces, per-stream objects of each push outlive the young generation
// and V8 let the old generation grow 30 -> 55 MB (20 MB more mapped pages)
// before a full GC; a 20 % heap growing factor collects at ~1.2x the live
// heap instead: after 30 changes 254 vs 268 MB, burst peak 287 vs 301 MB,
// CPU per change within the noise (docs/benchmarks.md, "Discovery", 2026-12-07).
import type { NodeFlagsSpec } from "../../lib/node-flags.ts";

export const CONTROL_PLANE_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=2", "--heap-growing-percent=20"];

/** Read by glibc at exec time; ignored by other C libraries. */
export const CONTROL_PLANE_NODE_ENV: Readonly<Record<string, string>> = {
  GLIBC_TUNABLES: "glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072",
};

/** Set to "0" to run with whatever flags and environment the process was started with. */
export const CONTROL_PLANE_REEXEC_ENV = "WEFT_CONTROL_PLANE_NODE_FLAGS_REEXEC";

export const CONTROL_PLANE_NODE_SPEC: NodeFlagsSpec = { flags: CONTROL_PLANE_NODE_FLAGS, env: CONTROL_PLANE_NODE_ENV, reexecEnv: CONTROL_PLANE_REEXEC_ENV };
