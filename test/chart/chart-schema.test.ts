// Bad values are refused when the chart is installed or rendered, with a message
// that names the key and the value, before anything reaches the cluster.
import assert from "node:assert/strict";
import { CHART, helm, helmBinary } from "./helm.ts";

function refusal(args: string[]): string {
  const r = helm(["template", "weft", CHART, "-n", "weft-system", ...args]);
  assert.notEqual(r.code, 0, `expected a refusal for ${args.join(" ")}`);
  return r.stderr;
}

describe("chart: values schema", function () {
  this.timeout(120_000);
  before(function () {
    if (helmBinary() === undefined) this.skip();
  });

  it("refuses a CPU quantity that is not one (proxy.resources.cpu=lots)", () => {
    const message = refusal(["--set", "proxy.resources.cpu=lots"]);
    assert.match(message, /\/proxy\/resources\/cpu/);
    assert.match(message, /'lots' does not match/);
  });

  it("refuses a memory limit that is not a quantity", () => {
    assert.match(refusal(["--set", "controlPlane.resources.memoryLimit=512MB"]), /\/controlPlane\/resources\/memoryLimit.*'512MB'/);
  });

  it("refuses an unknown key, naming it", () => {
    assert.match(refusal(["--set", "proxy.cpu=1"]), /\/proxy.*additional properties 'cpu' not allowed/);
    assert.match(refusal(["--set", "webhok.failurePolicy=Fail"]), /additional properties 'webhok' not allowed/);
  });

  it("refuses out-of-range ports and unknown policies", () => {
    assert.match(refusal(["--set", "proxy.ports.admin=70000"]), /\/proxy\/ports\/admin/);
    assert.match(refusal(["--set", "webhook.failurePolicy=Sometimes"]), /\/webhook\/failurePolicy/);
    assert.match(refusal(["--set", "proxy.opaquePorts=mysql"]), /\/proxy\/opaquePorts/);
  });

  it("refuses a sampling ratio outside 0..1 and an unknown protocol or propagation format", () => {
    assert.match(refusal(["--set", "tracing.samplingRatio=2"]), /\/tracing\/samplingRatio': maximum: got 2, want 1/);
    // --set hands decimals over as strings: those are checked by pattern.
    assert.match(refusal(["--set", "tracing.samplingRatio=1.5"]), /\/tracing\/samplingRatio': '1\.5' does not match/);
    assert.match(refusal(["--set", "tracing.samplingRatio=-0.1"]), /\/tracing\/samplingRatio': '-0\.1' does not match/);
    assert.match(refusal(["--set", "tracing.protocol=thrift"]), /\/tracing\/protocol': value must be one of 'grpc', 'http'/);
    assert.match(refusal(["--set", "tracing.propagation={w3c}"]), /\/tracing\/propagation\/0': value must be one of 'tracecontext', 'b3', 'b3multi'/);
    assert.match(refusal(["--set", "tracing.maxQueueSize=0"]), /\/tracing\/maxQueueSize/);
    // A collector without a port would be dialled on port 80.
    assert.match(refusal(["--set", "tracing.endpoint=otel-collector"]), /\/tracing\/endpoint': 'otel-collector' does not match/);
  });

  it("accepts tracing settings as --set gives them", () => {
    for (const set of ["tracing.samplingRatio=0.5", "tracing.samplingRatio=1", "tracing.samplingRatio=0", "tracing.endpoint=http://collector.obs:4318/v1/traces,tracing.protocol=http", "tracing.propagation={tracecontext,b3}"]) {
      const r = helm(["template", "weft", CHART, "--set", `tracing.endpoint=otel-collector.observability:4317,${set}`]);
      assert.equal(r.code, 0, `${set}: ${r.stderr}`);
    }
  });

  it("accepts the defaults and sensible overrides", () => {
    const r = helm(["template", "weft", CHART, "--set", "proxy.resources.cpu=0.5,proxy.resources.memoryLimit=1Gi,webhook.failurePolicy=Fail"]);
    assert.equal(r.code, 0, r.stderr);
  });
});
