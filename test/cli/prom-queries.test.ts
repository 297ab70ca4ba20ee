// The pure cores of `weft stat`, `weft top` and `weft edges`: targets and peers as the user
// types them, the PromQL built from them (and docs/metrics.md showing exactly that PromQL),
// a pod's workload as the chart's relabeling names it, and answers into rows.
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseAnswer, workloadOfPod } from "../../cli/src/prom-access.ts";
import { edgeQueries, parsePeer, parseTarget, parseWindow, statQueries, topQueries } from "../../cli/src/prom-queries.ts";
import { edgeRows, statRows, vectorOf, type PromSample } from "../../cli/src/prom-rows.ts";

const METRICS_MD = fileURLToPath(new URL("../../docs/metrics.md", import.meta.url));
const sample = (metric: Record<string, string>, value: number | string): PromSample => ({ metric, value: [0, String(value)] });

describe("weft stat/top/edges: queries and rows", () => {
  it("parses targets as kubectl users name them", () => {
    assert.deepEqual(parseTarget("deploy/web", "shop"), { ok: true, value: { kind: "deployment", name: "web", namespace: "shop" } });
    assert.deepEqual(parseTarget("deploy", "shop"), { ok: true, value: { kind: "deployment", namespace: "shop" } });
    assert.deepEqual(parseTarget("deploy", undefined), { ok: true, value: { kind: "deployment", namespace: undefined } });
    assert.deepEqual(parseTarget("ns/shop", "default"), { ok: true, value: { kind: "namespace", name: "shop", namespace: "shop" } });
    assert.deepEqual(parseTarget("svc/web", "shop"), { ok: true, value: { kind: "service", name: "web", namespace: "shop" } });
    assert.equal(parseTarget("cronjob/x", "shop").ok, false);
    assert.equal(parseTarget("deploy/Bad_Name", "shop").ok, false);
    assert.deepEqual(parsePeer("sa/frontend", "shop"), { ok: true, value: { kind: "identity", namespace: "shop", serviceAccount: "frontend" } });
    assert.deepEqual(parsePeer("ns/other", "shop"), { ok: true, value: { kind: "identity", namespace: "other" } });
    assert.deepEqual(parsePeer("deploy/x", "shop"), { ok: true, value: { kind: "deployment", namespace: "shop", name: "x" } });
    assert.equal(parsePeer("pod/x", "shop").ok, false);
    assert.equal(parseWindow("1m").ok, true);
    assert.equal(parseWindow("1 minute").ok, false);
  });

  it("escapes what it puts in a matcher", () => {
    const q = statQueries({ kind: "pod", name: "a", namespace: 'x"y' }, "1m").requests;
    assert.ok(q.includes('namespace="x\\"y"'), q);
  });

  it("docs/metrics.md shows the PromQL the commands run", () => {
    const doc = readFileSync(METRICS_MD, "utf8");
    const t = { kind: "deployment", namespace: "shop" } as const;
    const shown = [
      ...Object.entries(statQueries(t, "1m")).filter(([k]) => k !== "p95" && k !== "p99").map(([, q]) => q),
      statQueries({ kind: "deployment", namespace: "shop", name: "web" }, "1m", { kind: "identity", namespace: "shop", serviceAccount: "frontend" }).requests,
      statQueries(t, "1m", undefined, { kind: "service", namespace: "shop", name: "payments" }).requests,
      statQueries({ kind: "service", namespace: "shop", name: "web" }, "1m").requests,
      ...Object.values(topQueries({ kind: "namespace", name: "shop", namespace: "shop" }, "1m", 10)),
      ...Object.values(edgeQueries("1m")),
    ];
    for (const q of shown) assert.ok(doc.includes(`\n${q}\n`), `docs/metrics.md lacks ${q}`);
  });

  it("names a pod's workload as the chart's relabeling does", () => {
    assert.equal(workloadOfPod({ kind: "ReplicaSet", name: "web-v2-6d9c8f5b7" }, "6d9c8f5b7"), "deploy/web-v2");
    assert.equal(workloadOfPod({ kind: "ReplicaSet", name: "web-6d9c8f5b7" }, undefined), "deploy/web");
    assert.equal(workloadOfPod({ kind: "StatefulSet", name: "db" }, undefined), "");
    assert.equal(workloadOfPod(undefined, undefined), "");
  });

  it("stat rows: shares of the request rate, meshed against total pods, a pod without traffic", () => {
    const t = { kind: "deployment", namespace: "shop" } as const;
    const web = { namespace: "shop", workload: "deploy/web" };
    const rows = statRows(
      t,
      {
        requests: [sample(web, 10)],
        success: [sample(web, 9)],
        tls: [sample(web, 10)],
        p50: [sample(web, 0.002)],
        p95: [sample(web, "NaN")],
        p99: [],
        meshed: [sample(web, 2)],
      },
      [
        { namespace: "shop", pod: "web-1", workload: "deploy/web" },
        { namespace: "shop", pod: "web-2", workload: "deploy/web" },
        { namespace: "shop", pod: "db-1", workload: "deploy/db" },
        { namespace: "shop", pod: "job-1", workload: "" },
      ],
    );
    assert.deepEqual(rows, [
      { namespace: "shop", name: "deploy/db", meshedPods: 0, totalPods: 1, rps: 0, successRate: null, latencyMs: { p50: null, p95: null, p99: null }, tlsShare: null },
      { namespace: "shop", name: "deploy/web", meshedPods: 2, totalPods: 2, rps: 10, successRate: 0.9, latencyMs: { p50: 2, p95: null, p99: null }, tlsShare: 1 },
    ]);
  });

  it("edges: joins the callee's and the caller's sides on the identity pair; a plaintext caller has no identity", () => {
    const ids = { src_namespace: "shop", src_service_account: "web", dst_namespace: "shop", dst_service_account: "api", tls: "true" };
    const rows = edgeRows(
      { kind: "deployment", namespace: "shop", name: "api" },
      {
        inbound: [sample({ namespace: "shop", workload: "deploy/api", ...ids }, 5), sample({ namespace: "shop", workload: "deploy/api", src_namespace: "", src_service_account: "", dst_namespace: "shop", dst_service_account: "api", tls: "false" }, 1)],
        outbound: [sample({ namespace: "shop", workload: "deploy/web", ...ids }, 5)],
      },
      "cluster.local",
    );
    assert.deepEqual(rows, [
      { src: "", dst: "shop/deploy/api", srcIdentity: "", dstIdentity: "spiffe://cluster.local/ns/shop/sa/api", rps: 1, mtls: false },
      { src: "shop/deploy/web", dst: "shop/deploy/api", srcIdentity: "spiffe://cluster.local/ns/shop/sa/web", dstIdentity: "spiffe://cluster.local/ns/shop/sa/api", rps: 5, mtls: true },
    ]);
  });

  it("reports Prometheus's own error", () => {
    assert.throws(() => vectorOf({ status: "error", errorType: "bad_data", error: "parse error" }), /bad_data parse error/);
  });
});

