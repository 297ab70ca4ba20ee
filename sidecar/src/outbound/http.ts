// One outbound HTTP request to a meshed Service: pick an endpoint, send the
// request to its proxy (on a pooled HTTP/1.1 connection, outbound/attempt-h1.ts,
// or as a stream on the pooled HTTP/2 session), and retry on another endpoint
// when the policy, the attempt count and the budget allow.
import type { OutgoingHttpHeaders } from "node:http";
import type * as http2 from "node:http2";
import { pick } from "./balancer-p2c-ewma.ts";
import type { Downstream } from "../http/downstream.ts";
import { WEFT_PROTO, grpcStatusOf, isGrpc, toH2Request } from "../http/headers.ts";
import { relayResponse, type RelayResult } from "../http/relay-response.ts";
import type { CancelReason } from "./endpoint-state.ts";
import { attemptH1 } from "./attempt-h1.ts";
import { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, sendProxyError, type MeshEndpointChoice, type OutboundCall, type OutboundHttpContext } from "./call.ts";
import { ReplayBody } from "./replay-body.ts";
import { recordRequest, tryWithdraw } from "./retry-budget.ts";
import { isRetryableOutcome, shouldRetry, type AttemptOutcome } from "./retry-policy.ts";
import { recordRequest as recordRequestMetrics, statusClass } from "../admin/metrics.ts";

