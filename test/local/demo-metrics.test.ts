import assert from "node:assert/strict";
import { edgeCounters, percentileMs, subtract } from "../../cli/src/demo-metrics.ts";
import { parseMetricsText } from "../../cli/src/metrics-text.ts";

const TEXT = `# HELP weft_proxy_requests_total x
weft_proxy_requests_total{direction="outbound",peer_service="demo/catalog",status_class="2xx",grpc_status=""} 90
weft_proxy_requests_total{direction="outbound",peer_service="demo/catalog",status_class="5xx",grpc_status=""} 10
weft_proxy_requests_total{direction="outbound",peer_service="demo/prices",status_class="2xx",grpc_status="14"} 5
weft_proxy_retries_total{peer_service="demo/catalog",reason="503"} 7
weft_proxy_request_duration_seconds_bucket{direction="outbound",peer_service="demo/catalog",le="0.01"} 50
weft_proxy_request_duration_seconds_bucket{direction="outbound",peer_service="demo/catalog",le="0.1"} 100
weft_proxy_request_duration_seconds_bucket{direction="outbound",peer_service="demo/catalog",le="+Inf"} 100
`;

describe("demo view: per-edge figures from the sidecars' metrics", () => {
  it("counts requests, successes (gRPC errors are failures) and retries per peer service", () => {
    const samples = parseMetricsText(TEXT);
    const catalog = edgeCounters(samples, "demo/catalog");
    assert.deepEqual([catalog.requests, catalog.successes, catalog.retries], [100, 90, 7]);
    const prices = edgeCounters(samples, "demo/prices");
    assert.deepEqual([prices.requests, prices.successes], [5, 0]);
  });

  it("interpolates percentiles inside histogram buckets and subtracts scrapes", () => {
    const c = edgeCounters(parseMetricsText(TEXT), "demo/catalog");
    assert.equal(percentileMs(c.buckets, 0.5), 10);
    assert.ok(Math.abs(percentileMs(c.buckets, 0.75)! - 55) < 1e-9);
    assert.equal(percentileMs(new Map(), 0.5), undefined);
    const d = subtract(c, c);
    assert.equal(d.requests, 0);
    assert.equal(percentileMs(d.buckets, 0.99), undefined);
  });
});
