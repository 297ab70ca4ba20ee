// One outbound request's I/O shell (forwardOutbound) on a fake clock, with an
// in-memory client side and real peer sockets; the transition function it
// drives is tested in outbound-lifecycle.test.ts.
import { strict as assert } from "node:assert";
import { once } from "node:events";
import type { OutgoingHttpHeaders } from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { PassThrough, Writable } from "node:stream";
import { silentLogger } from "../../lib/log.ts";
import { createMetrics } from "../../sidecar/src/admin/metrics.ts";
import { DEFAULT_POLICY, type EffectivePolicy, type EffectiveRetry } from "../../sidecar/src/discovery/client-policy.ts";
import type { Downstream } from "../../sidecar/src/http/downstream.ts";
import type { ObservedOutcome, RequestScope } from "../../sidecar/src/http/request-observer.ts";
import { H1ClientConnection } from "../../sidecar/src/http1/client-connection.ts";
import type { MeshEndpointChoice, OutboundCall, OutboundHttpContext } from "../../sidecar/src/outbound/call.ts";
import { EndpointState } from "../../sidecar/src/outbound/endpoint-state.ts";
import { forwardOutbound } from "../../sidecar/src/outbound/http.ts";
import type { PeerPool, PeerTarget } from "../../sidecar/src/outbound/peer-pool.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { WirePeer } from "../fixtures/wire-peer.ts";

const RETRY: EffectiveRetry = DEFAULT_POLICY.retry;

