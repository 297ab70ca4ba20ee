// The control plane's source-neutral picture of the mesh: what the Kubernetes
// informers and the local registry file both reduce to, and what the snapshot
// builder reads. Plain data, so the builder stays a pure function of it.
import type { Endpoint } from "../../api/gen/weft/discovery/v1/Endpoint.ts";
import type { ServicePort } from "../../api/gen/weft/discovery/v1/ServicePort.ts";
import type { ClientOverride, InboundMode } from "./policy-defaults.ts";

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
  mode: InboundMode | null;
  allowedIdentities: string[];
  plaintextPorts: number[];
}

export interface MeshModel {
  /** Keyed by serviceKey(namespace, name). */
  services: ReadonlyMap<string, ServiceModel>;
  namespaces: ReadonlyMap<string, NamespaceModel>;
  /** Mesh-wide overrides of the built-in client defaults (registry file, control-plane flags). */
  clientDefaults?: ClientOverride | null;
}

export function serviceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function emptyMesh(): MeshModel {
  return { services: new Map(), namespaces: new Map() };
}

export function emptyInbound(): NamespaceInbound {
  return { mode: null, allowedIdentities: [], plaintextPorts: [] };
}

/** Who is asking: the namespace and ServiceAccount from the proxy's certificate. */
export interface ProxyIdentity {
  namespace: string;
  serviceAccount: string;
}
