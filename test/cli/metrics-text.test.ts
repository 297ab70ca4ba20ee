import assert from "node:assert/strict";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { metricSum, parseMetricsText, parseSampleLine } from "../../cli/src/metrics-text.ts";

describe("reading Prometheus text", () => {
  it("reads samples with labels, escaped values and timestamps, skipping comments", () => {
    const samples = parseMetricsText([
      "# HELP weft_proxy_snapshot_info 1, labelled",
      "# TYPE weft_proxy_snapshot_info gauge",
      'weft_proxy_snapshot_info{version="k1.4",note="a \\"quoted\\" \\\\ one\\nand a line"} 1',
      "weft_discovery_streams 3 1700000000000",
      "",
    ].join("\n"));
    assert.deepEqual(samples, [
      { name: "weft_proxy_snapshot_info", labels: { version: "k1.4", note: 'a "quoted" \\ one\nand a line' }, value: 1 },
      { name: "weft_discovery_streams", labels: {}, value: 3, timestampMs: 1700000000000 },
    ]);
  });

  it("reads the format's special values, exponents and negative timestamps", () => {
    const values = parseMetricsText('a +Inf\nb -Inf\nc NaN\nd 1.458255915e9\ne -0.5\nf{problem="division by zero"} +Inf -3982045\ng .5\n');
    assert.deepEqual(values.map((s) => s.value), [Infinity, -Infinity, NaN, 1.458255915e9, -0.5, Infinity, 0.5]);
    assert.equal(values[5]?.timestampMs, -3982045);
  });

  it("reads blanks between tokens, a trailing comma and an empty label set", () => {
    assert.deepEqual(parseSampleLine('x { a = "1" ,\tb="2", }   7'), { ok: true, value: { name: "x", labels: { a: "1", b: "2" }, value: 7 } });
    assert.deepEqual(parseSampleLine("x{} 7"), { ok: true, value: { name: "x", labels: {}, value: 7 } });
    assert.deepEqual(parseSampleLine('x{le="}"} 7'), { ok: true, value: { name: "x", labels: { le: "}" }, value: 7 } });
  });

  it("keeps a label named __proto__ as a label", () => {
    const line = parseSampleLine('x{__proto__="polluted"} 1');
    assert.ok(line.ok);
    assert.equal(Object.getOwnPropertyDescriptor(line.value.labels, "__proto__")?.value, "polluted");
    assert.equal(Object.getPrototypeOf(line.value.labels), Object.prototype);
  });

  it("refuses each malformed line with its reason", () => {
    const cases: [string, string][] = [
      ["1x 2", "bad-metric-name"],
      ['x{a="1} 2', "bad-label-value"],
      ['x{a="\\t"} 2', "bad-label-value"],
      ['x{a=1} 2', "bad-label-value"],
      ['x{1a="1"} 2', "bad-label-name"],
      ['x{a "1"} 2', "bad-label"],
      ['x{a="1" b="2"} 2', "bad-label"],
      ['x{a="1",a="2"} 2', "duplicate-label"],
      ["x notanumber", "bad-value"],
      ["x 0x10", "bad-value"],
      ["x", "bad-value"],
      ["x 1 1.5", "bad-timestamp"],
      ["x 1 2 3", "trailing-text"],
    ];
    for (const [line, code] of cases) {
      const result = parseSampleLine(line);
      assert.equal(result.ok ? "ok" : result.code, code, line);
    }
  });

  it("skips lines it cannot read instead of throwing, and sums a metric's series", () => {
    const samples = parseMetricsText('garbage here now\nx{unterminated="1} 2\ny{a="1"} notanumber\nweft_discovery_streams{replica="a"} 2\r\nweft_discovery_streams{replica="b"} 1\n\u0000\n');
    assert.deepEqual(samples.map((s) => s.name), ["weft_discovery_streams", "weft_discovery_streams"]);
    assert.equal(metricSum(samples, "weft_discovery_streams"), 3);
    assert.equal(metricSum(samples, "weft_discovery_streams_behind"), undefined);
    assert.deepEqual(parseMetricsText(""), []);
  });

  it("reads back everything prom-client writes: counters, gauges and histograms", async () => {
    const registry = new Registry();
    new Counter({ name: "t_requests_total", help: "h", labelNames: ["path"], registers: [registry] }).inc({ path: 'a\\b"c\nd' }, 3);
    new Gauge({ name: "t_ratio", help: "h", registers: [registry] }).set(NaN);
    const histogram = new Histogram({ name: "t_seconds", help: "h", buckets: [0.1, 1], registers: [registry] });
    histogram.observe(0.5);
    histogram.observe(5);
    const samples = parseMetricsText(await registry.metrics());
    assert.deepEqual(samples.find((s) => s.name === "t_requests_total"), { name: "t_requests_total", labels: { path: 'a\\b"c\nd' }, value: 3 });
    assert.ok(Number.isNaN(samples.find((s) => s.name === "t_ratio")?.value));
    const buckets = samples.filter((s) => s.name === "t_seconds_bucket").map((s) => [s.labels.le, s.value]);
    assert.deepEqual(buckets, [["0.1", 0], ["1", 1], ["+Inf", 2]]);
    assert.equal(metricSum(samples, "t_seconds_sum"), 5.5);
    assert.equal(metricSum(samples, "t_seconds_count"), 2);
  });
});
