import { strict as assert } from "node:assert";
import { Counter, Histogram, Registry } from "prom-client";
import { createMetrics, recordRequest } from "../../sidecar/src/admin/metrics.ts";

const CLIENT = "spiffe://cluster.local/ns/shop/sa/web";
const SERVER = "spiffe://cluster.local/ns/shop/sa/cart";
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Req { direction: string; service: string; status: string; grpc?: number; seconds: number; route?: string; src?: string; dst?: string; tls?: boolean }

/** The same requests through prom-client's own Counter and Histogram: what the proxy's text must equal. */
async function reference(requests: Req[]): Promise<string> {
  const registry = new Registry();
  const registers = [registry];
  const counter = new Counter({ name: "weft_proxy_requests_total", help: "HTTP requests completed, by direction, peer Service, status class, gRPC status, route, both identities and mTLS", labelNames: ["direction", "peer_service", "status_class", "grpc_status", "route", "src_namespace", "src_service_account", "dst_namespace", "dst_service_account", "tls"], registers });
  const histogram = new Histogram({ name: "weft_proxy_request_duration_seconds", help: "Time from request headers to the end of the response, retries included", labelNames: ["direction", "peer_service", "route", "src_namespace", "src_service_account", "dst_namespace", "dst_service_account", "tls"], buckets: BUCKETS, registers });
  const parts = (id: string | undefined) => (id ? id.split("/").filter((_, i, a) => i === a.length - 3 || i === a.length - 1) : ["", ""]);
  for (const r of requests) {
    const [srcNs, srcSa] = parts(r.src);
    const [dstNs, dstSa] = parts(r.dst);
    const identities = { src_namespace: srcNs ?? "", src_service_account: srcSa ?? "", dst_namespace: dstNs ?? "", dst_service_account: dstSa ?? "", tls: r.tls ? "true" : "false" };
    // prom-client prints labels in the order of the object it was given: the proxy's is the labelNames order.
    counter.inc({ direction: r.direction, peer_service: r.service, status_class: r.status, grpc_status: r.grpc === undefined ? "" : String(r.grpc), route: r.route ?? "", ...identities });
    histogram.observe({ direction: r.direction, peer_service: r.service, route: r.route ?? "", ...identities }, r.seconds);
  }
  return registry.metrics();
}

const REQUESTS: Req[] = [
  { direction: "outbound", service: "shop/cart", status: "2xx", seconds: 0.0004, src: CLIENT, dst: SERVER, tls: true },
  { direction: "outbound", service: "shop/cart", status: "2xx", seconds: 0.003, src: CLIENT, dst: SERVER, tls: true },
  { direction: "outbound", service: "shop/cart", status: "5xx", seconds: 0.5, src: CLIENT, dst: SERVER, tls: true },
  { direction: "outbound", service: "shop/cart", status: "2xx", grpc: 14, seconds: 12, route: "shop/canary", src: CLIENT, dst: SERVER, tls: true },
  { direction: "inbound", service: "", status: "2xx", seconds: 0.001, src: CLIENT, dst: SERVER, tls: true },
  { direction: "inbound", service: "", status: "4xx", seconds: 0.0100001 },
];

function record(metrics: ReturnType<typeof createMetrics>, requests: Req[]): void {
  for (const r of requests) recordRequest(metrics, r.direction, r.service, r.status, r.grpc, r.seconds, r.route, r.src, r.dst, r.tls);
}

/** The lines of one family (HELP, TYPE and samples) from a text exposition. */
function family(text: string, name: string): string[] {
  return text.split("\n").filter((line) => line.startsWith(name) || line.startsWith(`# HELP ${name} `) || line.startsWith(`# TYPE ${name} `));
}

describe("the proxy's per-request metrics, counted outside prom-client", () => {
  it("render exactly the text prom-client's own Counter and Histogram give for the same requests", async () => {
    const metrics = createMetrics();
    record(metrics, REQUESTS);
    const text = await metrics.registry.metrics();
    const expected = await reference(REQUESTS);
    for (const name of ["weft_proxy_requests_total", "weft_proxy_request_duration_seconds"]) {
      assert.deepEqual(family(text, name), family(expected, name), name);
    }
    assert.ok(family(text, "weft_proxy_request_duration_seconds_bucket").length > 0);
  });

  it("add each request to the counter once, however often the registry is read", async () => {
    const metrics = createMetrics();
    record(metrics, REQUESTS);
    await metrics.registry.metrics();
    await metrics.registry.getMetricsAsJSON();
    record(metrics, REQUESTS.slice(0, 2));
    const text = await metrics.registry.metrics();
    const expected = await reference([...REQUESTS, ...REQUESTS.slice(0, 2)]);
    assert.deepEqual(family(text, "weft_proxy_requests_total"), family(expected, "weft_proxy_requests_total"));
    assert.deepEqual(family(text, "weft_proxy_request_duration_seconds"), family(expected, "weft_proxy_request_duration_seconds"));
  });

  it("answer get() with the series' labels merged, as prom-client's histogram does", async () => {
    const metrics = createMetrics();
    record(metrics, REQUESTS.slice(0, 1));
    const got = await metrics.requestSeconds.get();
    assert.equal(got.name, "weft_proxy_request_duration_seconds");
    const first = got.values[0];
    assert.deepEqual(first?.labels, { le: 0.0005, direction: "outbound", peer_service: "shop/cart", route: "", src_namespace: "shop", src_service_account: "web", dst_namespace: "shop", dst_service_account: "cart", tls: "true" });
    assert.equal(first?.value, 1);
    const counts = (await metrics.requests.get()).values;
    assert.deepEqual(counts.map((v) => [v.labels.status_class, v.value]), [["2xx", 1]]);
  });

  it("refuse observe() on the duration family, so that no observation is lost unseen", () => {
    assert.throws(() => createMetrics().requestSeconds.observe(0.001), /recorded through its RequestSeriesTable/);
  });
});