describe("weft stat/top/edges: Prometheus's answer or why there is none", () => {
  it("reads a vector, and says what the apiserver or Prometheus refused", () => {
    const ok = JSON.stringify({ status: "success", data: { resultType: "vector", result: [{ metric: { a: "b" }, value: [1, "2"] }] } });
    assert.deepEqual(parseAnswer(200, ok, "svc"), [{ metric: { a: "b" }, value: [1, "2"] }]);
    const forbidden = JSON.stringify({ kind: "Status", status: "Failure", code: 403, message: 'services "weft-prometheus:9090" is forbidden: User "bob" cannot get resource "services/proxy"' });
    assert.throws(() => parseAnswer(403, forbidden, "service weft-system/weft-prometheus:9090"), /^Error: forbidden: services "weft-prometheus:9090" is forbidden: User "bob" cannot get resource "services\/proxy" \(reading service weft-system\/weft-prometheus:9090 needs get services\/proxy/);
    assert.throws(() => parseAnswer(404, JSON.stringify({ kind: "Status", status: "Failure", message: 'services "weft-prometheus" not found' }), "svc"), /no Prometheus at svc .*prometheus.enabled=true/);
    assert.throws(() => parseAnswer(400, JSON.stringify({ status: "error", errorType: "bad_data", error: "parse error" }), "svc"), /refused the query: bad_data parse error/);
    assert.throws(() => parseAnswer(502, "bad gateway", "svc"), /svc answered 502: bad gateway/);
  });
});
