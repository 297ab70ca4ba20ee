// What `weft tap` and `weft top` send to the tap API: the resource named on the
// command line, its aggregated-API path, and the tap request body from the
// flags. Pure.
import { fail, ok, type Result } from "../../lib/result.ts";
import { MAX_TAP_RPS } from "../../lib/tap-contract.ts";
import { UsageError } from "./exit-codes.ts";
import type { ParsedArgs } from "./kube-flags.ts";

const KINDS: Record<string, "pods" | "deployments" | "services" | "namespaces"> = {
  po: "pods", pod: "pods", pods: "pods",
  deploy: "deployments", deployment: "deployments", deployments: "deployments",
  svc: "services", service: "services", services: "services",
  ns: "namespaces", namespace: "namespaces", namespaces: "namespaces",
};
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export interface TapResource {
  kind: "pods" | "deployments" | "services" | "namespaces";
  name: string;
}

export function parseTapResource(text: string): Result<TapResource> {
  const slash = text.indexOf("/");
  const kind = KINDS[slash < 0 ? "pod" : text.slice(0, slash).toLowerCase()];
  const name = slash < 0 ? text : text.slice(slash + 1);
  if (!kind) return fail("usage", `"${text}": tap takes pod/NAME, deploy/NAME, svc/NAME or ns/NAME`);
  if (!NAME.test(name)) return fail("usage", `"${name}" is not a valid name`);
  return ok({ kind, name });
}

/** The aggregated API path of a tap (under watch/: the apiserver's RBAC then checks verb watch, as weft-tap-reader grants). Pure. */
export function tapApiPath(namespace: string, r: TapResource): string {
  const base = "/apis/tap.weft.io/v1alpha1/watch/namespaces";
  return r.kind === "namespaces" ? `${base}/${r.name}/tap` : `${base}/${namespace}/${r.kind}/${r.name}/tap`;
}

/** The tap request body from the flags; a usage error as a thrown UsageError. */
export function tapBody(values: ParsedArgs["values"], headers: readonly string[], namespace: string): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const maxRps = values["max-rps"] === undefined ? 100 : Number(values["max-rps"]);
  if (!Number.isFinite(maxRps) || maxRps <= 0 || maxRps > MAX_TAP_RPS) throw new UsageError(`--max-rps must be a number in (0, ${MAX_TAP_RPS}]`);
  body.maxRps = maxRps;
  if (typeof values.method === "string") body.method = values.method.toUpperCase();
  if (typeof values.path === "string") {
    if (!values.path.startsWith("/")) throw new UsageError("--path must start with /");
    body.pathPrefix = values.path;
  }
  if (typeof values.to === "string") {
    const to = parseTapResource(values.to);
    if (!to.ok || to.value.kind === "namespaces") throw new UsageError(`--to: ${to.ok ? "takes pod/, deploy/ or svc/" : to.message}`);
    body.to = { kind: to.value.kind, name: to.value.name, namespace };
  }
  if (headers.length > 0) body.headers = headers.map((h) => h.toLowerCase());
  return body;
}
