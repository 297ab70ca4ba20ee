// One tap event from what the request observer saw: the request's head, its
// outcome, and the timing and identities the hub adds. Pure. Header values
// appear only for the names the tap request opted in to; bodies never.
import type { TapEvent } from "../../../lib/tap-contract.ts";
import type { ObservedOutcome, ObservedRequest } from "../http/request-observer.ts";

export interface TapContext {
  /** This proxy's own SPIFFE id. */
  ownIdentity: string;
  /** Outbound: the identity the last attempt's upstream had to present ("" when none: not meshed, or no attempt). */
  upstreamIdentity: string;
  latencyMs: number;
  /** Wall-clock ms. */
  ts: number;
}

/** The path a tap shows: no query string (it may carry secrets); a gRPC method as it is. */
export function tapPath(path: string): string {
  const q = path.indexOf("?");
  return q < 0 ? path : path.slice(0, q);
}

/** Who called and who was called: inbound the peer then this proxy, outbound this proxy then the upstream. */
export function endpointsOf(req: Pick<ObservedRequest, "direction" | "peerIdentity">, ctx: Pick<TapContext, "ownIdentity" | "upstreamIdentity">): { source: string; destination: string } {
  return req.direction === "inbound" ? { source: req.peerIdentity, destination: ctx.ownIdentity } : { source: ctx.ownIdentity, destination: ctx.upstreamIdentity };
}

/** Only the opted-in names, multi-valued ones joined as HTTP joins them. */
export function pickHeaders(headers: Readonly<Record<string, string | string[] | undefined>>, names: readonly string[]): Record<string, string> | undefined {
  if (names.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const name of names) {
    const v = headers[name];
    if (v === undefined) continue;
    out[name] = Array.isArray(v) ? v.join(name === "cookie" ? "; " : ", ") : v;
  }
  return out;
}

export function tapEvent(req: ObservedRequest, outcome: ObservedOutcome, ctx: TapContext, headerNames: readonly string[]): TapEvent {
  const { source, destination } = endpointsOf(req, ctx);
  const event: TapEvent = {
    ts: Math.round(ctx.ts),
    direction: req.direction,
    source,
    destination,
    method: req.method,
    authority: req.authority,
    path: tapPath(req.path),
    grpc: req.grpc,
    status: outcome.status,
    latencyMs: Math.round(ctx.latencyMs * 1000) / 1000,
    tls: req.direction === "inbound" ? req.peerIdentity !== "" : ctx.upstreamIdentity !== "",
  };
  if (req.service) event.service = req.service;
  if (outcome.grpcStatus !== undefined) event.grpcStatus = outcome.grpcStatus;
  if (outcome.error !== undefined) event.error = outcome.error;
  if (outcome.requestBytes !== undefined) event.requestBytes = outcome.requestBytes;
  if (outcome.responseBytes !== undefined) event.responseBytes = outcome.responseBytes;
  if (req.route) event.route = req.route;
  if (req.authz) event.authz = req.authz;
  const headers = pickHeaders(req.headers, headerNames);
  if (headers) event.headers = headers;
  return event;
}
