// What `weft authz` shows, computed from live cluster objects with the same
// pure functions the control plane and the proxy use: policies read by
// lib/authz/policy-read.ts, selected and compiled per pod by
// lib/authz/workload.ts, the default resolved by lib/authz/default-policy.ts,
// and requests decided by lib/authz/evaluate-request.ts. Pure: objects in,
// a report out (the I/O is in authz-gather.ts).
import type { V1EndpointSlice, V1Service } from "@kubernetes/client-node";
import type { Authorization } from "../../api/gen/weft/discovery/v1/Authorization.ts";
import type { AuthzDecision, AuthzHttp } from "../../lib/authz/decision.ts";
import {
  DEFAULT_POLICY_ANNOTATION,
  formatDefaultPolicy,
  parseDefaultPolicy,
  parseInboundModeAnnotation,
  resolveDefaultPolicy,
  type DefaultPolicy,
  type DefaultPolicySource,
} from "../../lib/authz/default-policy.ts";
import { completeAuthorization } from "../../lib/authz/authorization-shape.ts";
import { compileAuthorization } from "../../lib/authz/evaluate.ts";
import { evaluateRequest } from "../../lib/authz/evaluate-request.ts";
import { readAuthorizationPolicy } from "../../lib/authz/policy-read.ts";
import type { AuthzPolicySpec, AuthzTarget } from "../../lib/authz/spec.ts";
import { authorizationForWorkload } from "../../lib/authz/workload.ts";

const LEGACY_MODE_ANNOTATION = "config.weft.io/inbound-mode";
const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

export interface PodFacts {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** One namespace's objects, as the gatherer read them. */
export interface NamespaceObjects {
  namespace: string;
  namespaceAnnotations: Record<string, string>;
  /** AuthorizationPolicy custom objects, as the apiserver returns them. */
  policies: unknown[];
  services: V1Service[];
  slices: V1EndpointSlice[];
  /** The control plane's --default-inbound-policy and --trust-domain. */
  mesh: { defaultPolicy: DefaultPolicy; trustDomain: string };
}

export interface PolicyRow {
  name: string;
  action: string;
  /** The pod ports it covers; "all" for every port. */
  ports: string;
  rules: number;
  target: string;
}

export interface WorkloadAuthz {
  pod: string;
  default: { policy: string; source: DefaultPolicySource };
  policies: PolicyRow[];
  /** Policies of the namespace that do not select this pod. */
  notSelecting: string[];
  /** Policies that did not parse (enforced as their narrowest reading) and bad annotations. */
  problems: string[];
  /** What the pod's proxy is sent, on the wire. */
  authorization: Authorization;
}

export function readPolicies(objects: NamespaceObjects): { specs: AuthzPolicySpec[]; problems: string[] } {
  const specs: AuthzPolicySpec[] = [];
  const problems: string[] = [];
  for (const object of objects.policies) {
    const read = readAuthorizationPolicy(object);
    const name = (object as { metadata?: { name?: string } }).metadata?.name ?? "?";
    if (read.problem) problems.push(`${objects.namespace}/${name}: ${read.problem.message}`);
    if (read.policy) specs.push(read.policy);
  }
  specs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { specs, problems };
}

/** Service -> Service port -> the pod port it reaches, for the endpoints that are `pod` (as the control plane builds it). */
export function servicePortsOf(pod: string, services: readonly V1Service[], slices: readonly V1EndpointSlice[]): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  for (const slice of slices) {
    const serviceName = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    const service = services.find((s) => s.metadata?.name === serviceName);
    if (!serviceName || !service) continue;
    if (!(slice.endpoints ?? []).some((e) => e.targetRef?.kind === "Pod" && e.targetRef.name === pod)) continue;
    const ports = out.get(serviceName) ?? new Map<number, number>();
    for (const sp of service.spec?.ports ?? []) {
      const podPort = (slice.ports ?? []).find((p) => (p.name ?? "") === (sp.name ?? ""))?.port;
      if (podPort !== undefined) ports.set(sp.port, podPort);
    }
    if (ports.size > 0) out.set(serviceName, ports);
  }
  return out;
}

