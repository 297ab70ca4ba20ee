// One attempt of an outbound HTTP/1.1 request over a pooled, framed HTTP/1.1
// connection to the peer proxy (the peerTransport "h1" alternative to an
// HTTP/2 stream). The retry decision, budget and metrics stay with
// forwardOutbound; this only sends, classifies the outcome and relays.
import type { OutgoingHttpHeaders } from "node:http";
import { Writable } from "node:stream";
import type { Downstream } from "../http/downstream.ts";
import type { CancelReason } from "./endpoint-state.ts";
import { requestHeadFromH2 } from "../http1/framer.ts";
import { grpcStatusOf, responseHeaders } from "../http/headers.ts";
import { sendProxyError, type MeshEndpointChoice, type OutboundCall, type OutboundHttpContext } from "./call.ts";
import type { RelayResult } from "../http/relay-response.ts";
import type { ReplayBody } from "./replay-body.ts";
import type { AttemptScope } from "../http/request-observer.ts";
import { isRetryableOutcome, type AttemptOutcome } from "./retry-policy.ts";

const DISCARD_MAX_BYTES = 64 * 1024;

export interface H1Attempt {
  ctx: OutboundHttpContext;
  ds: Downstream;
  call: OutboundCall;
  endpoint: MeshEndpointChoice;
  /** HTTP/2-style request headers (pseudo-headers included), as the observer saw them. */
  headers: OutgoingHttpHeaders;
  body: ReplayBody | undefined;
  attempt: number;
  attemptStart: number;
  attemptScope: AttemptScope | undefined;
  grpc: boolean;
  retry: (outcome: AttemptOutcome) => boolean;
  onFailure: (outcome: AttemptOutcome, endpoint: MeshEndpointChoice) => void;
  finish: (result: RelayResult) => void;
}

/** Starts the attempt; returns what cancels it while it is in flight. */
export function attemptH1(a: H1Attempt): (reason: CancelReason) => void {
  const { ctx, ds, endpoint } = a;
  const request = requestHeadFromH2(a.headers, a.body !== undefined);
  if (!request) {
    // A header HTTP/1.1 cannot carry (a value with CR/LF from an HTTP/2 client): refuse it here.
    ctx.state.finish(a.call.service, endpoint.key, { ok: true, rttMs: 0 }, ctx.now());
    a.finish(sendProxyError(ds, a.grpc, 400, "bad-header"));
    return () => {};
  }
  const conn = ctx.pool.h1(endpoint.target);
  let settled = false;
  let over = false;
  let status = 0;
  let grpcStatus: number | undefined;
  let bodyExpected = false;
  /** A retried response's small body is read and dropped, so the connection goes back to the pool. */
  let discard = false;
  let discarded = 0;
  let requestBytes = 0;
  let responseBytes = 0;
  const end = (result: RelayResult): void => {
    if (over) return;
    over = true;
    a.attemptScope?.onEnd?.(result);
    a.finish(result);
  };
  conn.begin(String(a.headers[":method"]), request.head, {
    head: (head) => {
      if (settled || over) return false;
      settled = true;
      status = head.status;
      bodyExpected = head.framing.kind !== "none";
      grpcStatus = bodyExpected ? undefined : grpcStatusOf(head.headers);
      const outcome: AttemptOutcome = { kind: "response", status, grpcStatus };
      const failed = isRetryableOutcome({ grpc: a.grpc }, outcome, a.call.policy.retry);
      ctx.state.finish(a.call.service, endpoint.key, { ok: !failed, rttMs: ctx.now() - a.attemptStart }, ctx.now());
      if (failed && a.retry(outcome)) {
        over = true;
        a.attemptScope?.onEnd?.({ status, grpcStatus });
        discard = head.framing.kind === "none" || head.framing.kind === "chunked" || (head.framing.kind === "length" && head.framing.length <= DISCARD_MAX_BYTES);
        return discard;
      }
      a.body?.commit();
      ds.respond(status, responseHeaders(head.headers), !bodyExpected);
      return true;
    },
    data: (chunk) => {
      if (discard) {
        // A large error body is not worth reading: close the connection instead.
        discarded += chunk.length;
        if (discarded > DISCARD_MAX_BYTES) conn.abandon();
        return true;
      }
      responseBytes += chunk.length;
      const ok = ds.sink.write(chunk);
      if (!ok) ds.sink.once("drain", () => conn.resume());
      return ok;
    },
    end: (trailers) => {
      if (over) return;
      if (bodyExpected) ds.finish(trailers ? responseHeaders(trailers) : undefined);
      end({ status, grpcStatus: grpcStatusOf(trailers) ?? grpcStatus, requestBytes, responseBytes });
    },
    fail: (headSeen) => {
      if (over) return;
      if (headSeen) {
        // Broken off mid-response: the client sees a truncated body, as with a reset stream.
        ds.abort();
        end({ status, error: "upstream-reset", requestBytes, responseBytes });
        return;
      }
      over = true;
      settled = true;
      ctx.state.finish(a.call.service, endpoint.key, { ok: false, rttMs: ctx.now() - a.attemptStart }, ctx.now());
      const neverSent = !ctx.pool.h1Connected(conn);
      a.attemptScope?.onEnd?.({ status: 502, error: neverSent ? "connect-failure" : "upstream-reset" });
      a.onFailure(neverSent ? { kind: "connect-failure" } : { kind: "reset" }, endpoint);
    },
  }, a.body !== undefined);
  if (a.body) {
    const chunked = request.chunked;
    const sink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        requestBytes += chunk.length;
        if (conn.writeBody(chunk, chunked)) cb();
        else conn.socket.once("drain", () => cb());
      },
      final: (cb) => {
        conn.endBody(chunked);
        cb();
      },
    });
    if (!a.body.attach(sink, a.attempt === 1)) {
      over = true;
      settled = true;
      ctx.state.release(endpoint.key);
      conn.abandon();
      a.finish(sendProxyError(ds, a.grpc, 502, "body-not-replayable"));
      return () => {};
    }
  }
  return (reason) => {
    if (!settled) {
      // Still waiting for the head: the attempt leaves the endpoint's in-flight count either way.
      settled = true;
      ctx.state.giveUp(a.call.service, endpoint.key, reason, ctx.now() - a.attemptStart, ctx.now());
    }
    if (!over) {
      over = true;
      conn.abandon();
    }
  };
}
