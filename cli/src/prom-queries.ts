// The PromQL `weft stat`, `weft top` and `weft edges` run, built from what the user
// selected. Pure: a selection in, query strings out (docs/metrics.md lists them).
//
// Every proxy series carries, besides its own labels (sidecar/src/admin/metrics.ts),
// the labels the chart's Prometheus gives each scraped pod: `namespace`, `pod` and
// `workload` ("deploy/<name>" from the pod's controller, the ReplicaSet hash stripped).
// Inbound series are what a pod received (src_* is the verified caller), outbound ones
// what it sent (dst_* is the endpoint it reached).
import { fail, ok, type Result } from "../../lib/result.ts";

export type TargetKind = "deployment" | "pod" | "service" | "namespace";

/** What the user named: `deploy/x`, `deploy` (every one), `pod/x`, `svc/x`, `ns/x`. */
export interface Target {
  kind: TargetKind;
  /** Undefined: every resource of the kind. */
  name?: string;
  /** Undefined: every namespace (-A, or the target is a namespace). */
  namespace?: string;
}

/** A peer that --from or --to narrows to. */
export type Peer =
  | { kind: "identity"; namespace: string; serviceAccount?: string }
  | { kind: "service"; namespace: string; name: string };

const KINDS: Record<string, TargetKind> = {
  deploy: "deployment",
  deployment: "deployment",
  deployments: "deployment",
  "deployment.apps": "deployment",
  "deployments.apps": "deployment",
  po: "pod",
  pod: "pod",
  pods: "pod",
  svc: "service",
  service: "service",
  services: "service",
  ns: "namespace",
  namespace: "namespace",
  namespaces: "namespace",
};

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** `deploy/x`, `deploy`, `svc/x`, `ns/x`, `pod/x`; `namespace` is -n (or undefined with -A). */
export function parseTarget(text: string, namespace: string | undefined): Result<Target, "bad-resource"> {
  const slash = text.indexOf("/");
  const kindText = (slash < 0 ? text : text.slice(0, slash)).toLowerCase();
  const name = slash < 0 ? undefined : text.slice(slash + 1);
  const kind = KINDS[kindText];
  if (kind === undefined) return fail("bad-resource", `"${kindText}" is not a kind this command takes (deploy, pod, svc, ns, optionally /NAME)`);
  if (name !== undefined && !NAME.test(name)) return fail("bad-resource", `"${name}" is not a valid ${kind} name`);
  if (kind === "namespace") return ok(name === undefined ? { kind } : { kind, name, namespace: name });
  return ok(name === undefined ? { kind, namespace } : { kind, name, namespace });
}

/** A Deployment named by --from/--to, before stat-peer.ts resolves it to the identity its pods run as. */
export interface DeploymentPeer {
  kind: "deployment";
  namespace: string;
  name: string;
}

/** --from/--to: `deploy/NAME`, `sa/NAME` (ServiceAccount in `namespace`), `ns/NAME` (any caller there), `svc/NAME` (--to only). */
export function parsePeer(text: string, namespace: string): Result<Peer | DeploymentPeer, "bad-peer"> {
  const [kind = "", name = ""] = text.split("/", 2);
  if (!NAME.test(name)) return fail("bad-peer", `"${text}" names no peer: use deploy/NAME, sa/NAME, ns/NAME or svc/NAME`);
  switch (kind) {
    case "deploy":
    case "deployment":
    case "deployments":
      return ok({ kind: "deployment", namespace, name });
    case "sa":
    case "serviceaccount":
      return ok({ kind: "identity", namespace, serviceAccount: name });
    case "ns":
    case "namespace":
      return ok({ kind: "identity", namespace: name });
    case "svc":
    case "service":
      return ok({ kind: "service", namespace, name });
    default:
      return fail("bad-peer", `"${kind}" is not a peer kind: use deploy/NAME, sa/NAME, ns/NAME or svc/NAME`);
  }
}

/** A PromQL string literal. */
function quote(value: string): string {
  return JSON.stringify(value);
}

function matchers(pairs: readonly (readonly [string, string, string])[]): string {
  return pairs.map(([label, op, value]) => `${label}${op}${quote(value)}`).join(",");
}

/** The labels a target's rows are grouped by. */
export function groupLabels(target: Target): string[] {
  switch (target.kind) {
    case "deployment":
      return ["namespace", "workload"];
    case "pod":
      return ["namespace", "pod"];
    case "namespace":
      return ["namespace"];
    case "service":
      return ["peer_service"];
  }
}

/** Matchers on the scraped pods' own labels (no direction): the pods a target covers. */
export function podMatchers(target: Target): [string, string, string][] {
  const m: [string, string, string][] = [];
  if (target.kind === "service") return m;
  if (target.namespace !== undefined) m.push(["namespace", "=", target.namespace]);
  if (target.kind === "deployment") m.push(target.name === undefined ? ["workload", "=~", "deploy/.+"] : ["workload", "=", `deploy/${target.name}`]);
  if (target.kind === "pod" && target.name !== undefined) m.push(["pod", "=", target.name]);
  return m;
}

/**
 * Matchers on request series. By default a target's traffic is what its pods received
 * (inbound; --from narrows by the verified caller). With --to it is what they sent
 * (outbound, to that Service or identity). A Service is seen from its callers' side:
 * outbound requests to it, from every meshed caller.
 */
