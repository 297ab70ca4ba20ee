// The configuration file the Helm chart writes: partial files fill in defaults,
// and a bad field refuses the whole file with the field's path in the reason.
import assert from "node:assert/strict";
import { DEFAULT_INJECTOR_CONFIG, parseInjectorConfig } from "../../webhook/src/injector-config.ts";
import { resolveNativeSidecar, supportsNativeSidecars } from "../../webhook/src/native-sidecar.ts";
import { parsePortList, formatPortList } from "../../webhook/src/port-list.ts";

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
