// What one outbound call carries through its attempts: the context the
// listener hands in, the call (Service, endpoints, policy), the contract
// between the request's lifecycle shell (http.ts) and its attempts
// (attempt-h1.ts, attempt-h2.ts), and the error the proxy answers with
// itself. The shell and the attempts import this, never each other's module.
import type { Clock } from "../../../lib/clock.ts";
import type { Logger } from "../../../lib/log.ts";
import type { ProxyMetrics } from "../admin/metrics.ts";
import type { EffectivePolicy } from "../discovery/client-policy.ts";
import type { MeshEndpoint } from "../discovery/mesh-view.ts";
import type { Downstream } from "../http/downstream.ts";
import type { RelayResult } from "../http/relay-response.ts";
import type { RequestScope } from "../http/request-observer.ts";
import type { CancelReason, EndpointState } from "./endpoint-state.ts";
import type { PeerPool } from "./peer-pool.ts";
import type { ReplayBody } from "./replay-body.ts";
import type { LifecycleEvent, ProxyErrorCode } from "./request-lifecycle.ts";

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
  /** Request timeouts and retry backoffs (their times are read from it too). */
  clock: Clock;
  /** How HTTP/1.1 requests travel to the peer proxy: streams on one HTTP/2 session, or pooled framed HTTP/1.1 connections. */
  peerTransport?: "h2" | "h1";
}

export interface OutboundCall {
  service: string;
  endpoints: readonly MeshEndpointChoice[];
  policy: EffectivePolicy;
  scope: RequestScope | undefined;
  /** The caller speaks gRPC: the proxy's own errors go back as gRPC statuses. */
  grpc: boolean;
  /** The route the request follows ("namespace/name"), or "": the metrics' route label. */
  route: string;
  /** A route's timeouts.backendRequest: one attempt's limit until its response head; 0 = off. */
  attemptTimeoutMs: number;
}

/** How an attempt ended before any response: reported as the AttemptOutcome it is. */
export type AttemptFailedEvent = Extract<LifecycleEvent, { type: "attempt-failed" }>;
export type ResponseHeadEvent = Extract<LifecycleEvent, { type: "response-head" }>;

export const CONNECT_FAILURE: AttemptFailedEvent = { type: "attempt-failed", kind: "connect-failure" };
export const UPSTREAM_RESET: AttemptFailedEvent = { type: "attempt-failed", kind: "reset" };

/** One attempt, as the request's lifecycle drives it. */
export interface Attempt {
  /** Sends the request; reports back through the owner, possibly before returning. */
  start(): void;
  /** The response whose head was reported goes to the client. */
  relay(): void;
  /** A retried attempt: its response is dropped (its connection kept when that is cheap). */
  discard(): void;
  /** Gives the attempt up (the request timed out, or the client left). */
  cancel(reason: CancelReason): void;
  /** Response body bytes relayed so far: what the request's idle timeout samples. */
  readonly responseBytes: number;
}

/** The request an attempt belongs to, and where it reports. Reports from an attempt no longer current are ignored. */
export interface AttemptOwner {
  readonly ctx: OutboundHttpContext;
  readonly ds: Downstream;
  readonly call: OutboundCall;
  readonly body: ReplayBody | undefined;
  readonly grpc: boolean;
  /** The response head, or how the attempt failed before one. The endpoint has already been told. */
  reportOutcome(attempt: Attempt, outcome: ResponseHeadEvent | AttemptFailedEvent): void;
  /** The proxy would not send this attempt (the endpoint has already been released). */
  reportRefused(attempt: Attempt, status: number, code: ProxyErrorCode): void;
  /** The relayed response ended, completely or broken off. */
  reportRelayEnded(attempt: Attempt, result: RelayResult): void;
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
    // 404 is the proxy's "no route matches": gRPC's UNIMPLEMENTED, as GAMMA asks.
    const grpcStatus = status === 504 ? 4 : status === 404 ? 12 : 14;
    ds.respond(200, { "content-type": "application/grpc", "grpc-status": String(grpcStatus), "grpc-message": code, "weft-error": code }, true);
    return { status: 200, grpcStatus, error: code };
  }
  ds.respond(status, { "content-type": "text/plain", "weft-error": code }, false);
  ds.finish(undefined);
  // The body is written through finish's end; keep it short and stable.
  return { status, error: code };
}

