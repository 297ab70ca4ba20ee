import { strict as assert } from "node:assert";
import { detectProtocol, H2_PREFACE } from "../../sidecar/src/http/protocol-detect.ts";
import { buildRouteIndex, resolveRoute } from "../../sidecar/src/discovery/route-index.ts";
import { RESAMPLE_MS, candidates, newLoad, pick, type BalancerEndpoint, type EndpointLoad } from "../../sidecar/src/outbound/balancer-p2c-ewma.ts";
import { INITIAL_BREAKER, transition, type BreakerConfig } from "../../sidecar/src/outbound/circuit-breaker.ts";
import { EndpointState } from "../../sidecar/src/outbound/endpoint-state.ts";
import { newRetryBudget, recordRequest, tryWithdraw } from "../../sidecar/src/outbound/retry-budget.ts";
import { shouldRetry, backoffMs } from "../../sidecar/src/outbound/retry-policy.ts";
import { DEFAULT_POLICY, effectivePolicy } from "../../sidecar/src/discovery/client-policy.ts";
import { parseOpaquePorts, loadConfig } from "../../sidecar/src/proxy-config.ts";
import type { Service__Output } from "../../api/gen/weft/discovery/v1/Service.ts";

describe("protocol detection from first bytes", () => {
  const cases: [string, Buffer, string][] = [
    ["HTTP/1 GET", Buffer.from("GET / HTTP/1.1\r\n"), "http1"],
    ["HTTP/1 POST", Buffer.from("POST /x HTTP/1.1\r\n"), "http1"],
    ["h2 preface", H2_PREFACE, "h2"],
    ["TLS ClientHello", Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), "tls"],
    ["binary", Buffer.from([0x00, 0x01, 0x02]), "opaque"],
    ["SSH banner-like", Buffer.from("SSH-2.0-x\r\n"), "opaque"],
    ["lower-case get", Buffer.from("get / HTTP/1.1"), "http1"],
  ];
  for (const [name, bytes, expected] of cases) {
    it(`classifies ${name} as ${expected}`, () => assert.deepEqual(detectProtocol(bytes), { kind: "done", protocol: expected }));
  }
  it("asks for more on a prefix of a method or of the h2 preface", () => {
    assert.deepEqual(detectProtocol(Buffer.from("GE")), { kind: "need-more" });
    assert.deepEqual(detectProtocol(Buffer.from("PRI * HTTP/2")), { kind: "need-more" });
    assert.deepEqual(detectProtocol(Buffer.alloc(0)), { kind: "need-more" });
  });
});

const service = (over: Partial<Service__Output> = {}): Service__Output => ({
  namespace: "ns",
  name: "svc",
  clusterIps: ["10.96.0.1"],
  headless: false,
  ports: [{ name: "http", port: 80, protocol: "TCP", appProtocol: "" }],
  endpoints: [{ address: "10.0.0.5", ports: { http: 8080 }, zone: "a", node: "", pod: "", ready: true, serving: true, terminating: false, meshed: true, identity: "spiffe://cluster.local/ns/ns/sa/svc" }],
  clientPolicy: null,
  ...over,
});

describe("route index", () => {
  it("matches a ClusterIP and port, a pod IP and target port, and nothing else", () => {
    const index = buildRouteIndex([service()]);
    assert.equal(resolveRoute(index, "10.96.0.1", 80).kind, "service");
    assert.equal(resolveRoute(index, "::ffff:10.96.0.1", 80).kind, "service");
    assert.equal(resolveRoute(index, "10.0.0.5", 8080).kind, "endpoint");
    assert.equal(resolveRoute(index, "10.96.0.1", 81).kind, "passthrough");
    assert.equal(resolveRoute(index, "1.2.3.4", 80).kind, "passthrough");
  });
  it("gives headless Services no ClusterIP route", () => {
    assert.equal(resolveRoute(buildRouteIndex([service({ headless: true })]), "10.96.0.1", 80).kind, "passthrough");
  });
});

const ep = (key: string, over: Partial<BalancerEndpoint> = {}): BalancerEndpoint => ({ key, zone: "a", ready: true, serving: true, terminating: false, ...over });

