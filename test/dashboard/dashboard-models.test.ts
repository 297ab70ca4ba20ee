// The dashboard's pure cores: the graph from `weft edges`'s rows, the charts' series
// from range answers, the API's parameters, the trace link of a tap event, and which
// pod `weft dashboard` forwards to.
import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import { browserCommand, pickDashboardPod } from "../../cli/src/cmd-dashboard.ts";
import { parseRangeAnswer } from "../../cli/src/prom-access.ts";
import { edgeQueries } from "../../cli/src/prom-queries.ts";
import type { EdgeRow } from "../../cli/src/prom-rows.ts";
import { graphOf } from "../../dashboard/src/graph-model.ts";
import { namespacesParam, rangeParam, tapParam, targetParam, windowParam } from "../../dashboard/src/request-params.ts";
import { seriesOf, statRowOf, stepsOf } from "../../dashboard/src/series-model.ts";
import { statRows } from "../../cli/src/prom-rows.ts";
import { tapRequestOf } from "../../dashboard/src/tap-relay.ts";
import { traceLinkOf } from "../../dashboard/src/trace-link.ts";
import type { TapEvent } from "../../lib/tap-contract.ts";

const id = (ns: string, sa: string): string => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;
const row = (src: string, dst: string, rps: number, mtls = true, sa = "a"): EdgeRow => ({ src, dst, srcIdentity: src ? id(src.split("/")[0] ?? "", sa) : "", dstIdentity: id(dst.split("/")[0] ?? "x", "b"), rps, mtls });

describe("dashboard: the graph from weft edges' rows", () => {
  it("makes workloads nodes and calls edges, with the rate, the success share and mTLS", () => {
    const g = graphOf("1m", [row("shop/deploy/web", "shop/deploy/api", 10), row("shop/deploy/api", "data/deploy/db", 4, false)], [row("shop/deploy/web", "shop/deploy/api", 9.5), row("shop/deploy/api", "data/deploy/db", 4, false)]);
    assert.deepEqual(g.nodes.map((n) => n.id), ["data/deploy/db", "shop/deploy/api", "shop/deploy/web"]);
    assert.deepEqual(g.edges, [
      { id: "shop/deploy/api->data/deploy/db", source: "shop/deploy/api", target: "data/deploy/db", rps: 4, successRate: 1, mtls: false },
      { id: "shop/deploy/web->shop/deploy/api", source: "shop/deploy/web", target: "shop/deploy/api", rps: 10, successRate: 0.95, mtls: true },
    ]);
    assert.deepEqual(g.namespaces, ["data", "shop"]);
  });

  it("joins two identity pairs between the same workloads into one edge, mTLS only if both were", () => {
    const g = graphOf("1m", [row("a/deploy/x", "b/deploy/y", 1, true, "one"), row("a/deploy/x", "b/deploy/y", 3, false, "two")], []);
    assert.deepEqual(g.edges.map((e) => [e.rps, e.successRate, e.mtls]), [[4, 0, false]]);
  });

  it("names the ends weft edges leaves blank: a plaintext caller, an unscraped callee", () => {
    const g = graphOf("1m", [{ src: "", dst: "shop/deploy/api", srcIdentity: "", dstIdentity: id("shop", "api"), rps: 2, mtls: false }, { src: "shop/deploy/api", dst: "", srcIdentity: id("shop", "api"), dstIdentity: id("ext", "thing"), rps: 1, mtls: true }], []);
    assert.deepEqual(g.nodes.map((n) => n.id), ["/(plaintext)", "ext/(unscraped)", "shop/deploy/api"]);
  });

  it("filters by namespace: an edge stays when either end is in one", () => {
    const rows = [row("a/deploy/x", "b/deploy/y", 1), row("c/deploy/z", "c/deploy/w", 1)];
    assert.deepEqual(graphOf("1m", rows, [], ["b"]).edges.map((e) => e.id), ["a/deploy/x->b/deploy/y"]);
    assert.deepEqual(graphOf("1m", rows, [], ["b"]).namespaces, ["a", "b", "c"], "the filter still offers every namespace");
  });

  it("counts successes with the same matchers as weft stat", () => {
    const q = edgeQueries("1m", true);
    assert.match(q.inbound, /status_class!~"5xx\|error",grpc_status=~"\|0"/);
    assert.doesNotMatch(edgeQueries("1m").inbound, /status_class/);
  });
});