export function requestMatchers(target: Target, from?: Peer, to?: Peer): [string, string, string][] {
  if (target.kind === "service") {
    const m: [string, string, string][] = [["direction", "=", "outbound"]];
    if (target.name !== undefined) m.push(["peer_service", "=", `${target.namespace ?? ""}/${target.name}`]);
    else if (target.namespace !== undefined) m.push(["peer_service", "=~", `${target.namespace}/.+`]);
    if (from?.kind === "identity") m.push(...identityMatchers("src", from));
    return m;
  }
  const m: [string, string, string][] = [["direction", "=", to ? "outbound" : "inbound"], ...podMatchers(target)];
  if (to?.kind === "service") m.push(["peer_service", "=", `${to.namespace}/${to.name}`]);
  else if (to) m.push(...identityMatchers("dst", to));
  if (from?.kind === "identity") m.push(...identityMatchers("src", from));
  return m;
}

function identityMatchers(side: "src" | "dst", peer: Extract<Peer, { kind: "identity" }>): [string, string, string][] {
  const m: [string, string, string][] = [[`${side}_namespace`, "=", peer.namespace]];
  if (peer.serviceAccount !== undefined) m.push([`${side}_service_account`, "=", peer.serviceAccount]);
  return m;
}

/** What counts as a successful request (not 5xx, not a proxy error, gRPC OK): one definition for stat, top, edges and the dashboard. */
export const SUCCESS_MATCHERS = `status_class!~"5xx|error",grpc_status=~"|0"`;

export const STAT_QUERIES = ["requests", "success", "tls", "p50", "p95", "p99", "meshed"] as const;
export type StatQuery = (typeof STAT_QUERIES)[number];

/** Every query of `weft stat`, by name; rates per second over `window` (a PromQL duration: 1m, 30s). */
export function statQueries(target: Target, window: string, from?: Peer, to?: Peer): Record<StatQuery, string> {
  const by = groupLabels(target).join(", ");
  const sel = matchers(requestMatchers(target, from, to));
  const rate = (extra: string): string => `sum by (${by}) (rate(weft_proxy_requests_total{${sel}${extra}}[${window}]))`;
  const quantile = (q: number): string => `histogram_quantile(${q}, sum by (${by}, le) (rate(weft_proxy_request_duration_seconds_bucket{${sel}}[${window}])))`;
  const pods = matchers(podMatchers(target));
  return {
    requests: rate(""),
    success: rate(`,${SUCCESS_MATCHERS}`),
    tls: rate(`,tls="true"`),
    p50: quantile(0.5),
    p95: quantile(0.95),
    p99: quantile(0.99),
    // A Service's pods are not labels of its callers' series: no meshed count for it.
    meshed: target.kind === "service" ? "" : `count by (${by}) (max by (${by}, pod) (weft_proxy_snapshot_info{${pods}}))`,
  };
}

export const TOP_QUERIES = ["requests", "success", "p95"] as const;
export type TopQuery = (typeof TOP_QUERIES)[number];
/** What `weft top` groups by: paths are not metric labels, so the busiest (workload, direction, Service, route). */
export const TOP_LABELS = ["namespace", "workload", "direction", "peer_service", "route"] as const;

/** `weft top`: both directions of the target's pods (or a Service's callers), the busiest `limit` groups. */
export function topQueries(target: Target, window: string, limit: number): Record<TopQuery, string> {
  const by = TOP_LABELS.join(", ");
  const base = target.kind === "service" ? requestMatchers(target) : podMatchers(target);
  const sel = matchers(base);
  const rate = (extra: string): string => `sum by (${by}) (rate(weft_proxy_requests_total{${sel}${extra}}[${window}]))`;
  return {
    requests: `topk(${limit}, ${rate("")})`,
    success: rate(`${sel === "" ? "" : ","}${SUCCESS_MATCHERS}`),
    p95: `histogram_quantile(0.95, sum by (${by}, le) (rate(weft_proxy_request_duration_seconds_bucket{${sel}}[${window}])))`,
  };
}

export const EDGE_LABELS = ["namespace", "workload", "src_namespace", "src_service_account", "dst_namespace", "dst_service_account", "tls"] as const;
export type EdgeQuery = "inbound" | "outbound";

/**
 * `weft edges`: every identity pair the mesh carried over `window`, seen from both ends
 * (the callee's inbound series name its workload, the caller's outbound ones name the
 * caller's); the rows keep the edges that touch the target. Bounded: identities, not requests.
 */
export function edgeQueries(window: string, successOnly = false): Record<EdgeQuery, string> {
  const by = EDGE_LABELS.join(", ");
  // successOnly: the same edges counting only successful requests (the dashboard's success rate per edge).
  const ok = successOnly ? `,${SUCCESS_MATCHERS}` : "";
  return {
    inbound: `sum by (${by}) (rate(weft_proxy_requests_total{direction="inbound"${ok}}[${window}]))`,
    outbound: `sum by (${by}) (rate(weft_proxy_requests_total{direction="outbound",dst_service_account!=""${ok}}[${window}]))`,
  };
}

/** A PromQL duration as the CLI takes it (--window): 30s, 1m, 5m, 1h. */
export function parseWindow(text: string): Result<string, "bad-window"> {
  return /^[1-9][0-9]*(s|m|h)$/.test(text) ? ok(text) : fail("bad-window", `--window must be a duration such as 30s, 1m or 1h, not "${text}"`);
}
