// Which inbound policy one proxy gets: its default (pod annotation, then the
// namespace's, then the legacy namespace inbound-mode, then the mesh-wide
// one) and the AuthorizationPolicies that select its pod, compiled by
// lib/authz/workload.ts. Pure, and memoized per compiled mesh: proxies of one
// Deployment ask for the same answer, and most namespaces have no policies.
//
// Proxies whose whole policy is equal form one class; its key (a hash of the
// policy's wire bytes) joins the namespace in the scope group key, so they
// share one group, one history and one encoded message per version.
import { createHash } from "node:crypto";
import type { Authorization } from "../../api/gen/weft/discovery/v1/Authorization.ts";
import type { InboundPolicy } from "../../api/gen/weft/discovery/v1/InboundPolicy.ts";
import { MESH_DEFAULT_POLICY, resolveDefaultPolicy, type DefaultPolicy } from "../../lib/authz/default-policy.ts";
import type { AuthzPolicySpec } from "../../lib/authz/spec.ts";
import { authorizationForWorkload } from "../../lib/authz/workload.ts";
import type { AuthorizationModel, NamespaceModel, ServiceModel } from "./mesh-state.ts";
import type { InboundMode } from "./policy-defaults.ts";
import { encodePolicy } from "./snapshot-encode.ts";
import type { ProxyPolicy } from "../../api/gen/weft/discovery/v1/ProxyPolicy.ts";

/** What the classification reads of a compiled mesh. */
export interface AuthorizationInputs {
  authorization: AuthorizationModel | null;
  namespaces: ReadonlyMap<string, NamespaceModel>;
  services: Iterable<ServiceModel>;
}

/** Separates the namespace from the class key in a scope group key (neither a namespace nor a hash holds it). */
export const GROUP_CLASS_SEPARATOR = "#";

export function groupNamespace(group: string): string {
  const at = group.indexOf(GROUP_CLASS_SEPARATOR);
  return at < 0 ? group : group.slice(0, at);
}

/** A short, stable key of a whole proxy policy: equal policies, equal keys. */
export function policyClassKey(policy: ProxyPolicy): string {
  return createHash("sha256").update(encodePolicy(policy)).digest("base64url").slice(0, 16);
}

/** What proxies from before authorization read: PERMISSIVE only when the default admits plaintext. */
export function modeForDefault(policy: DefaultPolicy): InboundMode {
  return policy.name === "all-unauthenticated" ? "PERMISSIVE" : "STRICT";
}

/** The pod's annotation, then the namespace's, then its legacy inbound-mode, then the mesh-wide default. */
export function effectiveDefault(pod: DefaultPolicy | null, namespace: NamespaceModel | undefined, mesh: DefaultPolicy): DefaultPolicy {
  const inbound = namespace?.inbound;
  return resolveDefaultPolicy({ pod, namespace: inbound?.defaultPolicy ?? null, legacyMode: inbound?.mode ?? null, mesh }).policy;
}

export interface WorkloadInbound {
  defaultPolicy: DefaultPolicy;
  authorization: Authorization;
}

/**
 * The default and Authorization of one proxy. `workload` is the Hello's workload (the pod's name),
 * or null for the namespace's own policy (no pod: namespace-target policies only).
 */
export class WorkloadAuthorizer {
  readonly #inputs: AuthorizationInputs;
  readonly #byNamespace = new Map<string, AuthzPolicySpec[]>();
  #servicePorts: Map<string, Map<string, Map<number, number>>> | null = null;

  constructor(inputs: AuthorizationInputs) {
    this.#inputs = inputs;
    for (const policy of inputs.authorization?.policies ?? []) {
      const list = this.#byNamespace.get(policy.namespace);
      if (list) list.push(policy);
      else this.#byNamespace.set(policy.namespace, [policy]);
    }
  }

