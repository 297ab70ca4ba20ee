// One outbound attempt over a pooled HTTP/1.1 connection, driven the way the
// request's lifecycle drives it (relay, discard, cancel), against a peer that
// reads and writes exact bytes.
import { strict as assert } from "node:assert";
import { once } from "node:events";
import type { OutgoingHttpHeaders } from "node:http";
import * as net from "node:net";
import { PassThrough, Writable } from "node:stream";
import { silentLogger } from "../../lib/log.ts";
import { createMetrics } from "../../sidecar/src/admin/metrics.ts";
import { DEFAULT_POLICY } from "../../sidecar/src/discovery/client-policy.ts";
import type { Downstream } from "../../sidecar/src/http/downstream.ts";
import type { RelayResult } from "../../sidecar/src/http/relay-response.ts";
import { H1ClientConnection } from "../../sidecar/src/http1/client-connection.ts";
import { H1Attempt } from "../../sidecar/src/outbound/attempt-h1.ts";
import type { Attempt, AttemptFailedEvent, AttemptOwner, MeshEndpointChoice, OutboundCall, OutboundHttpContext, ResponseHeadEvent } from "../../sidecar/src/outbound/call.ts";
import { EndpointState } from "../../sidecar/src/outbound/endpoint-state.ts";
import type { PeerPool, PeerTarget } from "../../sidecar/src/outbound/peer-pool.ts";
import type { ReplayBody } from "../../sidecar/src/outbound/replay-body.ts";
import type { ProxyErrorCode } from "../../sidecar/src/outbound/request-lifecycle.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { WirePeer } from "../fixtures/wire-peer.ts";

class SinkDownstream implements Downstream {
  readonly expectsContinue = false;
  readonly mayHaveTrailers = false;
  readonly trailers = undefined;
  sendContinue(): void {}
  readonly proto = "h1";
  readonly method: string;
  readonly path = "/items/7";
  readonly authority = "shop.default.svc:80";
  readonly fields: readonly string[];
  readonly fieldsChecked: boolean;
  readonly body = new PassThrough();
  readonly hasBody = false;
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
  finished = false;

  constructor(fields: string[], checked = true, method = "GET") {
    this.fields = fields;
    this.fieldsChecked = checked;
    this.method = method;
  }

  respond(status: number, headers: OutgoingHttpHeaders): void {
    this.responded = true;
    this.status = status;
    this.headers = headers;
  }

  finish(): void {
    this.finished = true;
  }

  abort(): void {}

  onAbort(): void {}
}

/** Hands out one fresh connection per attempt and notes when one goes back to the pool. */
class OneShotPool {
  readonly released: H1ClientConnection[] = [];
  taken = 0;
  connected = true;
  #onRelease: () => void = () => {};

  h1(target: PeerTarget): H1ClientConnection {
    this.taken++;
    return new H1ClientConnection(net.connect({ host: target.host, port: target.port }), (c) => {
      this.released.push(c);
      this.#onRelease();
    }, 60_000);
  }

  h1Connected(): boolean {
    return this.connected;
  }

