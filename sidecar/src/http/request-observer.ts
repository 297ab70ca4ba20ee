// The seam for per-request telemetry (tracing spans, access logs): the HTTP
// paths call these hooks and know nothing of what is behind them. Headers
// passed to onAttempt are the ones about to be sent, so an observer may add
// propagation headers to them.
import type { OutgoingHttpHeaders } from "node:http";

export interface ObservedRequest {
  direction: "outbound" | "inbound";
  method: string;
  path: string;
  authority: string;
  protocol: "h1" | "h2";
  grpc: boolean;
  /** "namespace/name" of the Service called (outbound) or "" (inbound). */
  service: string;
  /** SPIFFE id of the calling proxy (inbound mTLS) or "". */
  peerIdentity: string;
  /** The route an outbound request followed ("namespace/name" of the HTTPRoute or GRPCRoute), when one did. */
  route?: string;
  /** Inbound under an Authorization: its decision (a denied request is observed too, then answered 403). */
  authz?: "allow" | "deny";
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface ObservedAttempt {
  attempt: number;
  endpoint: string;
  /** SPIFFE id the upstream must present (outbound mTLS), when known. */
  peerIdentity?: string;
  /** Mutable: the headers sent upstream for this attempt. */
  headers: OutgoingHttpHeaders;
}

export interface ObservedOutcome {
  status: number;
  grpcStatus?: number;
  /** Stable code when the proxy itself failed the request (e.g. "no-endpoint", "timeout", "upstream-reset"). */
  error?: string;
  /** Body bytes sent upstream and relayed back, when the data plane counts them. */
  requestBytes?: number;
  responseBytes?: number;
}

export interface RequestScope {
  onAttempt?(attempt: ObservedAttempt): AttemptScope | undefined;
  onEnd?(outcome: ObservedOutcome): void;
}

export interface AttemptScope {
  onEnd?(outcome: ObservedOutcome): void;
}

export interface RequestObserver {
  onRequest(request: ObservedRequest): RequestScope | undefined;
}

export const NO_OBSERVER: RequestObserver = { onRequest: () => undefined };