  /** A key under which every workload of the namespace gets the same answer, or null when it depends on the pod. */
  sharedKey(namespace: string, workload: string | null): string | null {
    const auth = this.#inputs.authorization;
    if (workload === null) return namespace;
    const pod = auth?.pods?.get(`${namespace}/${workload}`);
    if (auth?.pods && !pod) return `${namespace}${GROUP_CLASS_SEPARATOR}unknown`;
    const policies = this.#byNamespace.get(namespace) ?? [];
    if (!pod?.defaultPolicy && policies.every((p) => p.target.kind === "namespace")) return namespace;
    return null;
  }

  inbound(namespace: string, workload: string | null): WorkloadInbound {
    const auth = this.#inputs.authorization;
    const trustDomain = auth?.trustDomain ?? "";
    const ns = this.#inputs.namespaces.get(namespace);
    const meshDefault = auth?.meshDefault ?? MESH_DEFAULT_POLICY;
    const policies = this.#byNamespace.get(namespace) ?? [];
    if (workload === null) {
      const defaultPolicy = effectiveDefault(null, ns, meshDefault);
      const facts = { namespace, name: "", labels: {}, servicePorts: new Map() };
      const namespaceWide = policies.filter((p) => p.target.kind === "namespace");
      return { defaultPolicy, authorization: authorizationForWorkload(namespaceWide, facts, defaultPolicy, trustDomain) };
    }
    const pods = auth?.pods ?? null;
    const pod = pods?.get(`${namespace}/${workload}`);
    if (pods && !pod) {
      // Fail closed: a pod exists in the apiserver before its containers (and so its proxy) start,
      // so the informer knows it within milliseconds of the Hello; until then nothing is admitted,
      // rather than admitting by a default the pod's own annotation might narrow.
      const defaultPolicy: DefaultPolicy = { name: "deny", dryRun: false };
      return { defaultPolicy, authorization: { defaultPolicy: "DEFAULT_DENY", defaultDryRun: false, policies: [], trustDomain } };
    }
    const defaultPolicy = effectiveDefault(pod?.defaultPolicy ?? null, ns, meshDefault);
    const facts = { namespace, name: workload, labels: pod?.labels ?? {}, servicePorts: this.#portsOf(namespace, workload) };
    return { defaultPolicy, authorization: authorizationForWorkload(policies, facts, defaultPolicy, trustDomain) };
  }

  /** Service -> Service port -> pod port, for the endpoints that are this pod (built once, on first need). */
  #portsOf(namespace: string, workload: string): ReadonlyMap<string, ReadonlyMap<number, number>> {
    if (!(this.#byNamespace.get(namespace) ?? []).some((p) => p.target.kind === "services")) return new Map();
    if (!this.#servicePorts) {
      const index = new Map<string, Map<string, Map<number, number>>>();
      for (const svc of this.#inputs.services) {
        if (!this.#byNamespace.has(svc.namespace)) continue;
        for (const endpoint of svc.endpoints) {
          if (!endpoint.pod?.startsWith(`${svc.namespace}/`)) continue;
          let perService = index.get(endpoint.pod);
          if (!perService) index.set(endpoint.pod, (perService = new Map()));
          let ports = perService.get(svc.name);
          if (!ports) perService.set(svc.name, (ports = new Map()));
          for (const sp of svc.ports) {
            const podPort = endpoint.ports?.[sp.name ?? ""];
            if (sp.port !== undefined && podPort !== undefined) ports.set(sp.port, podPort);
          }
        }
      }
      this.#servicePorts = index;
    }
    const perService = this.#servicePorts.get(`${namespace}/${workload}`) ?? new Map<string, Map<number, number>>();
    return new Map([...perService].filter(([, ports]) => ports.size > 0));
  }
}

export function inboundPolicy(inbound: WorkloadInbound, namespace: NamespaceModel | undefined): InboundPolicy {
  return {
    mode: modeForDefault(inbound.defaultPolicy),
    allowedIdentities: [...(namespace?.inbound.allowedIdentities ?? [])].sort(),
    plaintextPorts: [...(namespace?.inbound.plaintextPorts ?? [])].sort((a, b) => a - b),
    authorization: inbound.authorization,
  };
}