describe("p2c over EWMA", () => {
  const loads = (entries: [string, Partial<EndpointLoad>][]): Map<string, EndpointLoad> => new Map(entries.map(([k, v]) => [k, { ...newLoad(), ...v }]));
  it("picks the cheaper of two", () => {
    const l = loads([["a", { ewmaMs: 1, lastUpdate: 1 }], ["b", { ewmaMs: 100, lastUpdate: 1 }]]);
    for (const r of [0, 0.5, 0.99]) assert.equal(pick([ep("a"), ep("b")], l, { zone: "", minZoneEndpoints: 2 }, () => r, 1)?.key, "a");
  });
  it("gives an endpoint not measured for RESAMPLE_MS (or never) the next request, one at a time", () => {
    const now = 100_000;
    const fresh = loads([["a", { ewmaMs: 1, lastUpdate: now - 10 }], ["b", { ewmaMs: 800, lastUpdate: now - 10 }]]);
    assert.equal(pick([ep("a"), ep("b")], fresh, { zone: "", minZoneEndpoints: 1 }, () => 0.99, now)?.key, "a", "a recent penalty still steers away");
    const stale = loads([["a", { ewmaMs: 1, lastUpdate: now - 10 }], ["b", { ewmaMs: 800, lastUpdate: now - RESAMPLE_MS }]]);
    assert.equal(pick([ep("a"), ep("b")], stale, { zone: "", minZoneEndpoints: 1 }, () => 0.99, now)?.key, "b");
    const busy = loads([["a", { ewmaMs: 1, lastUpdate: now - 10 }], ["b", { ewmaMs: 800, lastUpdate: now - RESAMPLE_MS, inflight: 1 }]]);
    assert.equal(pick([ep("a"), ep("b")], busy, { zone: "", minZoneEndpoints: 1 }, () => 0.99, now)?.key, "a", "one resample at a time");
    const unmeasured = loads([["a", { ewmaMs: 1, lastUpdate: now - 10 }]]);
    assert.equal(pick([ep("a"), ep("b")], unmeasured, { zone: "", minZoneEndpoints: 1 }, () => 0.99, now)?.key, "b");
  });
  it("uses terminating endpoints only while nothing else serves", () => {
    assert.deepEqual(candidates([ep("a", { terminating: true, ready: false }), ep("b")], new Map(), { zone: "", minZoneEndpoints: 1 }, 0).map((e) => e.key), ["b"]);
    assert.deepEqual(candidates([ep("a", { terminating: true, ready: false })], new Map(), { zone: "", minZoneEndpoints: 1 }, 0).map((e) => e.key), ["a"]);
  });
  it("prefers its own zone only when it has enough endpoints there", () => {
    const eps = [ep("a", { zone: "z1" }), ep("b", { zone: "z1" }), ep("c", { zone: "z2" })];
    assert.deepEqual(candidates(eps, new Map(), { zone: "z1", minZoneEndpoints: 2 }, 0).map((e) => e.key), ["a", "b"]);
    assert.deepEqual(candidates(eps, new Map(), { zone: "z2", minZoneEndpoints: 2 }, 0).length, 3);
  });
  it("never ejects every endpoint", () => {
    const l = loads([["a", { breaker: { kind: "ejected", until: 100, ejections: 1 } }], ["b", { breaker: { kind: "ejected", until: 100, ejections: 1 } }]]);
    assert.equal(candidates([ep("a"), ep("b")], l, { zone: "", minZoneEndpoints: 1 }, 50).length, 2);
  });
  it("sends retries to an endpoint not yet tried when there is one", () => {
    assert.deepEqual(candidates([ep("a"), ep("b")], new Map(), { zone: "", minZoneEndpoints: 1, exclude: new Set(["a"]) }, 0).map((e) => e.key), ["b"]);
  });
});

describe("circuit breaker", () => {
  const cfg: BreakerConfig = { failureThreshold: 2, baseEjectionMs: 100, maxEjectionMs: 300 };
  it("ejects after consecutive failures, probes after the backoff, closes on success, backs off longer on failure", () => {
    let s = transition(INITIAL_BREAKER, { type: "failure" }, 0, cfg);
    assert.equal(s.kind, "closed");
    s = transition(s, { type: "failure" }, 0, cfg);
    assert.deepEqual(s, { kind: "ejected", until: 100, ejections: 1 });
    assert.equal(transition(s, { type: "success" }, 50, cfg).kind, "ejected");
    const again = transition(s, { type: "failure" }, 150, cfg);
    assert.deepEqual(again, { kind: "ejected", until: 350, ejections: 2 });
    assert.equal(transition(s, { type: "success" }, 150, cfg).kind, "closed");
  });
  it("brings an endpoint revived by a successful probe back at the latency the probe measured", () => {
    const state = new EndpointState({ breaker: cfg });
    const healthy = state.load("b");
    healthy.ewmaMs = 2;
    healthy.lastUpdate = 1;
    for (const t of [10, 20]) {
      state.start("a");
      state.finish("svc", "a", { ok: false, rttMs: 1 }, t);
    }
    assert.equal(state.load("a").breaker.kind, "ejected");
    assert.ok(state.load("a").ewmaMs >= 50, "failures are penalized");
    const probeAt = 20 + 100;
    assert.equal(pick([ep("a"), ep("b")], state.loads, { zone: "", minZoneEndpoints: 1 }, () => 0.99, probeAt)?.key, "a", "the expired ejection is probed");
    state.start("a");
    state.finish("svc", "a", { ok: true, rttMs: 1 }, probeAt + 1);
    assert.deepEqual([state.load("a").breaker.kind, state.load("a").ewmaMs], ["closed", 1]);
    healthy.lastUpdate = probeAt;
    for (const r of [0, 0.5, 0.99]) assert.equal(pick([ep("a"), ep("b")], state.loads, { zone: "", minZoneEndpoints: 1 }, () => r, probeAt + 2)?.key, "a", "no leftover penalty");
  });
  it("resets the failure count on success", () => {
    const s = transition(transition(INITIAL_BREAKER, { type: "failure" }, 0, cfg), { type: "success" }, 0, cfg);
    assert.equal(transition(s, { type: "failure" }, 0, cfg).kind, "closed");
  });
});

