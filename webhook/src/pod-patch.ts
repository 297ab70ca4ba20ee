// The JSON patch from a pod to its injected form, written the way a reviewer
// reads it: one op per added key, container and volume, instead of a generic
// diff (which, for a container prepended to a list, rewrites every element).
// The apiserver rejects the pod if a patch does not apply, so every op targets
// a path that exists at that point: absent maps and lists are added whole, and
// "/" and "~" in keys are escaped (weft.io/meshed -> weft.io~1meshed). Tests
// apply the patch to every golden input and compare with injectPod's output.
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import type { Operation } from "fast-json-patch";
import { CONTAINER_NAMES } from "../../lib/proxy-contract.ts";

export function escapePointer(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}

function mapOps(path: string, before: Record<string, string> | undefined, after: Record<string, string> | undefined): Operation[] {
  if (!after) return [];
  if (!before) return [{ op: "add", path, value: after }];
  const ops: Operation[] = [];
  for (const [key, value] of Object.entries(after)) {
    if (before[key] !== value) ops.push({ op: "add", path: `${path}/${escapePointer(key)}`, value });
  }
  return ops;
}

const PROBES = ["livenessProbe", "readinessProbe", "startupProbe"] as const;

export function podPatch(before: V1Pod, after: V1Pod): Operation[] {
  const ops: Operation[] = [];
  if (!before.metadata) ops.push({ op: "add", path: "/metadata", value: {} });
  ops.push(...mapOps("/metadata/labels", before.metadata?.labels, after.metadata?.labels));
  ops.push(...mapOps("/metadata/annotations", before.metadata?.annotations, after.metadata?.annotations));

  const bSpec = before.spec;
  const aSpec = after.spec;
  if (!aSpec) return ops;
  if (!bSpec) return [...ops, { op: "add", path: "/spec", value: aSpec }];

  const oldInit = bSpec.initContainers;
  const newInit = aSpec.initContainers ?? [];
  if (!oldInit) {
    if (newInit.length > 0) ops.push({ op: "add", path: "/spec/initContainers", value: newInit });
  } else {
    // Injected init containers come first; "add" at an index inserts before it.
    newInit.slice(0, newInit.length - oldInit.length).forEach((c, i) => ops.push({ op: "add", path: `/spec/initContainers/${i}`, value: c }));
  }

  const oldContainers = bSpec.containers ?? [];
  const newApps = aSpec.containers.filter((c) => c.name !== CONTAINER_NAMES.proxy);
  // Probe rewrites first, at the app containers' original indices.
  newApps.forEach((c: V1Container, i) => {
    const old = oldContainers[i];
    if (!old) return;
    for (const field of PROBES) {
      if (c[field] !== old[field] && c[field] !== undefined) ops.push({ op: "replace", path: `/spec/containers/${i}/${field}`, value: c[field] });
    }
  });
  const proxyIndex = aSpec.containers.findIndex((c) => c.name === CONTAINER_NAMES.proxy);
  if (proxyIndex >= 0) ops.push({ op: "add", path: `/spec/containers/${proxyIndex}`, value: aSpec.containers[proxyIndex] });

  const oldVolumes = bSpec.volumes;
  const newVolumes = aSpec.volumes ?? [];
  if (!oldVolumes) {
    if (newVolumes.length > 0) ops.push({ op: "add", path: "/spec/volumes", value: newVolumes });
  } else {
    for (const v of newVolumes.slice(oldVolumes.length)) ops.push({ op: "add", path: "/spec/volumes/-", value: v });
  }
  return ops;
}
