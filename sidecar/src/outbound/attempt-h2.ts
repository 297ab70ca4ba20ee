// One attempt of an outbound request as a stream on the pooled HTTP/2 session
// to the peer proxy (HTTP/2 and gRPC callers, and HTTP/1.1 callers when the
// peer transport is h2). The headers are written from the request's fields in
// node:http2's raw-list form; the retry decision, budget and metrics stay
// with the request's lifecycle (http.ts).
import type * as http2 from "node:http2";
import { WEFT_PROTO, grpcStatusOf, h2RequestHeaders, sendRequestTrailers } from "../http/headers.ts";
import type { AttemptScope } from "../http/request-observer.ts";
import type { OutgoingFields } from "../http/request.ts";
import { relayResponse, type RelayResult } from "../http/relay-response.ts";
import type { CancelReason } from "./endpoint-state.ts";
import { CONNECT_FAILURE, NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, UPSTREAM_RESET, type Attempt, type AttemptOwner, type MeshEndpointChoice, type ResponseHeadEvent } from "./call.ts";
import { isRetryableOutcome } from "./retry-policy.ts";

/** Stream errors surface as its close (with an RST code), handled there. */
const ignore = (): void => {};

export class H2Attempt implements Attempt, OutgoingFields {
  readonly fields: readonly string[];
  readonly checked: boolean;
  readonly addName = WEFT_PROTO;
  readonly addValue: string;
  readonly #owner: AttemptOwner;
  readonly #endpoint: MeshEndpointChoice;
  readonly #number: number;
  readonly #scope: AttemptScope | undefined;
  readonly #startedAt: number;
  #session: http2.ClientHttp2Session | undefined;
  #stream: http2.ClientHttp2Stream | undefined;
  #headers: http2.IncomingHttpHeaders | undefined;
  #endStream = false;
  #grpcStatus: number | undefined;
  /** The endpoint has been told how the attempt went. */
  #settled = false;
  /** Nothing more is relayed or reported. */
  #over = false;
  /** Counted by relayResponse while it relays. */
  responseBytes = 0;

  /** `fields` are the request's own or the observer's copy (then not `checked`). */
  constructor(owner: AttemptOwner, endpoint: MeshEndpointChoice, number: number, scope: AttemptScope | undefined, fields: readonly string[], checked: boolean, startedAt: number) {
    this.#owner = owner;
    this.#endpoint = endpoint;
    this.#number = number;
    this.#scope = scope;
    this.fields = fields;
    this.checked = checked;
    this.addValue = owner.ds.proto;
    this.#startedAt = startedAt;
  }

  start(): void {
    const { ctx, ds, call, body } = this.#owner;
    if (body && this.#number > 1 && !body.replayable) {
      this.#refuseBody();
      return;
    }
    const session = ctx.pool.session(this.#endpoint.target);
    this.#session = session;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(h2RequestHeaders(ds, this), { endStream: !body, waitForTrailers: body !== undefined && ds.mayHaveTrailers });
    } catch {
      // The session is closing, or node refused a header: the request never left.
      this.#settled = true;
      this.#over = true;
      ctx.state.finish(call.service, this.#endpoint.key, { ok: false, rttMs: 0 }, ctx.now());
      this.#scope?.onEnd?.({ status: 502, error: "connect-failure" });
      this.#owner.reportOutcome(this, CONNECT_FAILURE);
      return;
    }
    this.#stream = stream;
    if (body && !body.attach(stream, this.#number === 1)) {
      stream.close(NGHTTP2_CANCEL);
      this.#refuseBody();
      return;
    }
    stream.on("response", (headers: http2.IncomingHttpHeaders, flags: number) => this.#response(headers, flags));
    if (body && ds.mayHaveTrailers) stream.once("wantTrailers", () => sendRequestTrailers(stream, ds.trailers));
    if (ds.expectsContinue) {
      stream.on("continue", () => {
        if (!this.#settled && !this.#over) ds.sendContinue();
      });
    }
    stream.on("error", ignore);
    stream.on("close", () => this.#closed());
  }

  /** The body outgrew the retry buffer after the retry was decided: nothing to send again. Not the endpoint's fault. */
  #refuseBody(): void {
    this.#settled = true;
    this.#over = true;
    this.#owner.ctx.state.release(this.#endpoint.key);
    this.#owner.reportRefused(this, 502, "body-not-replayable");
  }

  #response(headers: http2.IncomingHttpHeaders, flags: number): void {
    if (this.#settled || this.#over) return;
    this.#settled = true;
    this.#headers = headers;
    this.#endStream = (flags & 1) === 1;
    // Only a trailers-only gRPC response can be retried on its status: the status is known before any body.
    this.#grpcStatus = this.#endStream ? grpcStatusOf(headers) : undefined;
    const outcome: ResponseHeadEvent = { type: "response-head", kind: "response", status: Number(headers[":status"]), grpcStatus: this.#grpcStatus };
    const { ctx, call } = this.#owner;
    const failed = isRetryableOutcome(this.#owner, outcome, call.policy.retry);
    ctx.state.finish(call.service, this.#endpoint.key, { ok: !failed, rttMs: ctx.now() - this.#startedAt }, ctx.now());
    this.#owner.reportOutcome(this, outcome);
  }

  #closed(): void {
    if (this.#settled || this.#over) return;
    this.#settled = true;
    this.#over = true;
    const { ctx, call } = this.#owner;
    ctx.state.finish(call.service, this.#endpoint.key, { ok: false, rttMs: ctx.now() - this.#startedAt }, ctx.now());
    const session = this.#session as http2.ClientHttp2Session;
    const neverSent = !ctx.pool.connected(session) || this.#stream?.rstCode === NGHTTP2_REFUSED_STREAM;
    this.#scope?.onEnd?.({ status: 502, error: neverSent ? "connect-failure" : "upstream-reset" });
    this.#owner.reportOutcome(this, neverSent ? CONNECT_FAILURE : UPSTREAM_RESET);
  }

  relay(): void {
    const stream = this.#stream;
    const headers = this.#headers;
    if (!stream || !headers || this.#over) return;
    relayResponse(stream, headers, this.#endStream, this.#owner.ds, (result) => this.#ended(result), this);
  }

  discard(): void {
    const stream = this.#stream;
    const headers = this.#headers;
    // A failure before any response already ended the attempt.
    if (!stream || !headers || this.#over) return;
    this.#over = true;
    if (!stream.destroyed) stream.close(NGHTTP2_CANCEL);
    this.#scope?.onEnd?.({ status: Number(headers[":status"]), grpcStatus: this.#grpcStatus });
  }

  cancel(reason: CancelReason): void {
    if (!this.#settled) {
      // Still waiting for the response head: the attempt leaves the endpoint's in-flight count either way.
      this.#settled = true;
      const { ctx, call } = this.#owner;
      ctx.state.giveUp(call.service, this.#endpoint.key, reason, ctx.now() - this.#startedAt, ctx.now());
    }
    // A relay in flight reports its broken-off end to the attempt's scope on the stream's close.
    const stream = this.#stream;
    if (stream && !stream.destroyed) stream.close(NGHTTP2_CANCEL);
  }

  #ended(result: RelayResult): void {
    if (this.#over) return;
    this.#over = true;
    const body = this.#owner.body;
    result.requestBytes = body ? body.bytes : 0;
    this.#scope?.onEnd?.(result);
    this.#owner.reportRelayEnded(this, result);
  }
}