/** The client side of one request, in memory: records the response and lets the test make the client leave. */
class MemoryDownstream implements Downstream {
  readonly expectsContinue = false;
  readonly mayHaveTrailers = false;
  readonly trailers = undefined;
  sendContinue(): void {}
  readonly proto: "h1" | "h2";
  readonly method: string;
  readonly path: string;
  readonly authority = "shop.default.svc:80";
  readonly fields: readonly string[];
  readonly fieldsChecked = true;
  readonly body = new PassThrough();
  readonly hasBody: boolean;
  readonly written: Buffer[] = [];
  readonly sink = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      this.written.push(chunk);
      cb();
    },
  });
  responded = false;
  status: number | undefined;
  headers: OutgoingHttpHeaders | undefined;
  aborted = false;
  /** Resolves when the response is complete or broken off. */
  readonly ended: Promise<void>;
  #end: () => void = () => {};
  readonly #abortListeners: (() => void)[] = [];

  constructor(o: { proto?: "h1" | "h2"; method?: string; path?: string; fields?: string[]; hasBody?: boolean } = {}) {
    this.proto = o.proto ?? "h1";
    this.method = o.method ?? "GET";
    this.path = o.path ?? "/items";
    this.fields = o.fields ?? ["host", "shop.default.svc:80", "accept", "*/*"];
    this.hasBody = o.hasBody ?? false;
    this.ended = new Promise((resolve) => (this.#end = resolve));
  }

  respond(status: number, headers: OutgoingHttpHeaders, endStream: boolean): void {
    this.responded = true;
    this.status = status;
    this.headers = headers;
    if (endStream) this.#end();
  }

  finish(): void {
    this.#end();
  }

  abort(): void {
    this.aborted = true;
    this.#end();
  }

  onAbort(listener: () => void): void {
    this.#abortListeners.push(listener);
  }

  /** The client goes away before the response is complete. */
  leave(): void {
    for (const l of this.#abortListeners.splice(0)) l();
  }

  get text(): string {
    return Buffer.concat(this.written).toString("latin1");
  }
}

/** Peer "proxies" on plain sockets: pooled HTTP/1.1 connections are not kept, HTTP/2 sessions one per endpoint. */
class PlainPeerPool {
  readonly #sessions = new Map<string, http2.ClientHttp2Session>();
  readonly #conns: H1ClientConnection[] = [];

  h1(target: PeerTarget): H1ClientConnection {
    const conn = new H1ClientConnection(net.connect({ host: target.host, port: target.port }), (c) => c.socket.destroy(), 60_000);
    this.#conns.push(conn);
    return conn;
  }

  h1Connected(): boolean {
    return true;
  }

  session(target: PeerTarget): http2.ClientHttp2Session {
    let session = this.#sessions.get(target.key);
    if (!session) {
      session = http2.connect(`http://${target.host}:${target.port}`, { strictSingleValueFields: false });
      session.on("error", () => {});
      this.#sessions.set(target.key, session);
    }
    return session;
  }

  connected(): boolean {
    return true;
  }

  close(): void {
    for (const conn of this.#conns) conn.socket.destroy();
    for (const session of this.#sessions.values()) session.destroy();
  }
}

function endpoint(key: string, port: number): MeshEndpointChoice {
  return { key, zone: "", ready: true, serving: true, terminating: false, target: { key, host: "127.0.0.1", port, identity: "spiffe://cluster.local/ns/default/sa/shop" } };
}

/** A scope that records the request's end and each attempt's end, in order. */
function recordingScope(): { scope: RequestScope; events: string[]; ends: ObservedOutcome[] } {
  const events: string[] = [];
  const ends: ObservedOutcome[] = [];
  const scope: RequestScope = {
    onAttempt: (a) => {
      events.push(`attempt ${a.attempt} ${a.endpoint}`);
      return { onEnd: (o) => events.push(`attempt-end ${a.attempt} ${o.status}`) };
    },
    onEnd: (o) => {
      events.push(`end ${o.status}`);
      ends.push(o);
    },
  };
  return { scope, events, ends };
}

describe("outbound request lifecycle: the shell (forwardOutbound)", function () {
  this.timeout(10_000);
  let clock: FakeClock;
  let pool: PlainPeerPool;
  let ctx: OutboundHttpContext;
  const peers: WirePeer[] = [];

  async function peer(): Promise<WirePeer> {
    const p = await WirePeer.listen();
    peers.push(p);
    return p;
  }

  function call(endpoints: MeshEndpointChoice[], policy: Partial<EffectivePolicy> = {}, scope?: RequestScope, grpc = false): OutboundCall {
    // No timeouts unless a test sets them: the fake clock's timers are then only the ones the test is about.
    return { service: "default/shop", endpoints, policy: { ...DEFAULT_POLICY, responseTimeoutMs: 0, idleTimeoutMs: 0, ...policy }, scope, grpc, route: "", attemptTimeoutMs: 0 };
  }

  beforeEach(() => {
    clock = new FakeClock();
    pool = new PlainPeerPool();
    ctx = {
      pool: pool as unknown as PeerPool,
      state: new EndpointState(),
      metrics: createMetrics(),
      logger: silentLogger(),
      zone: "",
      minZoneEndpoints: 2,
      rng: () => 0,
      now: () => clock.now(),
      clock,
      peerTransport: "h1",
    };
  });

  afterEach(async () => {
    pool.close();
    await Promise.all(peers.splice(0).map((p) => p.close()));
  });

  it("answers 504 when the request times out, and cancels the attempt in flight against its endpoint", async () => {
    const a = await peer();
    const ds = new MemoryDownstream();
    const { scope, ends } = recordingScope();
    forwardOutbound(ctx, ds, call([endpoint("a", a.port)], { responseTimeoutMs: 1_000 }, scope));
    const { socket } = await a.next();
    const closed = once(socket, "close");
    clock.tick(999);
    assert.equal(ds.responded, false);
    clock.tick(1);
    assert.equal(ds.status, 504);
    assert.equal(ds.headers?.["weft-error"], "timeout");
    await closed;
    assert.deepEqual(ends, [{ status: 504, error: "timeout" }]);
    const load = ctx.state.loads.get("a");
    assert.equal(load?.inflight, 0);
    assert.deepEqual(load?.breaker, { kind: "closed", consecutiveFailures: 1, ejections: 0 }, "a timeout is the endpoint's failure");
  });

  it("retries a 503 on another endpoint within the budget and relays the second response", async () => {
    const a = await peer();
    const b = await peer();
    const ds = new MemoryDownstream();
    const { scope, events } = recordingScope();
    forwardOutbound(ctx, ds, call([endpoint("a", a.port), endpoint("b", b.port)], {}, scope));
    (await a.next()).socket.write("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n");
    assert.equal(await clock.nextDelay(), 0, "rng 0: the backoff's jitter picks no wait");
    clock.tick(0);
    const second = await b.next();
    assert.match(second.text, /^GET \/items HTTP\/1\.1\r\nhost: shop\.default\.svc:80\r\naccept: \*\/\*\r\nweft-proto: h1\r\n\r\n$/);
    second.socket.write("HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nfrom-b");
    await ds.ended;
    assert.equal(ds.status, 200);
    assert.equal(ds.text, "from-b");
    assert.deepEqual(events, ["attempt 1 a", "attempt-end 1 503", "attempt 2 b", "attempt-end 2 200", "end 200"]);
    const retries = (await ctx.metrics.retries.get()).values;
    assert.deepEqual(retries.map((v) => [v.labels.reason, v.value]), [["503", 1]]);
  });

  it("gives an attempt up at a route's per-attempt timeout, retries it elsewhere, and relays the retry's answer", async () => {
    const a = await peer();
    const b = await peer();
    const ds = new MemoryDownstream();
    const { scope, events } = recordingScope();
    forwardOutbound(ctx, ds, { ...call([endpoint("a", a.port), endpoint("b", b.port)], {}, scope), route: "default/canary", attemptTimeoutMs: 100 });
    const first = await a.next();
    const closed = once(first.socket, "close");
    assert.equal(await clock.nextDelay(), 100, "the attempt's own timer");
    clock.tick(99);
    assert.equal(events.length, 1, "the first attempt is still waiting");
    clock.tick(1);
    await closed;
    assert.equal(await clock.nextDelay(), 0, "rng 0: the backoff's jitter picks no wait");
    // The backoff was set from inside a fake timer's callback, where the fake clock makes a 0 ms timer 1 ms.
    clock.tick(1);
    const second = await b.next();
    clock.tick(50);
    second.socket.write("HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nfrom-b");
    await ds.ended;
    assert.deepEqual([ds.status, ds.text], [200, "from-b"]);
    assert.equal(clock.pending(), 0, "the per-attempt timer was stopped with the relay");
    assert.deepEqual(ctx.state.loads.get("a")?.breaker, { kind: "closed", consecutiveFailures: 1, ejections: 0 }, "the timed-out attempt is its endpoint's failure");
    const retries = (await ctx.metrics.retries.get()).values;
    assert.deepEqual(retries.map((v) => [v.labels.reason, v.value]), [["attempt-timeout", 1]]);
    const requests = (await ctx.metrics.requests.get()).values;
    assert.deepEqual(requests.map((v) => [v.labels.route, v.labels.status_class]), [["default/canary", "2xx"]]);
  });

  it("answers 504 attempt-timeout when the per-attempt timeout leaves no retry", async () => {
    const a = await peer();
    const ds = new MemoryDownstream();
    forwardOutbound(ctx, ds, { ...call([endpoint("a", a.port)], { retry: { ...RETRY, enabled: false } }), attemptTimeoutMs: 100 });
    await a.next();
    clock.tick(100);
    await ds.ended;
    assert.deepEqual([ds.status, ds.headers?.["weft-error"]], [504, "attempt-timeout"]);
    assert.equal(clock.pending(), 0);
  });

  it("relays the 503 itself when the retry budget has nothing left, and counts the refusal", async () => {
    const a = await peer();
    const ds = new MemoryDownstream();
    const broke: EffectiveRetry = { ...RETRY, budgetRatio: 0, budgetMinPerSecond: 0 };
    forwardOutbound(ctx, ds, call([endpoint("a", a.port), endpoint("b", a.port)], { retry: broke }));
    (await a.next()).socket.write("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy");
    await ds.ended;
    assert.equal(ds.status, 503);
    assert.equal(ds.text, "busy");
    assert.equal((await ctx.metrics.retryBudgetRefusals.get()).values[0]?.value, 1);
    assert.equal(clock.pending(), 0, "no backoff was scheduled");
  });

  it("cancels the attempt when the client leaves, answers nothing, and does not blame the endpoint", async () => {
    const a = await peer();
    const ds = new MemoryDownstream();
    const { scope, ends } = recordingScope();
    forwardOutbound(ctx, ds, call([endpoint("a", a.port)], { responseTimeoutMs: 1_000 }, scope));
    const { socket } = await a.next();
    const closed = once(socket, "close");
    ds.leave();
    await closed;
    assert.equal(ds.responded, false);
    assert.deepEqual(ends, [{ status: 499, error: "client-gone" }]);
    assert.equal(clock.pending(), 0, "the request timeout was stopped");
    const load = ctx.state.loads.get("a");
    assert.equal(load?.inflight, 0);
    assert.deepEqual(load?.breaker, { kind: "closed", consecutiveFailures: 0, ejections: 0 });
  });

  it("answers 502 body-not-replayable when the body outgrew the retry buffer before the retry went out", async () => {
    const a = await peer();
    const b = await peer();
    const ds = new MemoryDownstream({ method: "PUT", fields: ["host", "shop", "content-type", "text/plain"], hasBody: true });
    ds.body.write("12345");
    forwardOutbound(ctx, ds, call([endpoint("a", a.port), endpoint("b", b.port)], { retry: { ...RETRY, maxBufferedBodyBytes: 8 } }));
    const first = await a.next("12345\r\n");
    assert.match(first.text, /^PUT \/items HTTP\/1\.1\r\nhost: shop\.default\.svc:80\r\ncontent-type: text\/plain\r\nweft-proto: h1\r\ntransfer-encoding: chunked\r\n\r\n5\r\n12345\r\n$/);
    first.socket.write("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n");
    await clock.nextDelay();
    // More body than the buffer holds arrives while the retry waits (emitted directly: the shell holds the stream paused).
    ds.body.emit("data", Buffer.alloc(16));
    clock.tick(0);
    assert.equal(ds.status, 502);
    assert.equal(ds.headers?.["weft-error"], "body-not-replayable");
    assert.equal(ctx.state.loads.get("b")?.inflight, 0);
    assert.deepEqual(ctx.state.loads.get("b")?.breaker, { kind: "closed", consecutiveFailures: 0, ejections: 0 });
  });

  it("answers a gRPC caller with a gRPC status: UNAVAILABLE without endpoints, DEADLINE_EXCEEDED on timeout (the stream cancelled)", async () => {
    const grpcFields = [":method", "POST", ":path", "/shop.Items/Get", ":scheme", "http", ":authority", "shop", "content-type", "application/grpc", "te", "trailers"];
    const none = new MemoryDownstream({ proto: "h2", method: "POST", fields: grpcFields });
    forwardOutbound(ctx, none, call([], {}, undefined, true));
    assert.equal(none.status, 200);
    assert.deepEqual([none.headers?.["grpc-status"], none.headers?.["weft-error"]], ["14", "no-endpoint"]);

    const server = http2.createServer();
    const streams: { stream: http2.ServerHttp2Stream; raw: string[] }[] = [];
    let arrived: () => void = () => {};
    server.on("stream", (stream, _headers, _flags, raw: string[]) => {
      stream.on("error", () => {});
      streams.push({ stream, raw });
      arrived();
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const ds = new MemoryDownstream({ proto: "h2", method: "POST", path: "/shop.Items/Get", fields: grpcFields });
      const reached = new Promise<void>((r) => (arrived = r));
      forwardOutbound(ctx, ds, call([endpoint("g", (server.address() as net.AddressInfo).port)], { responseTimeoutMs: 500 }, undefined, true));
      await reached;
      const [{ stream, raw }] = streams as [{ stream: http2.ServerHttp2Stream; raw: string[] }];
      assert.deepEqual(raw.slice(8), ["content-type", "application/grpc", "te", "trailers", "weft-proto", "h2"]);
      const cancelled = once(stream, "close");
      clock.tick(500);
      assert.equal(ds.status, 200);
      assert.deepEqual([ds.headers?.["grpc-status"], ds.headers?.["weft-error"]], ["4", "timeout"]);
      await cancelled;
      assert.equal(stream.rstCode, http2.constants.NGHTTP2_CANCEL);
    } finally {
      pool.close();
      server.close();
    }
  });
  /** Lets socket I/O run until `cond` holds (fake time stands still meanwhile). */
  async function until(cond: () => boolean): Promise<void> {
    for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
    assert.ok(cond(), "the condition never held");
  }

  it("relays a body that streams for longer than the response timeout: the timeout ends with the response head", async () => {
    const a = await peer();
    const ds = new MemoryDownstream();
    forwardOutbound(ctx, ds, call([endpoint("a", a.port)], { responseTimeoutMs: 1_000 }));
    const { socket } = await a.next();
    socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
    await until(() => ds.responded);
    for (let i = 0; i < 5; i++) {
      clock.tick(900);
      socket.write("1\r\nx\r\n");
      await until(() => ds.written.length === i + 1);
    }
    socket.write("0\r\n\r\n");
    await ds.ended;
    assert.deepEqual([ds.status, ds.text, ds.aborted], [200, "xxxxx", false]);
    assert.equal(clock.pending(), 0, "the request's timer was stopped");
  });

  it("breaks a response body off once no byte moved for the idle timeout, and not before", async () => {
    const a = await peer();
    const ds = new MemoryDownstream();
    const { scope, ends } = recordingScope();
    forwardOutbound(ctx, ds, call([endpoint("a", a.port)], { idleTimeoutMs: 1_000 }, scope));
    const { socket } = await a.next();
    const closed = once(socket, "close");
    // The body moves for 4 s in steps shorter than the idle timeout.
    socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
    for (let i = 0; i < 8; i++) {
      socket.write("1\r\nx\r\n");
      await until(() => ds.written.length === i + 1);
      clock.tick(500);
    }
    assert.equal(ds.aborted, false);
    // Then it stalls: the last byte came at 3.5 s, seen by the sample at 3.75 s.
    clock.tick(4_749 - 4_000);
    assert.equal(ds.aborted, false, "cut before a whole idle timeout of silence");
    clock.tick(1);
    assert.equal(ds.aborted, true);
    await closed;
    assert.deepEqual(ends, [{ status: 504, error: "idle-timeout" }]);
  });

  it("answers 504 idle-timeout to a request whose upload stalls before any response", async () => {
    const a = await peer();
    const ds = new MemoryDownstream({ method: "PUT", fields: ["host", "shop", "content-type", "text/plain"], hasBody: true });
    forwardOutbound(ctx, ds, call([endpoint("a", a.port)], { responseTimeoutMs: 1_000, idleTimeoutMs: 2_000 }));
    // A slow upload: a byte every 1.5 s for 6 s is not cut by the 1 s response timeout.
    for (let i = 0; i < 4; i++) {
      ds.body.write("y");
      await a.next("y\r\n");
      clock.tick(1_500);
    }
    assert.equal(ds.responded, false);
    clock.tick(2_500);
    assert.deepEqual([ds.status, ds.headers?.["weft-error"]], [504, "idle-timeout"]);
  });

  it("starts the response timeout when the request body has been sent", async () => {
    const a = await peer();
    const ds = new MemoryDownstream({ method: "PUT", fields: ["host", "shop", "content-type", "text/plain"], hasBody: true });
    forwardOutbound(ctx, ds, call([endpoint("a", a.port)], { responseTimeoutMs: 1_000 }));
    ds.body.write("abc");
    await a.next("abc\r\n");
    clock.tick(5_000);
    assert.equal(ds.responded, false, "the upload is not the response timeout's business");
    ds.body.end();
    await a.next("0\r\n\r\n");
    clock.tick(999);
    assert.equal(ds.responded, false);
    clock.tick(1);
    assert.deepEqual([ds.status, ds.headers?.["weft-error"]], [504, "timeout"]);
  });

  it("cuts a flowing response at the total timeout when one is set", async () => {
    const a = await peer();
    const ds = new MemoryDownstream();
    const { scope, ends } = recordingScope();
    forwardOutbound(ctx, ds, call([endpoint("a", a.port)], { idleTimeoutMs: 1_000, totalTimeoutMs: 2_000 }, scope));
    const { socket } = await a.next();
    socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
    for (let i = 0; i < 3; i++) {
      socket.write("1\r\nx\r\n");
      await until(() => ds.written.length === i + 1);
      clock.tick(600);
    }
    assert.equal(ds.aborted, false);
    clock.tick(200);
    assert.equal(ds.aborted, true);
    assert.deepEqual(ends, [{ status: 504, error: "total-timeout" }]);
  });
});
