// Resources as kubectl users name them: `pod/x`, `po/x`, `deploy/x`,
// `deployment/x`, `deployments.apps/x`, or a bare pod name. Pure parsing here;
// resolving a Deployment to one of its pods is in kube-pods.ts.
import { fail, ok, type Result } from "../../lib/result.ts";

export type ResourceKind = "pod" | "deployment";
export interface ResourceRef {
  kind: ResourceKind;
  name: string;
}

const KINDS: Record<string, ResourceKind> = {
  pod: "pod",
  pods: "pod",
  po: "pod",
  deploy: "deployment",
  deployment: "deployment",
  deployments: "deployment",
  "deployment.apps": "deployment",
  "deployments.apps": "deployment",
};

/** A DNS-1123 subdomain, what the apiserver accepts as a pod or Deployment name. */
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function parseResource(text: string): Result<ResourceRef, "bad-resource"> {
  const slash = text.indexOf("/");
  const kindText = slash < 0 ? "pod" : text.slice(0, slash).toLowerCase();
  const name = slash < 0 ? text : text.slice(slash + 1);
  const kind = KINDS[kindText];
  if (kind === undefined) return fail("bad-resource", `"${kindText}" is not a kind this command takes (pod/NAME, deploy/NAME, or a pod name)`);
  if (!NAME.test(name)) return fail("bad-resource", `"${name}" is not a valid ${kind} name`);
  return ok({ kind, name });
}