  nextRelease(): Promise<void> {
    return new Promise((resolve) => (this.#onRelease = resolve));
  }
}

/** The request side of the contract: records what the attempt reports and answers as a test says. */
class Owner implements AttemptOwner {
  readonly ctx: OutboundHttpContext;
  readonly ds: SinkDownstream;
  readonly call: OutboundCall;
  readonly body: ReplayBody | undefined = undefined;
  readonly grpc = false;
  readonly reports: string[] = [];
  /** What the request does with a response head (relay or discard); nothing by default. */
  onHead: (attempt: Attempt) => void = () => {};
  readonly relayed: Promise<RelayResult>;
  readonly reported: Promise<void>;
  #relayed: (r: RelayResult) => void = () => {};
  #reported: () => void = () => {};

  constructor(ctx: OutboundHttpContext, ds: SinkDownstream) {
    this.ctx = ctx;
    this.ds = ds;
    this.call = { service: "default/shop", endpoints: [], policy: DEFAULT_POLICY, scope: undefined, grpc: false, route: "", attemptTimeoutMs: 0 };
    this.relayed = new Promise((r) => (this.#relayed = r));
    this.reported = new Promise((r) => (this.#reported = r));
  }

  reportOutcome(attempt: Attempt, outcome: ResponseHeadEvent | AttemptFailedEvent): void {
    this.reports.push(outcome.kind === "response" ? `head ${outcome.status}` : outcome.kind);
    this.#reported();
    if (outcome.kind === "response") this.onHead(attempt);
  }

  reportRefused(_attempt: Attempt, status: number, code: ProxyErrorCode): void {
    this.reports.push(`refused ${status} ${code}`);
    this.#reported();
  }

  reportRelayEnded(_attempt: Attempt, result: RelayResult): void {
    this.reports.push(`relayed ${result.status}`);
    this.#relayed(result);
  }
}

describe("outbound attempt over pooled HTTP/1.1", function () {
  this.timeout(10_000);
  let peer: WirePeer;
  let pool: OneShotPool;
  let ctx: OutboundHttpContext;

  const endpoint = (port: number): MeshEndpointChoice => ({ key: "e", zone: "", ready: true, serving: true, terminating: false, target: { key: "e", host: "127.0.0.1", port, identity: "" } });

  function attempt(owner: Owner, port = peer.port): H1Attempt {
    ctx.state.start("e");
    const a = new H1Attempt(owner, endpoint(port), 1, undefined, owner.ds.fields, owner.ds.fieldsChecked, ctx.now());
    a.start();
    return a;
  }

  beforeEach(async () => {
    peer = await WirePeer.listen();
    pool = new OneShotPool();
    const clock = new FakeClock();
    ctx = { pool: pool as unknown as PeerPool, state: new EndpointState(), metrics: createMetrics(), logger: silentLogger(), zone: "", minZoneEndpoints: 2, rng: () => 0, now: () => clock.now(), clock, peerTransport: "h1" };
  });

  afterEach(async () => {
    await peer.close();
  });

  it("writes the request head straight from the fields, and relays the response when told to, counting its bytes", async () => {
    const owner = new Owner(ctx, new SinkDownstream(["host", "shop.default.svc:80", "accept", "a", "connection", "keep-alive", "accept", "b", "weft-proto", "h2"]));
    owner.onHead = (a) => a.relay();
    attempt(owner);
    const { socket, text } = await peer.next();
    assert.equal(text, "GET /items/7 HTTP/1.1\r\nhost: shop.default.svc:80\r\naccept: a\r\naccept: b\r\nweft-proto: h1\r\n\r\n");
    socket.write("HTTP/1.1 200 OK\r\nx-app: yes\r\ncontent-length: 5\r\n\r\nhello");
    assert.deepEqual(await owner.relayed, { status: 200, grpcStatus: undefined, requestBytes: 0, responseBytes: 5 });
    assert.deepEqual(owner.reports, ["head 200", "relayed 200"]);
    assert.equal(owner.ds.status, 200);
    assert.equal(owner.ds.headers?.["x-app"], "yes");
    assert.equal(Buffer.concat(owner.ds.written).toString(), "hello");
    assert.deepEqual(ctx.state.loads.get("e")?.breaker, { kind: "closed", consecutiveFailures: 0, ejections: 0 });
  });

  it("reads and drops a small retried response so its connection goes back to the pool", async () => {
    const owner = new Owner(ctx, new SinkDownstream(["host", "shop"]));
    owner.onHead = (a) => a.discard();
    attempt(owner);
    const released = pool.nextRelease();
    (await peer.next()).socket.write("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy");
    await released;
    assert.equal(pool.released.length, 1);
    assert.deepEqual(owner.reports, ["head 503"]);
    assert.equal(owner.ds.responded, false, "nothing of a discarded response reaches the client");
    assert.equal(ctx.state.loads.get("e")?.inflight, 0);
  });

  it("closes the connection instead of reading a large retried response", async () => {
    const owner = new Owner(ctx, new SinkDownstream(["host", "shop"]));
    owner.onHead = (a) => a.discard();
    attempt(owner);
    const { socket } = await peer.next();
    const closed = once(socket, "close");
    socket.write(`HTTP/1.1 503 Service Unavailable\r\ncontent-length: ${1024 * 1024}\r\n\r\n`);
    await closed;
    assert.deepEqual(owner.reports, ["head 503"]);
  });

  it("reports a reset when the peer closes after the request went out, and a connect failure when the connection never came up", async () => {
    const reset = new Owner(ctx, new SinkDownstream(["host", "shop"]));
    attempt(reset);
    (await peer.next()).socket.destroy();
    await reset.reported;
    assert.deepEqual(reset.reports, ["reset"]);

    const closed = await WirePeer.listen();
    const port = closed.port;
    await closed.close();
    pool.connected = false;
    const refused = new Owner(ctx, new SinkDownstream(["host", "shop"]));
    attempt(refused, port);
    await refused.reported;
    assert.deepEqual(refused.reports, ["connect-failure"]);
    const load = ctx.state.loads.get("e");
    assert.equal(load?.inflight, 0);
    assert.equal(load?.breaker.kind === "closed" ? load.breaker.consecutiveFailures : -1, 2, "both count against the endpoint");
  });

  it("refuses a header HTTP/1.1 cannot carry before taking a connection, without blaming the endpoint", () => {
    const owner = new Owner(ctx, new SinkDownstream(["host", "shop", "x-a", "1\r\nx-injected: 1"], false));
    attempt(owner);
    assert.deepEqual(owner.reports, ["refused 400 bad-header"]);
    assert.equal(pool.taken, 0);
    assert.deepEqual(ctx.state.loads.get("e")?.breaker, { kind: "closed", consecutiveFailures: 0, ejections: 0 });
    assert.equal(ctx.state.loads.get("e")?.inflight, 0);
  });

  it("on cancel before the head closes the connection: a timeout blames the endpoint, the client leaving does not", async () => {
    for (const [reason, failures] of [["client-gone", 0], ["timeout", 1]] as const) {
      const owner = new Owner(ctx, new SinkDownstream(["host", "shop"]));
      const a = attempt(owner);
      const { socket } = await peer.next();
      const closed = once(socket, "close");
      a.cancel(reason);
      await closed;
      const load = ctx.state.loads.get("e");
      assert.equal(load?.inflight, 0);
      assert.equal(load?.breaker.kind === "closed" ? load.breaker.consecutiveFailures : -1, failures, reason);
      assert.deepEqual(owner.reports, []);
    }
  });
});
