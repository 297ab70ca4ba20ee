// Who may tap what, decided by Kubernetes RBAC for the user at the keyboard.
// `weft tap` reaches the tap component only through the apiserver, as the
// aggregated API tap.weft.io: the apiserver authenticates the user, then calls
// this component with its front-proxy client certificate and the user in
// X-Remote-User / X-Remote-Group / X-Remote-Extra-*. The component trusts
// those headers only on a connection whose client certificate chains to the
// requestheader CA (and names an allowed CN), and then asks the apiserver a
// SubjectAccessReview: may this user `watch` <resource>/tap in tap.weft.io?
// The pure parts (the path, the user from the headers, the review's body and
// its answer) are here; the I/O is the one reviewer function at the bottom.
import { AuthorizationV1Api, type KubeConfig, type V1SubjectAccessReview } from "@kubernetes/client-node";
import { fail, ok, type Result } from "../../lib/result.ts";

export const TAP_GROUP = "tap.weft.io";
export const TAP_VERSION = "v1alpha1";
export const TAP_VERB = "watch";

export type TapKind = "pods" | "deployments" | "services" | "namespaces";

export interface TapTarget {
  namespace: string;
  kind: TapKind;
  /** The namespace itself for kind "namespaces". */
  name: string;
}

export interface RemoteUser {
  user: string;
  groups: string[];
  extra: Record<string, string[]>;
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
// Under `watch/`: the apiserver authorizes a request to an aggregated API as it
// would its own, and a POST there is verb `watch` only with this prefix (else
// `create`), so the apiserver's RBAC check and the SubjectAccessReview below ask
// about the same verb and a user bound to weft-tap-reader passes both.
const PREFIX = `/apis/${TAP_GROUP}/${TAP_VERSION}/watch/`;

/**
 * `/apis/tap.weft.io/v1alpha1/watch/namespaces/NS/{pods|deployments|services}/NAME/tap`
 * or `/apis/tap.weft.io/v1alpha1/watch/namespaces/NS/tap` (every pod of NS).
 */
export function parseTapPath(path: string): Result<TapTarget> {
  const clean = path.split("?")[0] ?? path;
  if (!clean.startsWith(PREFIX)) return fail("not-found", `no tap resource at ${clean}`);
  const parts = clean.slice(PREFIX.length).split("/");
  const [nsWord, namespace = "", a = "", b = "", c = ""] = parts;
  if (nsWord !== "namespaces" || !NAME.test(namespace)) return fail("not-found", `no tap resource at ${clean}`);
  if (parts.length === 3 && a === "tap") return ok({ namespace, kind: "namespaces", name: namespace });
  if (parts.length === 5 && c === "tap" && (a === "pods" || a === "deployments" || a === "services") && NAME.test(b)) return ok({ namespace, kind: a, name: b });
  return fail("not-found", `no tap resource at ${clean}`);
}

/** The user the apiserver vouches for, from its request headers (names from extension-apiserver-authentication). */
export function remoteUser(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  names: { user: readonly string[]; group: readonly string[]; extraPrefix: readonly string[] },
): Result<RemoteUser> {
  const all = (name: string): string[] => {
    const v = headers[name.toLowerCase()];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  };
  const user = names.user.map((n) => all(n)[0]).find((v) => v !== undefined && v !== "");
  if (user === undefined) return fail("unauthenticated", "the request names no user");
  const groups = names.group.flatMap((n) => all(n).flatMap((v) => v.split(",").map((g) => g.trim()).filter((g) => g !== "")));
  const extra: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(headers)) {
    const prefix = names.extraPrefix.map((p) => p.toLowerCase()).find((p) => key.startsWith(p));
    if (prefix === undefined || value === undefined) continue;
    extra[decodeURIComponent(key.slice(prefix.length))] = Array.isArray(value) ? value : [value];
  }
  return ok({ user, groups, extra });
}

/** The question put to the apiserver: may `who` watch <kind>/tap (of `name`) in tap.weft.io? */
export function tapAccessReview(who: RemoteUser, target: TapTarget): V1SubjectAccessReview {
  return {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SubjectAccessReview",
    spec: {
      user: who.user,
      groups: who.groups,
      extra: who.extra,
      resourceAttributes: {
        group: TAP_GROUP,
        version: TAP_VERSION,
        resource: target.kind,
        subresource: "tap",
        verb: TAP_VERB,
        namespace: target.namespace,
        name: target.name,
      },
    },
  };
}

/** What a refused user reads: the permission they lack, in RBAC's words. */
export function forbiddenMessage(who: RemoteUser, target: TapTarget, reason?: string): string {
  const what = target.kind === "namespaces" ? `namespaces/tap "${target.name}"` : `${target.kind}/tap "${target.name}" in namespace "${target.namespace}"`;
  const why = reason ? ` (${reason})` : "";
  return `user "${who.user}" cannot ${TAP_VERB} ${what}: needs ${TAP_VERB} on ${target.kind}/tap in ${TAP_GROUP}${why}`;
}

export interface AccessDecision {
  allowed: boolean;
  reason: string;
}

export type TapReviewer = (who: RemoteUser, target: TapTarget) => Promise<AccessDecision>;

/** The I/O edge: one SubjectAccessReview per tap request, as the component's own ServiceAccount. */
export function subjectAccessReviewer(kc: KubeConfig): TapReviewer {
  const api = kc.makeApiClient(AuthorizationV1Api);
  return async (who, target) => {
    const answer = await api.createSubjectAccessReview({ body: tapAccessReview(who, target) });
    return { allowed: answer.status?.allowed === true && answer.status.denied !== true, reason: answer.status?.reason ?? "" };
  };
}
