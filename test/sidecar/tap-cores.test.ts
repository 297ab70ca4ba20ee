// The tap source's pure parts and its observer on a fake clock: event shaping
// (no query strings, opted-in headers only), the request parser, filters, the
// per-tap rate limit, and nothing at all while nobody taps.
import { strict as assert } from "node:assert";
import { parseTapRequest, tapMatches, MAX_TAP_RPS, type TapEvent, type TapRequest } from "../../lib/tap-contract.ts";
import { TapHub } from "../../sidecar/src/tap/hub.ts";
import { tapEvent } from "../../sidecar/src/tap/event.ts";
import { TokenBucket } from "../../sidecar/src/tap/rate-limit.ts";
import type { ObservedRequest } from "../../sidecar/src/http/request-observer.ts";
import { composeObservers } from "../../sidecar/src/http/observer-compose.ts";
import { NO_OBSERVER } from "../../sidecar/src/http/request-observer.ts";
import { FakeClock } from "../support/fake-clock.ts";

const ME = "spiffe://cluster.local/ns/default/sa/server";
const PEER = "spiffe://cluster.local/ns/default/sa/client";

function req(over: Partial<ObservedRequest> = {}): ObservedRequest {
  return { direction: "inbound", method: "GET", path: "/api/items?token=s3cret", authority: "server:80", protocol: "h1", grpc: false, service: "", peerIdentity: PEER, headers: { "x-trace": "abc", authorization: "Bearer x", cookie: ["a=1", "b=2"] }, ...over };
}

function request(over: Partial<TapRequest> = {}): TapRequest {
  const r = parseTapRequest({ maxRps: 10, ...over });
  assert.ok(r.ok);
  return r.value;
}

describe("tap: event shaping", () => {
  it("an inbound event: peer to this proxy, mTLS, no query string, no headers unless named", () => {
    const e = tapEvent(req({ authz: "allow" }), { status: 200, requestBytes: 3, responseBytes: 12 }, { ownIdentity: ME, upstreamIdentity: "", latencyMs: 1.23456, ts: 1000.4 }, []);
    assert.deepEqual(e, { ts: 1000, direction: "inbound", source: PEER, destination: ME, method: "GET", authority: "server:80", path: "/api/items", grpc: false, status: 200, latencyMs: 1.235, tls: true, requestBytes: 3, responseBytes: 12, authz: "allow" } satisfies TapEvent);
  });

  it("an outbound event: this proxy to the upstream's identity, with Service, route and gRPC status", () => {
    const e = tapEvent(req({ direction: "outbound", peerIdentity: "", service: "default/echo", route: "default/r1", grpc: true, path: "/pkg.Echo/Say" }), { status: 200, grpcStatus: 14, error: "upstream-reset" }, { ownIdentity: PEER, upstreamIdentity: ME, latencyMs: 2, ts: 5 }, []);
    assert.equal(e.source, PEER);
    assert.equal(e.destination, ME);
    assert.equal(e.tls, true);
    assert.equal(e.service, "default/echo");
    assert.equal(e.route, "default/r1");
    assert.equal(e.grpcStatus, 14);
    assert.equal(e.path, "/pkg.Echo/Say");
  });

  it("a plaintext caller is no identity and not TLS", () => {
    const e = tapEvent(req({ peerIdentity: "" }), { status: 200 }, { ownIdentity: ME, upstreamIdentity: "", latencyMs: 0, ts: 0 }, []);
    assert.equal(e.tls, false);
    assert.equal(e.source, "");
  });

  it("only the named headers, multi-valued ones joined", () => {
    const e = tapEvent(req(), { status: 200 }, { ownIdentity: ME, upstreamIdentity: "", latencyMs: 0, ts: 0 }, ["x-trace", "cookie", "absent"]);
    assert.deepEqual(e.headers, { "x-trace": "abc", cookie: "a=1; b=2" });
  });
});

