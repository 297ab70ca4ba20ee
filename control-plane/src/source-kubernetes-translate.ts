// Kubernetes objects to the mesh model, as one pure function so every case
// (headless Services, several EndpointSlices per Service, named target ports,
// endpoints outside the mesh, terminating endpoints) is a unit test.
import type { V1EndpointSlice, V1Namespace, V1Pod, V1Service } from "@kubernetes/client-node";
import type { Endpoint } from "../../api/gen/weft/discovery/v1/Endpoint.ts";
import type { ServicePort } from "../../api/gen/weft/discovery/v1/ServicePort.ts";
import { MESH_DEFAULT_POLICY, type DefaultPolicy } from "../../lib/authz/default-policy.ts";
import type { AuthzPolicySpec } from "../../lib/authz/spec.ts";
import { ANNOTATIONS, LABELS } from "../../lib/proxy-contract.ts";
import type { Failure } from "../../lib/result.ts";
import { formatSpiffeId } from "../../lib/spiffe.ts";
import { serviceKey, type MeshModel, type NamespaceModel, type PodModel, type ServiceModel } from "./mesh-state.ts";
import { clientOverrideFromAnnotations, defaultPolicyFromAnnotations, inboundFromAnnotations } from "./policy-annotations.ts";
import { readAuthorizationPolicy } from "../../lib/authz/policy-read.ts";
import type { ClientOverride } from "./policy-defaults.ts";

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

export interface KubeObjects {
  services: Iterable<V1Service>;
  endpointSlices: Iterable<V1EndpointSlice>;
  /** Meshed pods, at least (unmeshed pods are not needed and need not be watched). */
  pods: Iterable<V1Pod>;
  namespaces: Iterable<V1Namespace>;
  /** policy.weft.io/v1alpha1 AuthorizationPolicy objects, as the API returns them (absent: none). */
  authorizationPolicies?: Iterable<unknown>;
}

export interface TranslateOptions {
  trustDomain: string;
  clientDefaults?: ClientOverride | null;
  /** The mesh-wide default inbound policy (--default-inbound-policy); default all-authenticated. */
  defaultPolicy?: DefaultPolicy;
}

export interface Translation {
  model: MeshModel;
  /** Bad annotations and the like, with the object they are on. */
  problems: (Failure & { object: string })[];
}

export function translateKubernetes(objects: KubeObjects, options: TranslateOptions): Translation {
  const problems: Translation["problems"] = [];
  const pods = new Map<string, V1Pod>();
  const podModels = new Map<string, PodModel>();
  for (const pod of objects.pods) {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    pods.set(key, pod);
    const namespace = pod.metadata?.namespace;
    const name = pod.metadata?.name;
    if (!namespace || !name) continue;
    const defaultPolicy = defaultPolicyFromAnnotations(pod.metadata?.annotations);
    for (const p of defaultPolicy.problems) problems.push({ ...p, object: `pod/${key}` });
    podModels.set(key, { namespace, name, labels: pod.metadata?.labels ?? {}, defaultPolicy: defaultPolicy.value });
  }

  const policies: AuthzPolicySpec[] = [];
  for (const object of objects.authorizationPolicies ?? []) {
    const read = readAuthorizationPolicy(object);
    if (read.policy) policies.push(read.policy);
    if (read.problem) problems.push({ ...read.problem, object: `authorizationpolicy/${objectKey(object)}` });
  }

  const slicesByService = new Map<string, V1EndpointSlice[]>();
  for (const slice of objects.endpointSlices) {
    const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!svc || (slice.addressType !== "IPv4" && slice.addressType !== "IPv6")) continue;
    const key = serviceKey(slice.metadata?.namespace ?? "", svc);
    const list = slicesByService.get(key);
    if (list) list.push(slice);
    else slicesByService.set(key, [slice]);
  }

  const namespaces = new Map<string, NamespaceModel>();
  for (const ns of objects.namespaces) {
    const name = ns.metadata?.name;
    if (!name) continue;
    const inbound = inboundFromAnnotations(ns.metadata?.annotations);
    for (const p of inbound.problems) problems.push({ ...p, object: `namespace/${name}` });
    namespaces.set(name, { name, meshEnabled: ns.metadata?.labels?.[LABELS.inject] === "enabled", inbound: inbound.value });
  }

  const services = new Map<string, ServiceModel>();
  for (const svc of objects.services) {
    const namespace = svc.metadata?.namespace;
    const name = svc.metadata?.name;
    if (!namespace || !name || svc.spec?.type === "ExternalName") continue;
    const key = serviceKey(namespace, name);
    const policy = clientOverrideFromAnnotations(svc.metadata?.annotations);
    for (const p of policy.problems) problems.push({ ...p, object: `service/${key}` });
    const ports = servicePorts(svc);
    services.set(key, {
      namespace,
      name,
      clusterIps: (svc.spec?.clusterIPs ?? [svc.spec?.clusterIP ?? ""]).filter((ip) => ip && ip !== "None"),
      headless: svc.spec?.clusterIP === "None",
      ports,
      endpoints: endpointsOf(slicesByService.get(key) ?? [], ports, pods, options.trustDomain),
      clientPolicy: policy.value,
    });
  }
  const authorization = { policies, meshDefault: options.defaultPolicy ?? MESH_DEFAULT_POLICY, trustDomain: options.trustDomain, pods: podModels };
  return { model: { services, namespaces, clientDefaults: options.clientDefaults ?? null, authorization }, problems };
}

