// What one outbound call carries through its attempts: the context the
// listener hands in, the call (Service, endpoints, policy), and the error the
// proxy answers with itself. Shared by the HTTP/2 path (http.ts) and the
// HTTP/1.1 path (attempt-h1.ts), so neither imports the other's module.
import type { Logger } from "../../../lib/log.ts";
import type { ProxyMetrics } from "../admin/metrics.ts";
import type { EffectivePolicy } from "../discovery/client-policy.ts";
import type { MeshEndpoint } from "../discovery/mesh-view.ts";
import type { Downstream } from "../http/downstream.ts";
import type { RelayResult } from "../http/relay-response.ts";
import type { RequestScope } from "../http/request-observer.ts";
import type { EndpointState } from "./endpoint-state.ts";
import type { PeerPool } from "./peer-pool.ts";

/** An endpoint the balancer can choose; the discovery view builds them once per snapshot. */
export type MeshEndpointChoice = MeshEndpoint;

export interface OutboundHttpContext {
  pool: PeerPool;
  state: EndpointState;
  metrics: ProxyMetrics;
  logger: Logger;
  zone: string;
  minZoneEndpoints: number;
  rng: () => number;
  now: () => number;
  /** How HTTP/1.1 requests travel to the peer proxy: streams on one HTTP/2 session, or pooled framed HTTP/1.1 connections. */
  peerTransport?: "h2" | "h1";
}

export interface OutboundCall {
  service: string;
  endpoints: readonly MeshEndpointChoice[];
  policy: EffectivePolicy;
  scope: RequestScope | undefined;
}

export const NGHTTP2_REFUSED_STREAM = 7;
export const NGHTTP2_CANCEL = 8;

/** The error a proxy returns itself, in the caller's protocol (gRPC callers get a gRPC status). */
export function sendProxyError(ds: Downstream, grpc: boolean, status: number, code: string): RelayResult {
  if (ds.responded) {
    ds.abort();
    return { status, error: code };
  }
  if (grpc) {
    const grpcStatus = status === 504 ? 4 : 14;
    ds.respond(200, { "content-type": "application/grpc", "grpc-status": String(grpcStatus), "grpc-message": code, "weft-error": code }, true);
    return { status: 200, grpcStatus, error: code };
  }
  ds.respond(status, { "content-type": "text/plain", "weft-error": code }, false);
  ds.finish(undefined);
  // The body is written through finish's end; keep it short and stable.
  return { status, error: code };
}

