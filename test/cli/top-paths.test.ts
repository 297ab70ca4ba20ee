// `weft top`'s per-path window: what it counts, what falls out of the window,
// and that its memory stays bounded however many paths the tap shows it.
import { strict as assert } from "node:assert";
import type { TapEvent } from "../../lib/tap-contract.ts";
import { PathWindow, succeeded } from "../../cli/src/top-paths.ts";

function event(path: string, extra: Partial<TapEvent> = {}): TapEvent {
  return { ts: 0, direction: "inbound", source: "spiffe://td/ns/a/sa/c", destination: "spiffe://td/ns/a/sa/s", method: "GET", authority: "s", path, grpc: false, status: 200, latencyMs: 1, tls: true, ...extra };
}

describe("weft top's per-path window", () => {
  it("groups by direction, caller, callee, method and path, busiest first", () => {
    const w = new PathWindow(10_000);
    for (let i = 0; i < 3; i++) w.add(event("/a"), 1000);
    w.add(event("/a", { method: "POST" }), 1000);
    w.add(event("/b"), 1000);
    w.add(event("/b"), 1000);
    w.add(event("/a", { direction: "outbound", service: "a/s" }), 1000);
    const rows = w.rows(2000, 10);
    assert.deepEqual(rows.map((r) => [r.direction, r.method, r.path, r.requests]), [
      ["inbound", "GET", "/a", 3], ["inbound", "GET", "/b", 2], ["outbound", "GET", "/a", 1], ["inbound", "POST", "/a", 1],
    ]);
    assert.equal(rows[0]?.rps, 0.3);
  });

  it("counts 5xx, proxy errors and gRPC errors as failures, as weft stat does", () => {
    assert.equal(succeeded(event("/", { status: 404 })), true);
    assert.equal(succeeded(event("/", { status: 503 })), false);
    assert.equal(succeeded(event("/", { status: 200, error: "timeout" })), false);
    assert.equal(succeeded(event("/", { grpc: true, status: 200, grpcStatus: 14 })), false);
    assert.equal(succeeded(event("/", { grpc: true, status: 200, grpcStatus: 0 })), true);
    const w = new PathWindow(10_000);
    w.add(event("/x", { status: 500 }), 0);
    for (let i = 0; i < 3; i++) w.add(event("/x"), 0);
    assert.equal(w.rows(0, 1)[0]?.successRate, 0.75);
  });

  it("takes latency quantiles over the window's requests", () => {
    const w = new PathWindow(10_000);
    for (let i = 1; i <= 100; i++) w.add(event("/x", { latencyMs: i }), 0);
    assert.deepEqual(w.rows(0, 1)[0]?.latencyMs, { p50: 50, p95: 95, max: 100 });
  });

  it("forgets requests older than the window, and paths with none left", () => {
    const w = new PathWindow(10_000);
    w.add(event("/old"), 0);
    w.add(event("/x"), 0);
    w.add(event("/x"), 9_000);
    const rows = w.rows(10_000, 10);
    assert.deepEqual(rows.map((r) => [r.path, r.requests]), [["/x", 1]]);
  });

  it("keeps at most its bound of paths, dropping the least recently seen", () => {
    const w = new PathWindow(60_000, { maxGroups: 100, maxSamplesPerGroup: 10 });
    for (let i = 0; i < 1000; i++) w.add(event(`/p${i}`), i);
    for (let i = 0; i < 50; i++) w.add(event("/hot"), 1000);
    const rows = w.rows(1000, 1000);
    assert.equal(rows.length, 100);
    assert.equal(rows[0]?.path, "/hot");
    assert.equal(rows[0]?.requests, 10, "samples per path are bounded too");
    assert.ok(!rows.some((r) => r.path === "/p0"), "the oldest paths went first");
    assert.ok(rows.some((r) => r.path === "/p999"));
  });
});