function objectKey(object: unknown): string {
  const metadata = typeof object === "object" && object !== null && "metadata" in object ? (object as { metadata?: { namespace?: unknown; name?: unknown } }).metadata : undefined;
  return `${String(metadata?.namespace ?? "?")}/${String(metadata?.name ?? "?")}`;
}

function servicePorts(svc: V1Service): ServicePort[] {
  const opaque = new Set((svc.metadata?.annotations?.[ANNOTATIONS.opaquePorts] ?? "").split(",").map((s) => s.trim()).filter(Boolean));
  return (svc.spec?.ports ?? []).map((p) => ({
    name: p.name ?? "",
    port: p.port,
    protocol: p.protocol ?? "TCP",
    appProtocol: opaque.has(String(p.port)) ? "opaque" : appProtocolHint(p.appProtocol),
  }));
}

/** Kubernetes appProtocol values (IANA names and kubernetes.io/ ones) to the proxy's hints. */
export function appProtocolHint(appProtocol: string | undefined): string {
  switch ((appProtocol ?? "").toLowerCase()) {
    case "http":
    case "http/1.1":
    case "kubernetes.io/ws":
      return "http";
    case "http2":
    case "h2c":
    case "kubernetes.io/h2c":
      return "http2";
    case "grpc":
      return "grpc";
    case "tcp":
    case "opaque":
    case "mysql":
    case "postgresql":
    case "redis":
      return "opaque";
    default:
      return "";
  }
}

function endpointsOf(slices: V1EndpointSlice[], ports: ServicePort[], pods: Map<string, V1Pod>, trustDomain: string): Endpoint[] {
  const byAddress = new Map<string, Endpoint>();
  const wanted = new Set(ports.map((p) => p.name ?? ""));
  for (const slice of slices) {
    // Named target ports resolve per slice (per pod template), so ports are read from the slice, never the Service.
    const slicePorts: Record<string, number> = {};
    for (const p of slice.ports ?? []) {
      const portName = p.name ?? "";
      if (p.port !== undefined && wanted.has(portName)) slicePorts[portName] = p.port;
    }
    for (const ep of slice.endpoints ?? []) {
      const ready = ep.conditions?.ready ?? true;
      const serving = ep.conditions?.serving ?? ready;
      const terminating = ep.conditions?.terminating ?? false;
      const podKey = ep.targetRef?.kind === "Pod" ? `${ep.targetRef.namespace ?? slice.metadata?.namespace}/${ep.targetRef.name}` : "";
      const pod = podKey ? pods.get(podKey) : undefined;
      const meshedLabel = pod?.metadata?.labels?.[LABELS.meshed];
      const meshed = meshedLabel !== undefined && meshedLabel !== "false";
      const identity = meshed && pod
        ? formatSpiffeId({ trustDomain, namespace: pod.metadata?.namespace ?? "", serviceAccount: pod.spec?.serviceAccountName || "default" })
        : "";
      for (const address of ep.addresses ?? []) {
        const endpoint: Endpoint = { address, ports: { ...slicePorts }, zone: ep.zone ?? "", node: ep.nodeName ?? "", pod: podKey, ready, serving, terminating, meshed, identity };
        const seen = byAddress.get(address);
        // An address in two slices (while the controller moves it) counts once, in its best state.
        if (!seen || rank(endpoint) > rank(seen)) byAddress.set(address, endpoint);
      }
    }
  }
  return [...byAddress.values()];
}

function rank(e: Endpoint): number {
  return (e.ready ? 4 : 0) + (e.serving ? 2 : 0) + (e.terminating ? 0 : 1);
}
