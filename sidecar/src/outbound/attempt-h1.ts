// One attempt of an outbound HTTP/1.1 request over a pooled, framed HTTP/1.1
// connection to the peer proxy (the peerTransport "h1" alternative to an
// HTTP/2 stream, attempt-h2.ts). The request head is written straight from
// the request's fields; the retry decision, budget and metrics stay with the
// request's lifecycle (http.ts): this only sends, tells the endpoint how it
// went, reports, and relays or discards the response as told.
import type { IncomingHttpHeaders } from "node:http";
import { Writable } from "node:stream";
import { writeResponseBody } from "../http/downstream.ts";
import type { AttemptScope } from "../http/request-observer.ts";
import { WEFT_PROTO, grpcStatusOf, responseHeaders } from "../http/headers.ts";
import type { OutgoingFields } from "../http/request.ts";
import type { RelayResult } from "../http/relay-response.ts";
import type { H1ClientConnection, ResponseHandlers } from "../http1/client-connection.ts";
import type { ResponseHead } from "../http1/framer.ts";
import { chunkedBody, requestHead } from "../http1/request-head.ts";
import type { CancelReason } from "./endpoint-state.ts";
import { CONNECT_FAILURE, UPSTREAM_RESET, type Attempt, type AttemptOwner, type MeshEndpointChoice, type ResponseHeadEvent } from "./call.ts";
import { isRetryableOutcome } from "./retry-policy.ts";

/** A retried response's body up to this size is read and dropped, so the connection goes back to the pool. */
const DISCARD_MAX_BYTES = 64 * 1024;

/** The attempt is its own response handler and its own outgoing fields: one object per attempt. */
export class H1Attempt implements Attempt, ResponseHandlers, OutgoingFields {
  readonly fields: readonly string[];
  readonly checked: boolean;
  readonly addName = WEFT_PROTO;
  readonly addValue = "h1";
  readonly #owner: AttemptOwner;
  readonly #endpoint: MeshEndpointChoice;
  readonly #number: number;
  readonly #scope: AttemptScope | undefined;
  readonly #startedAt: number;
  #conn: H1ClientConnection | undefined;
  #head: ResponseHead | undefined;
  #grpcStatus: number | undefined;
  /** The endpoint has been told how the attempt went. */
  #settled = false;
  /** Nothing more is relayed or reported. */
  #over = false;
  #relaying = false;
  #discard = false;
  #discarded = 0;
  #requestBytes = 0;
  #responseBytes = 0;
  /** The connection reads again once the client's side has drained. */
  readonly #resume = (): void => this.#conn?.resume();

  get responseBytes(): number {
    return this.#responseBytes;
  }

  /** `fields` are the request's own or the observer's copy (then not `checked`); the request is an HTTP/1.1 one. */
  constructor(owner: AttemptOwner, endpoint: MeshEndpointChoice, number: number, scope: AttemptScope | undefined, fields: readonly string[], checked: boolean, startedAt: number) {
    this.#owner = owner;
    this.#endpoint = endpoint;
    this.#number = number;
    this.#scope = scope;
    this.fields = fields;
    this.checked = checked;
    this.#startedAt = startedAt;
  }

  start(): void {
    const { ctx, ds, call, body } = this.#owner;
    if (body && this.#number > 1 && !body.replayable) {
      this.#refuseBody();
      return;
    }
    const chunked = chunkedBody(ds, this);
    const head = requestHead(ds, this, chunked);
    if (head === undefined) {
      // A header HTTP/1.1 cannot carry (a value with CR/LF from an HTTP/2 client): refused here, not the endpoint's fault.
      this.#settled = true;
      this.#over = true;
      ctx.state.finish(call.service, this.#endpoint.key, { ok: true, rttMs: 0 }, ctx.now());
      this.#owner.reportRefused(this, 400, "bad-header");
      return;
    }
    const conn = ctx.pool.h1(this.#endpoint.target);
    this.#conn = conn;
    conn.begin(ds.method, head, this, body !== undefined);
    if (!body) return;
    const sink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        this.#requestBytes += chunk.length;
        if (conn.writeBody(chunk, chunked)) cb();
        else conn.socket.once("drain", () => cb());
      },
      final: (cb) => {
        conn.endBody(chunked, ds.trailers);
        cb();
      },
    });
    if (!body.attach(sink, this.#number === 1)) {
      conn.abandon();
      this.#refuseBody();
    }
  }