describe("dashboard: chart series from range answers", () => {
  it("puts one value per step, null where Prometheus had none, shares and milliseconds as stat gives them", () => {
    const steps = stepsOf(1000, 60, 30);
    assert.deepEqual(steps, [930, 960, 990]);
    const s = (pairs: [number, string][]) => [{ metric: {}, values: pairs }];
    const v = seriesOf({ requests: s([[930, "10"], [960, "20"]]), success: s([[930, "9"], [960, "21"]]), p50: s([[930, "0.0042"]]), p95: [], p99: s([[960, "NaN"]]) }, steps);
    assert.deepEqual(v, { t: [930, 960, 990], rps: [10, 20, null], successRate: [0.9, 1, null], p50Ms: [4.2, null, null], p95Ms: [null, null, null], p99Ms: [null, null, null] });
  });

  it("takes the target's own row of weft stat's rows, not another pod's of the namespace", () => {
    const sample = (workload: string, v: string) => ({ metric: { namespace: "shop", workload }, value: [0, v] as [number, string] });
    const none = { success: [], tls: [], p50: [], p95: [], p99: [] };
    const rows = statRows({ kind: "deployment", name: "server", namespace: "shop" }, { requests: [sample("deploy/server", "9")], meshed: [sample("deploy/server", "1")], ...none }, [
      { namespace: "shop", pod: "client-1", workload: "deploy/client" },
      { namespace: "shop", pod: "server-1", workload: "deploy/server" },
    ]);
    assert.deepEqual(rows.map((r) => r.name), ["deploy/client", "deploy/server"], "statRows lists the namespace's other workloads too");
    assert.equal(statRowOf({ kind: "deployment", name: "server", namespace: "shop" }, rows)?.rps, 9);
    assert.equal(statRowOf({ kind: "service", name: "server", namespace: "shop" }, rows), null);
  });

  it("reads a matrix answer, and explains an error answer as an instant query's", () => {
    assert.deepEqual(parseRangeAnswer(200, JSON.stringify({ status: "success", data: { resultType: "matrix", result: [{ metric: { a: "b" }, values: [[1, "2"]] }] } }), "p"), [{ metric: { a: "b" }, values: [[1, "2"]] }]);
    assert.throws(() => parseRangeAnswer(400, JSON.stringify({ status: "error", errorType: "bad_data", error: "parse error" }), "p"), /parse error/);
    assert.throws(() => parseRangeAnswer(403, JSON.stringify({ kind: "Status", message: "no" }), "p"), /forbidden: no/);
  });
});

describe("dashboard: API parameters", () => {
  it("takes weft stat's windows and targets, and refuses the rest with a reason", () => {
    assert.deepEqual(windowParam({}, "1m"), { ok: true, value: "1m" });
    assert.equal(windowParam({ window: "1d" }, "1m").ok, false);
    assert.deepEqual(targetParam("shop", "deploy", "web"), { ok: true, value: { kind: "deployment", name: "web", namespace: "shop" } });
    assert.equal(targetParam("shop", "ns", "web").ok, false);
    assert.equal(targetParam("Shop", "deploy", "web").ok, false);
    assert.equal(targetParam("shop", "deploy", "../x").ok, false);
    assert.deepEqual(namespacesParam({ ns: "a,b" }), { ok: true, value: ["a", "b"] });
    assert.equal(namespacesParam({ ns: "a,B!" }).ok, false);
  });

  it("turns a range into about 120 points, 5 s apart at least", () => {
    assert.deepEqual(rangeParam({}), { ok: true, value: { range: 3600, step: 30 } });
    assert.deepEqual(rangeParam({ range: "300" }), { ok: true, value: { range: 300, step: 5 } });
    for (const bad of ["299", "86401", "1.5", "x"]) assert.equal(rangeParam({ range: bad }).ok, false, bad);
  });

  it("builds the tap request weft tap would send for the same filters, asking for the trace headers", () => {
    const q = tapParam({ resource: "deploy/web", namespace: "shop", method: "get", path: "/api", to: "svc/db", maxRps: "10" });
    assert.ok(q.ok);
    const r = tapRequestOf(q.value);
    assert.equal(r.path, "/apis/tap.weft.io/v1alpha1/watch/namespaces/shop/deployments/web/tap");
    assert.deepEqual(r.body, { maxRps: 10, method: "GET", pathPrefix: "/api", to: { kind: "services", name: "db", namespace: "shop" }, headers: ["traceparent", "x-b3-traceid", "b3"] });
    assert.throws(() => tapRequestOf({ resource: "deploy/web", namespace: "shop", path: "no-slash" }), /--path must start with \//);
    assert.equal(tapParam({ resource: "deploy/web" }).ok, false);
    assert.equal(tapParam({ resource: "deploy/web", namespace: "shop", maxRps: "10000" }).ok, false);
  });
});

describe("dashboard: trace links and the pod weft dashboard forwards to", () => {
  const event = (headers: Record<string, string>): TapEvent => ({ ts: 0, direction: "inbound", source: "", destination: "", method: "GET", authority: "", path: "/", grpc: false, status: 200, latencyMs: 1, tls: true, headers });

  it("links a W3C or B3 trace id to Jaeger's trace page, and nothing without one or without Jaeger", () => {
    assert.equal(traceLinkOf(event({ traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }), "http://j:16686"), "http://j:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736");
    assert.equal(traceLinkOf(event({ "x-b3-traceid": "80F198EE56343BA8" }), "http://j"), "http://j/trace/80f198ee56343ba8");
    assert.equal(traceLinkOf(event({ b3: "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1" }), "http://j"), "http://j/trace/80f198ee56343ba864fe8b2a57d3eff7");
    assert.equal(traceLinkOf(event({ traceparent: "garbage" }), "http://j"), "");
    assert.equal(traceLinkOf(event({ "x-b3-traceid": "80f198ee56343ba8" }), ""), "");
  });

  it("forwards to the newest Ready dashboard pod, on its port named http", () => {
    const pod = (name: string, ready: boolean, created: string): V1Pod => ({
      metadata: { name, creationTimestamp: created as unknown as Date },
      spec: { containers: [{ name: "dashboard", ports: [{ name: "http", containerPort: 9000 }] }] },
      status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
    });
    assert.deepEqual(pickDashboardPod([pod("old", true, "2026-01-01T00:00:00Z"), pod("new", true, "2026-02-01T00:00:00Z"), pod("newest", false, "2026-03-01T00:00:00Z")]), { name: "new", port: 9000 });
    assert.equal(pickDashboardPod([pod("starting", false, "2026-01-01T00:00:00Z")]), undefined);
    assert.equal(browserCommand("linux"), "xdg-open");
    assert.equal(browserCommand("darwin"), "open");
  });
});
