// The control plane's source-neutral picture of the mesh: what the Kubernetes
// informers and the local registry file both reduce to, and what the snapshot
// builder reads. Plain data, so the builder stays a pure function of it.
import type { Endpoint } from "../../api/gen/weft/discovery/v1/Endpoint.ts";
import type { ServicePort } from "../../api/gen/weft/discovery/v1/ServicePort.ts";
import type { DefaultPolicy } from "../../lib/authz/default-policy.ts";
import type { AuthzPolicySpec } from "../../lib/authz/spec.ts";
import type { ClientOverride, InboundMode } from "./policy-defaults.ts";
import type { RoutesModel } from "./routes-model.ts";

export interface ServiceModel {
  namespace: string;
  name: string;
  clusterIps: string[];
  headless: boolean;
  ports: ServicePort[];
  endpoints: Endpoint[];
  /** Overrides of the mesh's client defaults for calls to this Service (unset fields inherit). */
  clientPolicy: ClientOverride | null;
}

export interface NamespaceModel {
  name: string;
  /** Labelled weft.io/inject=enabled: every Service in it is in every proxy's scope. */
  meshEnabled: boolean;
  inbound: NamespaceInbound;
}

export interface NamespaceInbound {
  /** The legacy config.weft.io/inbound-mode; read as a default policy only when defaultPolicy is unset. */
  mode: InboundMode | null;
  /** config.weft.io/default-inbound-policy on the namespace (null: not set). */
  defaultPolicy?: DefaultPolicy | null;
  allowedIdentities: string[];
  plaintextPorts: number[];
}

export interface MeshModel {
  /** Keyed by serviceKey(namespace, name). */
  services: ReadonlyMap<string, ServiceModel>;
  namespaces: ReadonlyMap<string, NamespaceModel>;
  /** Mesh-wide overrides of the built-in client defaults (registry file, control-plane flags). */
  clientDefaults?: ClientOverride | null;
  /** Absent: no policies, the built-in mesh default, and workloads known by name only (as in local mode). */
  authorization?: AuthorizationModel;
  /** GAMMA routes (docs/routing.md), accepted ones only. Absent: no routes. */
  routes?: RoutesModel;
}

export interface AuthorizationModel {
  /** Every AuthorizationPolicy of every namespace, valid ones only (a source substitutes what it could not read). */
  policies: readonly AuthzPolicySpec[];
  /** The mesh-wide default (--default-inbound-policy, or the registry file's defaultInboundPolicy). */
  meshDefault: DefaultPolicy;
  /** The trust domain `cluster-authenticated` admits. */
  trustDomain: string;
  /**
   * Kubernetes: the meshed pods by "namespace/name"; a proxy whose pod is not here fails closed.
   * Null (local mode): a proxy's workload is known by name only, as a pod without labels.
   */
  pods: ReadonlyMap<string, PodModel> | null;
}

export interface PodModel {
  namespace: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  /** config.weft.io/default-inbound-policy on the pod (null: not set). */
  defaultPolicy: DefaultPolicy | null;
}

export function serviceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function emptyMesh(): MeshModel {
  return { services: new Map(), namespaces: new Map() };
}

export function emptyInbound(): NamespaceInbound {
  return { mode: null, defaultPolicy: null, allowedIdentities: [], plaintextPorts: [] };
}

/** Who is asking: the namespace and ServiceAccount from the proxy's certificate. */
export interface ProxyIdentity {
  namespace: string;
  serviceAccount: string;
}
