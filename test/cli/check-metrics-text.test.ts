import assert from "node:assert/strict";
import { metricSum, parseMetricsText } from "../../cli/src/check-metrics-text.ts";

describe("weft check: reading Prometheus text", () => {
  it("reads samples with labels, escaped values and timestamps, skipping comments", () => {
    const samples = parseMetricsText([
      "# HELP weft_proxy_snapshot_info 1, labelled",
      "# TYPE weft_proxy_snapshot_info gauge",
      'weft_proxy_snapshot_info{version="k1.4",note="a \\"quoted\\" \\\\ one"} 1',
      "weft_discovery_streams 3 1700000000000",
      "",
    ].join("\n"));
    assert.deepEqual(samples, [
      { name: "weft_proxy_snapshot_info", labels: { version: "k1.4", note: 'a "quoted" \\ one' }, value: 1 },
      { name: "weft_discovery_streams", labels: {}, value: 3 },
    ]);
  });

  it("skips lines it cannot read instead of throwing, and sums a metric's series", () => {
    const samples = parseMetricsText('garbage here now\nx{unterminated="1} 2\ny{a="1"} notanumber\nweft_discovery_streams{replica="a"} 2\nweft_discovery_streams{replica="b"} 1\n\u0000\n');
    assert.deepEqual(samples.map((s) => s.name), ["weft_discovery_streams", "weft_discovery_streams"]);
    assert.equal(metricSum(samples, "weft_discovery_streams"), 3);
    assert.equal(metricSum(samples, "weft_discovery_streams_behind"), undefined);
    assert.deepEqual(parseMetricsText(""), []);
  });
});
