import assert from "node:assert/strict";
import { applyScript, captureRules, defaultCaptureOptions, parsePortList, removeScript, validateCaptureOptions, type CaptureOptions } from "../../sidecar/src/capture/rules.ts";
import { parseCaptureFlags } from "../../sidecar/src/capture/flags.ts";

const options = (over: Partial<CaptureOptions> = {}): CaptureOptions => ({ ...defaultCaptureOptions(), ...over });

describe("capture rules", () => {
  it("redirects inbound TCP to the inbound port except the admin port, the proxy's own ports and excluded ports", () => {
    const rules = captureRules(options({ excludeInboundPorts: [22, 9000] }));
    assert.ok(rules.includes("-A WEFT_IN_REDIRECT -p tcp -j REDIRECT --to-ports 4143"));
    assert.ok(rules.includes("-A WEFT_INBOUND -p tcp -m multiport --dports 22,4140,4143,4191,9000 -j RETURN"));
    assert.equal(rules.at(-4), "-A WEFT_OUTPUT -p tcp -j WEFT_OUT_REDIRECT");
    const returnIdx = rules.indexOf("-A WEFT_INBOUND -p tcp -m multiport --dports 22,4140,4143,4191,9000 -j RETURN");
    assert.ok(returnIdx < rules.indexOf("-A WEFT_INBOUND -p tcp -j WEFT_IN_REDIRECT"), "exclusions come before the redirect");
  });

  it("exempts the proxy's UID, lets the app reach itself over lo, and skips excluded outbound ports before redirecting", () => {
    const rules = captureRules(options({ proxyUid: 1337, excludeOutboundPorts: [5432] }));
    const out = rules.filter((l) => l.startsWith("-A WEFT_OUTPUT"));
    assert.deepEqual(out.slice(1), [
      "-A WEFT_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp -m owner --uid-owner 1337 -j WEFT_IN_REDIRECT",
      "-A WEFT_OUTPUT -m owner --uid-owner 1337 -j RETURN",
      "-A WEFT_OUTPUT -o lo -j RETURN",
      "-A WEFT_OUTPUT -p tcp -m multiport --dports 5432 -j RETURN",
      "-A WEFT_OUTPUT -p tcp -j WEFT_OUT_REDIRECT",
    ]);
  });

  it("splits long port lists into groups of 15 (the multiport limit)", () => {
    const rules = captureRules(options({ excludeOutboundPorts: Array.from({ length: 20 }, (_, i) => 10_000 + i) }));
    const groups = rules.filter((l) => l.startsWith("-A WEFT_OUTPUT -p tcp -m multiport"));
    assert.equal(groups.length, 2);
    assert.equal(groups[0]?.split("--dports ")[1]?.split(" ")[0]?.split(",").length, 15);
  });

  it("uses ::1 for IPv6", () => {
    assert.ok(captureRules(options({ family: "ipv6" })).some((l) => l.includes("! -d ::1/128")));
  });

  it("deletes jumps already installed before adding them again, so applying twice never doubles them", () => {
    const installed = captureRules(options()).join("\n");
    const script = applyScript(options(), installed).split("\n");
    assert.deepEqual(script.filter((l) => l.startsWith("-D ")), [
      "-D PREROUTING -p tcp -m comment --comment weft -j WEFT_INBOUND",
      "-D OUTPUT -p tcp -m comment --comment weft -j WEFT_OUTPUT",
    ]);
    assert.equal(script.filter((l) => l.startsWith("-A PREROUTING")).length, 1);
    assert.deepEqual(applyScript(options(), "*nat\nCOMMIT\n").split("\n").filter((l) => l.startsWith("-D ")), []);
  });

  it("removes only our jumps and chains, and nothing when nothing is installed", () => {
    const save = ["*filter", "-A OUTPUT -j WEFT_OUTPUT", "COMMIT", "*nat", ":WEFT_OUTPUT - [0:0]", "-A OUTPUT -p tcp --dport 1 -j RETURN", "-A OUTPUT -p tcp -m comment --comment weft -j WEFT_OUTPUT", "COMMIT"].join("\n");
    assert.equal(removeScript(save), "*nat\n-D OUTPUT -p tcp -m comment --comment weft -j WEFT_OUTPUT\n-F WEFT_OUTPUT\n-X WEFT_OUTPUT\nCOMMIT\n");
    assert.equal(removeScript("*nat\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"), null);
  });
});

describe("capture flags", () => {
  it("parses ports, ranges and lists", () => {
    assert.deepEqual(parsePortList("22, 8000-8002,22"), { ok: true, value: [22, 8000, 8001, 8002] });
    assert.deepEqual(parsePortList(""), { ok: true, value: [] });
    for (const bad of ["x", "0", "70000", "9-3", "1-5000"]) assert.equal(parsePortList(bad).ok, false, bad);
  });

  it("reads every flag into one validated set of options, with defaults from the proxy contract", () => {
    const r = parseCaptureFlags(["--inbound-port", "15006", "--outbound-port", "15001", "--proxy-uid", "1337", "--exclude-inbound-ports", "22", "--exclude-outbound-ports", "5432,6379", "--remove", "--dry-run"]);
    assert.ok(r.ok);
    assert.deepEqual(r.value, {
      options: { inboundPort: 15006, outboundPort: 15001, adminPort: 4191, proxyUid: 1337, excludeInboundPorts: [22], excludeOutboundPorts: [5432, 6379], family: "ipv4" },
      remove: true,
      dryRun: true,
    });
  });

  it("turns bad flags into failures, never throws", () => {
    for (const argv of [["--bogus"], ["--inbound-port", "abc"], ["--inbound-port", "0"], ["--inbound-port", "5", "--outbound-port", "5"], ["--proxy-uid", "-1"]]) {
      const r = parseCaptureFlags(argv);
      assert.equal(r.ok, false, argv.join(" "));
    }
    assert.equal(validateCaptureOptions(options({ adminPort: 70000 })).ok, false);
  });
});