export function forwardOutbound(ctx: OutboundHttpContext, ds: Downstream, call: OutboundCall): void {
  const started = ctx.now();
  const grpc = isGrpc(ds.headers);
  const retryPolicy = call.policy.retry;
  const budgetConfig = { ratio: retryPolicy.budgetRatio, minPerSecond: retryPolicy.budgetMinPerSecond, windowMs: 10_000 };
  const budget = ctx.state.budget(call.service);
  recordRequest(budget, started, budgetConfig);
  const body = ds.hasBody ? new ReplayBody(ds.body, retryPolicy.maxBufferedBodyBytes) : undefined;
  const tried = new Set<string>();
  let attempt = 0;
  /** Cancels the attempt in flight (timeout, client gone, retry). */
  let cancel: ((reason: CancelReason) => void) | undefined;
  let done = false;
  let timer: NodeJS.Timeout | undefined;

  const finish = (result: RelayResult): void => {
    cancel = undefined;
    if (done) return;
    done = true;
    if (timer) clearTimeout(timer);
    recordRequestMetrics(ctx.metrics, "outbound", call.service, result.error && !ds.responded ? "error" : statusClass(result.status), result.grpcStatus, (ctx.now() - started) / 1000);
    call.scope?.onEnd?.(result);
  };

  if (call.policy.requestTimeoutMs > 0) {
    timer = setTimeout(() => {
      if (done) return;
      cancel?.("timeout");
      finish(sendProxyError(ds, grpc, 504, "timeout"));
    }, call.policy.requestTimeoutMs);
  }
  ds.onAbort(() => {
    cancel?.("client-gone");
    finish({ status: 499, error: "client-gone" });
  });

  const send = (): void => {
    if (done) return;
    const endpoint = pick(call.endpoints, ctx.state.loads, { zone: ctx.zone, minZoneEndpoints: ctx.minZoneEndpoints, exclude: tried }, ctx.rng, ctx.now());
    if (!endpoint) {
      finish(sendProxyError(ds, grpc, 503, "no-endpoint"));
      return;
    }
    attempt += 1;
    tried.add(endpoint.key);
    const headers: OutgoingHttpHeaders = toH2Request(ds.method, ds.path, ds.authority, ds.headers, { [WEFT_PROTO]: ds.proto });
    const attemptScope = call.scope?.onAttempt?.({ attempt, endpoint: endpoint.key, peerIdentity: endpoint.target.identity || undefined, headers });
    const attemptStart = ctx.now();
    ctx.state.start(endpoint.key);
    if (ctx.peerTransport === "h1" && ds.proto === "h1") {
      cancel = attemptH1({ ctx, ds, call, endpoint, headers, body, attempt, attemptStart, attemptScope, grpc, retry, onFailure, finish });
      return;
    }
    const session = ctx.pool.session(endpoint.target);
    let settled = false;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: !body });
    } catch {
      settled = true;
      ctx.state.finish(call.service, endpoint.key, { ok: false, rttMs: 0 }, ctx.now());
      onFailure({ kind: "connect-failure" }, endpoint);
      return;
    }
    cancel = (reason) => {
      if (!settled) {
        // Still waiting for the response head: the attempt leaves the endpoint's in-flight count either way.
        settled = true;
        ctx.state.giveUp(call.service, endpoint.key, reason, ctx.now() - attemptStart, ctx.now());
      }
      if (!stream.destroyed) stream.close(NGHTTP2_CANCEL);
    };
    if (body && !body.attach(stream, attempt === 1)) {
      settled = true;
      ctx.state.release(endpoint.key);
      stream.close(NGHTTP2_CANCEL);
      finish(sendProxyError(ds, grpc, 502, "body-not-replayable"));
      return;
    }

    stream.on("response", (resHeaders: http2.IncomingHttpHeaders, flags: number) => {
      if (settled || done) return;
      settled = true;
      const status = Number(resHeaders[":status"]);
      const endStream = (flags & 1) === 1;
      // Only a trailers-only gRPC response can be retried: the status is known before any body.
      const outcome: AttemptOutcome = { kind: "response", status, grpcStatus: endStream ? grpcStatusOf(resHeaders) : undefined };
      const failed = isRetryableOutcome({ grpc }, outcome, retryPolicy);
      ctx.state.finish(call.service, endpoint.key, { ok: !failed, rttMs: ctx.now() - attemptStart }, ctx.now());
      if (failed && retry(outcome)) {
        stream.close(NGHTTP2_CANCEL);
        attemptScope?.onEnd?.({ status, grpcStatus: outcome.grpcStatus });
        return;
      }
      body?.commit();
      relayResponse(stream, resHeaders, endStream, ds, (result) => {
        result.requestBytes = body ? body.bytes : 0;
        attemptScope?.onEnd?.(result);
        finish(result);
      });
    });
    stream.on("error", () => {}); // handled on close
    stream.on("close", () => {
      if (settled || done) return;
      settled = true;
      ctx.state.finish(call.service, endpoint.key, { ok: false, rttMs: ctx.now() - attemptStart }, ctx.now());
      const neverSent = !ctx.pool.connected(session) || stream.rstCode === NGHTTP2_REFUSED_STREAM;
      attemptScope?.onEnd?.({ status: 502, error: neverSent ? "connect-failure" : "upstream-reset" });
      onFailure(neverSent ? { kind: "connect-failure" } : { kind: "reset" }, endpoint);
    });
  };

  const retry = (outcome: AttemptOutcome): boolean => {
    const decision = shouldRetry({ method: ds.method, grpc, replayable: body ? body.replayable : true }, outcome, attempt, retryPolicy, ctx.rng);
    if (!decision.retry) return false;
    if (!tryWithdraw(budget, ctx.now(), budgetConfig)) {
      ctx.metrics.retryBudgetRefusals.inc({ peer_service: call.service });
      return false;
    }
    ctx.metrics.retries.inc({ peer_service: call.service, reason: outcome.kind === "response" ? String(outcome.grpcStatus ?? outcome.status) : outcome.kind });
    body?.detach();
    setTimeout(send, decision.backoffMs);
    return true;
  };

  const onFailure = (outcome: AttemptOutcome, endpoint: MeshEndpointChoice): void => {
    if (retry(outcome)) return;
    ctx.logger.debug({ service: call.service, endpoint: endpoint.key, outcome: outcome.kind }, "request failed");
    finish(sendProxyError(ds, grpc, 502, outcome.kind === "connect-failure" ? "connect-failure" : "upstream-reset"));
  };

  send();
}