function targetText(target: AuthzTarget): string {
  switch (target.kind) {
    case "namespace":
      return "namespace";
    case "selector": {
      const labels = Object.entries(target.selector.matchLabels).map(([k, v]) => `${k}=${v}`);
      const exprs = target.selector.matchExpressions.map((e) => `${e.key} ${e.operator}${e.values.length > 0 ? ` (${e.values.join(",")})` : ""}`);
      return [...labels, ...exprs].join(",") || "all pods";
    }
    case "services":
      return target.services.map((s) => `svc/${s.name}${s.port !== undefined ? `:${s.port}` : ""}`).join(",");
  }
}

export function workloadAuthz(pod: PodFacts, objects: NamespaceObjects): WorkloadAuthz {
  const { specs, problems } = readPolicies(objects);
  const parsedDefault = (annotations: Record<string, string>, where: string): DefaultPolicy | null => {
    const text = annotations[DEFAULT_POLICY_ANNOTATION];
    if (text === undefined) return null;
    const parsed = parseDefaultPolicy(text);
    if (parsed.ok) return parsed.value;
    problems.push(`${where} annotation ${DEFAULT_POLICY_ANNOTATION}="${text}" ignored: ${parsed.message}`);
    return null;
  };
  const legacy = objects.namespaceAnnotations[LEGACY_MODE_ANNOTATION];
  const resolved = resolveDefaultPolicy({
    pod: parsedDefault(pod.annotations, `pod ${pod.namespace}/${pod.name}`),
    namespace: parsedDefault(objects.namespaceAnnotations, `namespace ${pod.namespace}`),
    legacyMode: legacy === undefined ? null : parseInboundModeAnnotation(legacy),
    mesh: objects.mesh.defaultPolicy,
  });
  const authorization = authorizationForWorkload(
    specs,
    { namespace: pod.namespace, name: pod.name, labels: pod.labels, servicePorts: servicePortsOf(pod.name, objects.services, objects.slices) },
    resolved.policy,
    objects.mesh.trustDomain,
  );
  const applied = new Set((authorization.policies ?? []).map((p) => p.name ?? ""));
  const byName = new Map(specs.map((s) => [`${s.namespace}/${s.name}`, s]));
  return {
    pod: `${pod.namespace}/${pod.name}`,
    default: { policy: formatDefaultPolicy(resolved.policy), source: resolved.source },
    policies: (authorization.policies ?? []).map((p) => {
      const spec = byName.get(p.name ?? "");
      return {
        name: p.name ?? "",
        action: String(p.action ?? ""),
        ports: (p.ports ?? []).length > 0 ? (p.ports ?? []).join(",") : "all",
        rules: (p.rules ?? []).length,
        target: spec ? targetText(spec.target) : "",
      };
    }),
    notSelecting: [...byName.keys()].filter((name) => !applied.has(name)),
    problems,
    authorization,
  };
}

export interface CheckRequest {
  /** The caller's SPIFFE id; null for a plaintext caller. */
  peer: string | null;
  /** The Service port the caller names (undefined: every port of the Service). */
  servicePort: number | undefined;
  /** Undefined: an opaque TCP connection. */
  http?: AuthzHttp;
}

export interface CheckRow {
  pod: string;
  port: number;
  allowed: boolean;
  policy: string;
  kind: AuthzDecision["kind"];
  audited: readonly string[];
  dryRunRefusal: string | null;
}

/**
 * The decision for `request` at every pod behind `service` (each on the pod port the Service port
 * reaches), as each pod's proxy would make it.
 */
export function checkService(service: string, request: CheckRequest, pods: readonly PodFacts[], objects: NamespaceObjects): CheckRow[] {
  const rows: CheckRow[] = [];
  for (const pod of pods) {
    const ports = servicePortsOf(pod.name, objects.services, objects.slices).get(service);
    if (!ports) continue;
    const view = workloadAuthz(pod, objects);
    const compiled = compileAuthorization(completeAuthorization(view.authorization));
    if (!compiled.ok) throw new Error(`the authorization of ${view.pod} does not compile (its proxy refuses it and keeps its last good set): ${compiled.message}`);
    for (const [servicePort, podPort] of [...ports].sort((a, b) => a[0] - b[0])) {
      if (request.servicePort !== undefined && servicePort !== request.servicePort) continue;
      const decision = evaluateRequest(compiled.value, request.http ? { port: podPort, peer: request.peer, http: request.http } : { port: podPort, peer: request.peer });
      rows.push({ pod: view.pod, port: podPort, allowed: decision.allowed, policy: decision.policy, kind: decision.kind, audited: decision.audited, dryRunRefusal: decision.dryRunRefusal });
    }
  }
  return rows;
}
