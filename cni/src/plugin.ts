// What the weft CNI plugin does per command, with its I/O handed in: read the
// pod, and for a pod the injector meshed in CNI mode, write the capture rules
// (the same generator and flags as weft-proxy-init) inside its network
// namespace. Every other pod passes through untouched. Errors are values with
// a CNI error code, so a failure fails the pod's sandbox with a clear message.
import { ANNOTATIONS, LABELS } from "../../lib/proxy-contract.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import { parseCaptureFlags } from "../../sidecar/src/capture/flags.ts";
import type { CaptureOptions } from "../../sidecar/src/capture/rules.ts";
import { CNI_ERRORS, passThrough, SUPPORTED_VERSIONS, type CniRequest } from "./cni-spec.ts";

/** The little of a pod the plugin reads. */
export interface PodMeta {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface PluginDeps {
  readPod(kubeconfig: string, namespace: string, name: string): Promise<Result<PodMeta>>;
  applyCapture(options: CaptureOptions, netns: string): Result<string>;
  captureInstalled(family: CaptureOptions["family"], netns: string): Result<boolean>;
}

/** stdout's JSON on success; `fail` carries the CNI error code as its code. */
export type PluginOutcome = Result<Record<string, unknown> | null>;

const err = (code: number, message: string): PluginOutcome => fail(String(code), message);

/** The capture flags a pod asks for, or null when it is not meshed in CNI mode. */
export function captureRequest(pod: PodMeta): Result<CaptureOptions | null> {
  const raw = pod.annotations[ANNOTATIONS.cniCapture];
  if (pod.labels[LABELS.meshed] !== "true" || raw === undefined) return ok(null);
  let args: unknown;
  try {
    args = JSON.parse(raw);
  } catch {
    return fail("bad-annotation", `${ANNOTATIONS.cniCapture} is not a JSON list: ${raw}`);
  }
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) return fail("bad-annotation", `${ANNOTATIONS.cniCapture} is not a list of strings: ${raw}`);
  const parsed = parseCaptureFlags(args);
  if (!parsed.ok) return parsed;
  if (parsed.value.remove || parsed.value.dryRun) return fail("bad-annotation", `${ANNOTATIONS.cniCapture} may not ask for --remove or --dry-run`);
  return ok(parsed.value.options);
}

async function meshedCapture(request: CniRequest, deps: PluginDeps): Promise<Result<CaptureOptions | null>> {
  if (!request.pod) return ok(null); // not a Kubernetes pod: nothing to capture
  const { namespace, name } = request.pod;
  const pod = await deps.readPod(request.conf.kubeconfig, namespace, name);
  if (!pod.ok) return fail(String(CNI_ERRORS.podUnreadable), `weft-cni: cannot read pod ${namespace}/${name}: ${pod.message}`);
  const capture = captureRequest(pod.value);
  if (!capture.ok) return fail(String(CNI_ERRORS.badCaptureFlags), `weft-cni: pod ${namespace}/${name}: ${capture.message}`);
  return capture;
}

export async function handle(request: CniRequest, deps: PluginDeps): Promise<PluginOutcome> {
  switch (request.command) {
    case "VERSION":
      return ok({ cniVersion: request.conf.cniVersion, supportedVersions: [...SUPPORTED_VERSIONS] });
    case "DEL":
    case "GC":
      // The rules live in the pod's network namespace and go with it.
      return ok(null);
    case "STATUS":
      return ok(null);
    case "ADD": {
      const capture = await meshedCapture(request, deps);
      if (!capture.ok) return err(Number(capture.code), capture.message);
      if (capture.value !== null) {
        const applied = deps.applyCapture(capture.value, request.netns);
        if (!applied.ok) return err(CNI_ERRORS.captureFailed, `weft-cni: writing capture rules for ${request.pod?.namespace}/${request.pod?.name} in ${request.netns}: ${applied.message}`);
      }
      return ok(passThrough(request.conf));
    }
    case "CHECK": {
      const capture = await meshedCapture(request, deps);
      if (!capture.ok) return err(Number(capture.code), capture.message);
      if (capture.value === null) return ok(null);
      const installed = deps.captureInstalled(capture.value.family, request.netns);
      if (!installed.ok) return err(CNI_ERRORS.captureFailed, `weft-cni: reading ${request.netns}: ${installed.message}`);
      if (!installed.value) return err(CNI_ERRORS.captureMissing, `weft-cni: pod ${request.pod?.namespace}/${request.pod?.name} is meshed but its network namespace has no capture rules`);
      return ok(null);
    }
  }
}