describe("retry budget and policy", () => {
  it("allows ratio x requests plus the floor, then refuses", () => {
    const b = newRetryBudget();
    const cfg = { ratio: 0.2, minPerSecond: 1, windowMs: 10_000 };
    for (let i = 0; i < 100; i++) recordRequest(b, 1_000, cfg);
    let allowed = 0;
    while (tryWithdraw(b, 1_000, cfg)) allowed++;
    assert.equal(allowed, 30);
    assert.equal(tryWithdraw(b, 12_000, cfg), true, "the window moves on");
  });
  const p = DEFAULT_POLICY.retry;
  const rng = (): number => 0.5;
  it("retries idempotent requests on 502/503/504 and resets, at most twice", () => {
    assert.equal(shouldRetry({ method: "GET", grpc: false, replayable: true }, { kind: "response", status: 503 }, 1, p, rng).retry, true);
    assert.equal(shouldRetry({ method: "GET", grpc: false, replayable: true }, { kind: "reset" }, 2, p, rng).retry, true);
    assert.deepEqual(shouldRetry({ method: "GET", grpc: false, replayable: true }, { kind: "response", status: 503 }, 3, p, rng), { retry: false, reason: "attempts-exhausted" });
    assert.deepEqual(shouldRetry({ method: "GET", grpc: false, replayable: true }, { kind: "response", status: 500 }, 1, p, rng), { retry: false, reason: "success" });
  });
  it("retries a POST only when it never reached the app", () => {
    assert.deepEqual(shouldRetry({ method: "POST", grpc: false, replayable: true }, { kind: "response", status: 503 }, 1, p, rng), { retry: false, reason: "not-idempotent" });
    assert.equal(shouldRetry({ method: "POST", grpc: false, replayable: true }, { kind: "connect-failure" }, 1, p, rng).retry, true);
  });
  it("retries gRPC UNAVAILABLE but not other statuses, and not bodies past the buffer", () => {
    assert.equal(shouldRetry({ method: "POST", grpc: true, replayable: true }, { kind: "response", status: 200, grpcStatus: 14 }, 1, p, rng).retry, true);
    assert.equal(shouldRetry({ method: "POST", grpc: true, replayable: true }, { kind: "response", status: 200, grpcStatus: 13 }, 1, p, rng).retry, false);
    assert.deepEqual(shouldRetry({ method: "GET", grpc: false, replayable: false }, { kind: "reset" }, 1, p, rng), { retry: false, reason: "body-too-large" });
  });
  it("jitters backoff within the exponential ceiling", () => {
    assert.equal(backoffMs(1, { backoffBaseMs: 10, backoffMaxMs: 100 }, () => 0.999), 9);
    assert.equal(backoffMs(5, { backoffBaseMs: 10, backoffMaxMs: 100 }, () => 0.999), 99);
  });
  it("layers Service policy over proxy defaults over built-ins", () => {
    const eff = effectivePolicy({ retry: null, requestTimeoutMs: 500, connectTimeoutMs: 0 }, { retry: { enabled: false, maxRetries: 0, retryOnHttpStatus: [], retryOnGrpcStatus: ["unavailable", "aborted"], budgetRatio: 0, budgetMinPerSecond: 0, backoffBaseMs: 0, backoffMaxMs: 0, maxBufferedBodyBytes: 0 }, requestTimeoutMs: 0, connectTimeoutMs: 0 });
    assert.equal(eff.responseTimeoutMs, 500);
    assert.equal(eff.retry.enabled, false);
    assert.deepEqual([...eff.retry.retryOnGrpcStatus], [14, 10]);
  });
});

describe("proxy flags", () => {
  it("parses port lists with ranges and refuses garbage", () => {
    assert.deepEqual([...(parseOpaquePorts("25, 3306,8000-8002") as { ok: true; value: Set<number> }).value], [25, 3306, 8000, 8001, 8002]);
    for (const bad of ["x", "-5", "80-90-100", "1e3", " 0x50", "0", "1-2000"]) assert.equal(parseOpaquePorts(bad).ok, false, bad);
  });
  it("reads flags, lets flags win over the environment, and requires a mode", () => {
    const c = loadConfig(["--static-snapshot", "s.json", "--cert", "c", "--key", "k", "--trust-anchors", "a", "--outbound-bind", "5000=10.96.0.1:80", "--inbound-port=7000"], { WEFT_INBOUND_PORT: "1", WEFT_ZONE: "z" });
    assert.ok(c.ok);
    assert.equal(c.value.inboundPort, 7000);
    assert.equal(c.value.zone, "z");
    assert.deepEqual(c.value.outboundBinds, [{ listenPort: 5000, address: "10.96.0.1", port: 80 }]);
    assert.equal(loadConfig([], {}).ok, false);
    assert.equal(loadConfig(["--nope", "1"], {}).ok, false);
  });
});