describe("tap: requests and filters", () => {
  it("parses and clamps; refuses what is not valid", () => {
    assert.equal(request({ maxRps: 1e9 }).maxRps, MAX_TAP_RPS);
    const bad: unknown[] = [null, [], { maxRps: 0 }, { maxRps: "1" }, { method: "get" }, { pathPrefix: "api" }, { headers: ["Bad Name"] }, { headers: new Array(17).fill("x") }, { to: { services: ["no-slash"] } }, { to: { identities: ["http://x"] } }];
    for (const b of bad) assert.equal(parseTapRequest(b).ok, false, JSON.stringify(b));
    assert.equal(request().headers.length, 0);
  });

  it("matches method, path prefix and destination (Service or identity)", () => {
    const head = { method: "GET", path: "/api/items", service: "default/echo", destination: ME };
    assert.ok(tapMatches(request(), head));
    assert.ok(tapMatches(request({ method: "GET", pathPrefix: "/api" }), head));
    assert.ok(!tapMatches(request({ method: "POST" }), head));
    assert.ok(!tapMatches(request({ pathPrefix: "/other" }), head));
    assert.ok(tapMatches(request({ to: { services: ["default/echo"], identities: [] } }), head));
    assert.ok(tapMatches(request({ to: { services: [], identities: [ME] } }), head));
    assert.ok(!tapMatches(request({ to: { services: ["default/x"], identities: [PEER] } }), head));
  });
});

describe("tap: rate limit on a fake clock", () => {
  it("a bucket gives `rate` a second, one second's worth of burst", () => {
    const clock = new FakeClock();
    const b = new TokenBucket(clock, 5);
    let taken = 0;
    for (let i = 0; i < 20; i++) if (b.take()) taken++;
    assert.equal(taken, 5);
    clock.fake.tick(200);
    assert.ok(b.take());
    assert.ok(!b.take());
    clock.fake.tick(10_000);
    taken = 0;
    for (let i = 0; i < 20; i++) if (b.take()) taken++;
    assert.equal(taken, 5);
  });

  it("the hub sends at most maxRps events a second per tap, each tap its own", () => {
    const clock = new FakeClock();
    const hub = new TapHub({ clock, ownIdentity: () => ME, wallNow: () => 42 });
    const slow: TapEvent[] = [];
    const fast: TapEvent[] = [];
    hub.subscribe(request({ maxRps: 2 }), { send: (e) => (slow.push(e), true) });
    hub.subscribe(request({ maxRps: 50, headers: ["x-trace"] }), { send: (e) => (fast.push(e), true) });
    for (let second = 0; second < 3; second++) {
      for (let i = 0; i < 100; i++) {
        const scope = hub.onRequest(req());
        clock.fake.tick(3);
        scope?.onEnd?.({ status: 200 });
      }
      clock.fake.tick(700);
    }
    assert.ok(slow.length >= 6 && slow.length <= 8, `slow got ${slow.length}`);
    // At most one burst (one second's worth) plus the rate times the 3 s that passed.
    assert.ok(fast.length >= 150 && fast.length <= 50 + 150, `fast got ${fast.length}`);
    assert.equal(slow[0]?.headers, undefined);
    assert.deepEqual(fast[0]?.headers, { "x-trace": "abc" });
    assert.equal(fast[0]?.latencyMs, 3);
    assert.equal(fast[0]?.ts, 42);
  });

  it("filters on the head; `to` by identity is checked when the attempt has named the upstream", () => {
    const hub = new TapHub({ clock: new FakeClock(), ownIdentity: () => PEER });
    const got: TapEvent[] = [];
    hub.subscribe(request({ method: "POST", to: { services: [], identities: [ME] } }), { send: (e) => (got.push(e), true) });
    assert.equal(hub.onRequest(req({ direction: "outbound", method: "GET" })), undefined);
    for (const upstream of [ME, "spiffe://cluster.local/ns/default/sa/other"]) {
      const s = hub.onRequest(req({ direction: "outbound", method: "POST", service: "default/echo" }));
      s?.onAttempt?.({ attempt: 1, endpoint: "10.0.0.1:80", peerIdentity: upstream, headers: {} });
      s?.onEnd?.({ status: 201 });
    }
    assert.deepEqual(got.map((e) => e.destination), [ME]);
  });
});

describe("tap: nothing while nobody taps", () => {
  it("the hub answers no scope, and the composed observer is the other one alone", () => {
    const hub = new TapHub({ clock: new FakeClock(), ownIdentity: () => ME });
    assert.equal(hub.onRequest(req()), undefined);
    assert.equal(composeObservers(NO_OBSERVER, hub), hub);
    assert.equal(composeObservers(NO_OBSERVER), NO_OBSERVER);
    const stop = hub.subscribe(request(), { send: () => true });
    assert.notEqual(hub.onRequest(req()), undefined);
    stop?.();
    assert.equal(hub.onRequest(req()), undefined);
    assert.equal(hub.taps, 0);
  });

  it("refuses taps beyond the maximum", () => {
    const hub = new TapHub({ clock: new FakeClock(), ownIdentity: () => ME, maxTaps: 1 });
    assert.ok(hub.subscribe(request(), { send: () => true }));
    assert.equal(hub.subscribe(request(), { send: () => true }), undefined);
  });
});