  /** The body outgrew the retry buffer after the retry was decided: nothing to send again. Not the endpoint's fault. */
  #refuseBody(): void {
    this.#settled = true;
    this.#over = true;
    this.#owner.ctx.state.release(this.#endpoint.key);
    this.#owner.reportRefused(this, 502, "body-not-replayable");
  }

  head(head: ResponseHead): boolean {
    if (this.#settled || this.#over) return false;
    this.#settled = true;
    this.#head = head;
    // Only a response without a body can be retried on its gRPC status: the status is known before any body.
    this.#grpcStatus = head.framing.kind === "none" ? grpcStatusOf(head.headers) : undefined;
    const outcome: ResponseHeadEvent = { type: "response-head", kind: "response", status: head.status, grpcStatus: this.#grpcStatus };
    const { ctx, call } = this.#owner;
    const failed = isRetryableOutcome(this.#owner, outcome, call.policy.retry);
    ctx.state.finish(call.service, this.#endpoint.key, { ok: !failed, rttMs: ctx.now() - this.#startedAt }, ctx.now());
    this.#owner.reportOutcome(this, outcome);
    // By now the request has relayed or discarded the response; if it had ended already, the connection goes.
    return this.#relaying || this.#discard;
  }

  continued(): void {
    if (!this.#settled && !this.#over) this.#owner.ds.sendContinue();
  }

  relay(): void {
    const head = this.#head;
    if (!head || this.#over) return;
    this.#relaying = true;
    this.#owner.ds.respond(head.status, responseHeaders(head.headers), head.framing.kind === "none");
  }

  discard(): void {
    const head = this.#head;
    // A failure before any head already ended the attempt.
    if (!head || this.#over) return;
    this.#over = true;
    this.#scope?.onEnd?.({ status: head.status, grpcStatus: this.#grpcStatus });
    const f = head.framing;
    this.#discard = f.kind === "none" || f.kind === "chunked" || (f.kind === "length" && f.length <= DISCARD_MAX_BYTES);
  }

  cancel(reason: CancelReason): void {
    if (!this.#settled) {
      // Still waiting for the head: the attempt leaves the endpoint's in-flight count either way.
      this.#settled = true;
      const { ctx, call } = this.#owner;
      ctx.state.giveUp(call.service, this.#endpoint.key, reason, ctx.now() - this.#startedAt, ctx.now());
    }
    if (!this.#over) {
      this.#over = true;
      this.#conn?.abandon();
    }
  }

  data(chunk: Buffer): boolean {
    const conn = this.#conn as H1ClientConnection;
    if (this.#discard) {
      // A large error body is not worth reading: close the connection instead.
      this.#discarded += chunk.length;
      if (this.#discarded > DISCARD_MAX_BYTES) conn.abandon();
      return true;
    }
    this.#responseBytes += chunk.length;
    return writeResponseBody(this.#owner.ds, chunk, this.#resume);
  }

  end(trailers: IncomingHttpHeaders | undefined): void {
    const head = this.#head;
    if (this.#over || !head) return;
    if (head.framing.kind !== "none") this.#owner.ds.finish(trailers ? responseHeaders(trailers) : undefined);
    this.#ended({ status: head.status, grpcStatus: grpcStatusOf(trailers) ?? this.#grpcStatus, requestBytes: this.#requestBytes, responseBytes: this.#responseBytes });
  }

  fail(headSeen: boolean): void {
    if (this.#over) return;
    const head = this.#head;
    if (headSeen && head) {
      // Broken off mid-response: the client sees a truncated body, as with a reset stream.
      this.#owner.ds.abort();
      this.#ended({ status: head.status, error: "upstream-reset", requestBytes: this.#requestBytes, responseBytes: this.#responseBytes });
      return;
    }
    this.#over = true;
    this.#settled = true;
    const { ctx, call } = this.#owner;
    ctx.state.finish(call.service, this.#endpoint.key, { ok: false, rttMs: ctx.now() - this.#startedAt }, ctx.now());
    const neverSent = !this.#conn || !ctx.pool.h1Connected(this.#conn);
    this.#scope?.onEnd?.({ status: 502, error: neverSent ? "connect-failure" : "upstream-reset" });
    this.#owner.reportOutcome(this, neverSent ? CONNECT_FAILURE : UPSTREAM_RESET);
  }

  #ended(result: RelayResult): void {
    this.#over = true;
    this.#scope?.onEnd?.(result);
    this.#owner.reportRelayEnded(this, result);
  }
}
