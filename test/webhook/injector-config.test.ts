// The configuration file the Helm chart writes: partial files fill in defaults,
// and a bad field refuses the whole file with the field's path in the reason.
import assert from "node:assert/strict";
import { configHash, DEFAULT_INJECTOR_CONFIG, parseInjectorConfig } from "../../webhook/src/injector-config.ts";
import { resolveNativeSidecar, supportsNativeSidecars } from "../../webhook/src/native-sidecar.ts";
import { parsePortList, formatPortList } from "../../lib/port-list.ts";

describe("injector configuration", () => {
  it("fills everything a partial file leaves out with the defaults", () => {
    const parsed = parseInjectorConfig("proxy:\n  image: my/proxy:1\n");
    assert.ok(parsed.ok);
    assert.equal(parsed.value.proxy.image, "my/proxy:1");
    assert.deepStrictEqual(parsed.value.proxy.ports, DEFAULT_INJECTOR_CONFIG.proxy.ports);
    assert.deepStrictEqual(parseInjectorConfig(""), { ok: true, value: DEFAULT_INJECTOR_CONFIG });
  });

  it("reads JSON as well as YAML", () => {
    const parsed = parseInjectorConfig('{"webhook": {"failurePolicy": "Fail", "timeoutSeconds": 3}}');
    assert.ok(parsed.ok);
    assert.deepStrictEqual(parsed.value.webhook, { failurePolicy: "Fail", timeoutSeconds: 3 });
  });

  it("refuses a bad field with its path", () => {
    const cases: [string, RegExp][] = [
      ["proxy:\n  ports:\n    admin: 70000\n", /proxy\.ports\.admin/],
      ["proxy:\n  resources:\n    limits:\n      memory: lots\n", /proxy\.resources\.limits\.memory/],
      ["webhook:\n  failurePolicy: Sometimes\n", /webhook\.failurePolicy/],
      ["init:\n  command: node\n", /init\.command/],
      ["skipInboundPorts: '22,abc'\n", /skipInboundPorts/],
      ["proxy:\n  ports: { inbound: 4140 }\n", /must differ/],
      ["- a list\n", /mapping/],
      ["proxy: [unclosed\n", /not YAML/],
      ["nativeSidecar: maybe\n", /nativeSidecar/],
      ["proxyy:\n  image: x\n", /unknown key "proxyy"/],
      ["proxy:\n  resources:\n    requests: { memory: 1Gi }\n    limits: { memory: 512Mi }\n", /memory request 1Gi exceeds its limit 512Mi/],
      ["proxy:\n  ports: { admn: 1 }\n", /proxy\.ports: unknown key "admn"/],
    ];
    for (const [text, reason] of cases) {
      const parsed = parseInjectorConfig(text);
      assert.equal(parsed.ok, false, text);
      if (!parsed.ok) assert.match(parsed.message, reason, text);
    }
  });

  it("reads tracing settings, defaults filling what the file leaves out", () => {
    const parsed = parseInjectorConfig("tracing:\n  endpoint: otel-collector.observability:4317\n  samplingRatio: 0.25\n");
    assert.ok(parsed.ok, parsed.ok ? "" : parsed.message);
    assert.deepStrictEqual(parsed.value.tracing, {
      endpoint: "otel-collector.observability:4317",
      protocol: "grpc",
      samplingRatio: 0.25,
      propagation: ["tracecontext", "b3multi"],
      maxQueueSize: 2048,
    });
    const comma = parseInjectorConfig("tracing: { endpoint: 'http://c:4318', protocol: http, propagation: 'b3, tracecontext,b3' }\n");
    assert.ok(comma.ok, comma.ok ? "" : comma.message);
    assert.deepStrictEqual(comma.value.tracing?.propagation, ["b3", "tracecontext"]);
  });

  it("leaves tracing out when no endpoint is set, so the config hash stays as before tracing existed", () => {
    for (const text of ["tracing:\n  endpoint: ''\n  samplingRatio: 0.5\n", "tracing: {}\n", "tracing:\n  endpoint: '  '\n"]) {
      const parsed = parseInjectorConfig(text);
      assert.ok(parsed.ok, parsed.ok ? "" : parsed.message);
      assert.equal(parsed.value.tracing, undefined, text);
      assert.equal(configHash(parsed.value), configHash(DEFAULT_INJECTOR_CONFIG), text);
    }
    const on = parseInjectorConfig("tracing: { endpoint: c:4317 }\n");
    assert.ok(on.ok);
    assert.notEqual(configHash(on.value), configHash(DEFAULT_INJECTOR_CONFIG));
  });

  it("refuses bad tracing settings with their path, even while tracing is off", () => {
    const cases: [string, RegExp][] = [
      ["tracing: { samplingRatio: 2 }\n", /tracing\.samplingRatio: expected a number from 0 to 1, got 2/],
      ["tracing: { samplingRatio: '0.5' }\n", /tracing\.samplingRatio/],
      ["tracing: { protocol: thrift }\n", /tracing\.protocol: expected one of grpc, http, got "thrift"/],
      ["tracing: { propagation: [w3c] }\n", /tracing\.propagation: expected a non-empty list of tracecontext, b3, b3multi/],
      ["tracing: { propagation: [] }\n", /tracing\.propagation/],
      ["tracing: { maxQueueSize: 0 }\n", /tracing\.maxQueueSize/],
      ["tracing: { maxQueueSize: 10.5 }\n", /tracing\.maxQueueSize/],
      ["tracing: { endpoint: 4317 }\n", /tracing\.endpoint: expected a string/],
      ["tracing: { sampling: 0.1 }\n", /tracing: unknown key "sampling"/],
      ["tracing: { endpoint: 'ftp://collector:21' }\n", /tracing: endpoint scheme must be http or https/],
      ["tracing: { endpoint: 'http://[not-a-host' }\n", /tracing: endpoint is not a URL or host:port/],
      ["tracing: on\n", /tracing: expected a mapping/],
    ];
    for (const [text, reason] of cases) {
      const parsed = parseInjectorConfig(text);
      assert.equal(parsed.ok, false, text);
      if (!parsed.ok) assert.match(parsed.message, reason, text);
    }
  });

  it("resolves nativeSidecar auto from the apiserver's version", () => {
    assert.equal(supportsNativeSidecars({ major: "1", minor: "28" }), false);
    assert.equal(supportsNativeSidecars({ major: "1", minor: "29+" }), true);
    assert.equal(supportsNativeSidecars(undefined), true);
    assert.equal(resolveNativeSidecar(DEFAULT_INJECTOR_CONFIG, { major: "1", minor: "27" }).nativeSidecar, "off");
    assert.equal(resolveNativeSidecar({ ...DEFAULT_INJECTOR_CONFIG, nativeSidecar: "on" }, { major: "1", minor: "27" }).nativeSidecar, "on");
  });

  it("parses and merges port lists", () => {
    const parsed = parsePortList(" 80, 8000-8010,8005,22 ");
    assert.ok(parsed.ok);
    assert.equal(formatPortList(parsed.value), "22,80,8000-8010");
    assert.equal(parsePortList("0").ok, false);
    assert.equal(parsePortList("9-1").ok, false);
    assert.equal(parsePortList("1-2000").ok, false);
    assert.equal(parsePortList("1-2-3").ok, false);
  });
});
