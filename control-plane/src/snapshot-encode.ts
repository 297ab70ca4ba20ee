// Wire encoding of discovery Snapshots from pre-encoded parts.
//
// Each compiled Service is encoded once, when it changes (snapshot-builder.ts),
// and a Snapshot is written as the concatenation of its fields, the Services
// copied in as ready bytes. Encoding a full 1,000-Service snapshot through
// protobufjs instead (fromObject + encode of the whole tree) took 0.4-1.5 s of
// CPU and left 50-90 MB of V8 heap garbage per scope group, which V8 kept
// mapped afterwards: most of the control plane's RSS beyond its mesh
// (docs/benchmarks.md, "Discovery"). The bytes are what protobuf defines for
// weft.discovery.v1.Snapshot (api/discovery.proto): a decoder cannot tell them
// from protobufjs output (test/control-plane/snapshot-encode.test.ts).
import { loadSync } from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";
import { protoLoaderOptions } from "../../api/load.ts";
import type { ProxyPolicy } from "../../api/gen/weft/discovery/v1/ProxyPolicy.ts";
import type { Service } from "../../api/gen/weft/discovery/v1/Service.ts";
import type { ServiceRoutes } from "../../api/gen/weft/discovery/v1/ServiceRoutes.ts";

interface MessageCodec<T> {
  serialize(value: T): Buffer;
}

const definitions = loadSync(fileURLToPath(new URL("../../api/discovery.proto", import.meta.url)), protoLoaderOptions);
const serviceCodec = definitions["weft.discovery.v1.Service"] as unknown as MessageCodec<Service>;
const policyCodec = definitions["weft.discovery.v1.ProxyPolicy"] as unknown as MessageCodec<ProxyPolicy>;
const routesCodec = definitions["weft.discovery.v1.ServiceRoutes"] as unknown as MessageCodec<ServiceRoutes>;

export function encodeService(service: Service): Buffer {
  return serviceCodec.serialize(service);
}

export function encodeServiceRoutes(routes: ServiceRoutes): Buffer {
  return routesCodec.serialize(routes);
}

export function encodePolicy(policy: ProxyPolicy): Buffer {
  return policyCodec.serialize(policy);
}

export interface SnapshotParts {
  version: string;
  full: boolean;
  baseVersion: string;
  /** Encoded weft.discovery.v1.Service messages, in the order they are to be sent. */
  services: readonly Uint8Array[];
  removedServices: readonly string[];
  /** Encoded weft.discovery.v1.ProxyPolicy, or null for none. */
  policy: Uint8Array | null;
  /** Encoded weft.discovery.v1.ServiceRoutes, in the order they are to be sent (none when absent). */
  routes?: readonly Uint8Array[];
  removedRoutes?: readonly string[];
}

// Snapshot field numbers and wire types (api/discovery.proto): tag = field << 3 | type.
const LEN = 2;
const VARINT = 0;
const TAG_VERSION = (1 << 3) | LEN;
const TAG_FULL = (2 << 3) | VARINT;
const TAG_BASE_VERSION = (3 << 3) | LEN;
const TAG_SERVICE = (4 << 3) | LEN;
const TAG_REMOVED = (5 << 3) | LEN;
const TAG_POLICY = (6 << 3) | LEN;
const TAG_ROUTES = (7 << 3) | LEN;
const TAG_REMOVED_ROUTES = (8 << 3) | LEN;

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Encodes a Snapshot; proto3 defaults (empty strings, false) are left out, as protobuf allows. */
export function encodeSnapshot(parts: SnapshotParts): Buffer {
  const routes = parts.routes ?? [];
  const strings = [parts.version, parts.baseVersion, ...parts.removedServices].map((s) => Buffer.from(s, "utf8"));
  const [version, baseVersion] = strings as [Buffer, Buffer];
  const removed = strings.slice(2);
  const removedRoutes = (parts.removedRoutes ?? []).map((s) => Buffer.from(s, "utf8"));
  const field = (bytes: number) => 1 + varintLength(bytes) + bytes;
  let size = (version.length > 0 ? field(version.length) : 0) + (parts.full ? 2 : 0) + (baseVersion.length > 0 ? field(baseVersion.length) : 0);
  for (const s of parts.services) size += field(s.length);
  for (const r of removed) size += field(r.length);
  if (parts.policy) size += field(parts.policy.length);
  for (const r of routes) size += field(r.length);
  for (const r of removedRoutes) size += field(r.length);

  const out = Buffer.allocUnsafe(size);
  let at = 0;
  const varint = (n: number) => {
    while (n >= 0x80) {
      out[at++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    out[at++] = n;
  };
  const bytes = (tag: number, value: Uint8Array) => {
    out[at++] = tag;
    varint(value.length);
    out.set(value, at);
    at += value.length;
  };
  if (version.length > 0) bytes(TAG_VERSION, version);
  if (parts.full) {
    out[at++] = TAG_FULL;
    out[at++] = 1;
  }
  if (baseVersion.length > 0) bytes(TAG_BASE_VERSION, baseVersion);
  for (const s of parts.services) bytes(TAG_SERVICE, s);
  for (const r of removed) bytes(TAG_REMOVED, r);
  if (parts.policy) bytes(TAG_POLICY, parts.policy);
  for (const r of routes) bytes(TAG_ROUTES, r);
  for (const r of removedRoutes) bytes(TAG_REMOVED_ROUTES, r);
  return out;
}
