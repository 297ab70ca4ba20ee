import assert from "node:assert/strict";
import type { Result } from "../../lib/result.ts";
import { PROXY_FLAGS, USAGE, loadConfig, type ControlPlaneMode, type ProxyConfig } from "../../sidecar/src/proxy-config.ts";

type Env = Record<string, string | undefined>;

const STATIC = ["--static-snapshot", "s.json", "--cert", "c.pem", "--key", "k.pem", "--trust-anchors", "a.pem"];

/** What the injector sets for control-plane mode (webhook/src/proxy-spec.ts), minus the optional parts. */
const INJECTED: Env = {
  WEFT_POD_NAME: "web-1",
  WEFT_POD_NAMESPACE: "shop",
  WEFT_SERVICE_ACCOUNT: "web",
  WEFT_NODE_NAME: "node-1",
  WEFT_ZONE: "zone-a",
  WEFT_CONTROL_PLANE_ADDRESS: "weft-control-plane.weft-system.svc:8086",
  WEFT_DISCOVERY_ADDRESS: "weft-control-plane.weft-system.svc:8087",
  WEFT_TRUST_DOMAIN: "cluster.local",
  WEFT_IDENTITY_TOKEN_FILE: "/var/run/secrets/weft.io/identity/token",
  WEFT_TRUST_ANCHORS_PEM: "-----BEGIN CERTIFICATE-----",
};

function loaded(argv: string[], env: Env = {}): ProxyConfig {
  const r = loadConfig(argv, env);
  assert.ok(r.ok, r.ok ? "" : `${r.code}: ${r.message}`);
  return r.value;
}

function controlPlane(argv: string[], env: Env): ControlPlaneMode {
  const { mode } = loaded(argv, env);
  assert.ok(mode.kind === "control-plane", mode.kind);
  return mode;
}

/** The failure's code and message; fails the test if the config was accepted. */
function refused(argv: string[], env: Env = {}): { code: string; message: string } {
  let r: Result<ProxyConfig> | undefined;
  assert.doesNotThrow(() => (r = loadConfig(argv, env)), "bad config is a value, never a throw");
  assert.ok(r && !r.ok, `accepted ${JSON.stringify(argv)} ${JSON.stringify(env)}`);
  return { code: r.code, message: r.message };
}

describe("proxy configuration: modes", () => {
  it("static mode reads its four files from flags", () => {
    assert.deepEqual(loaded(STATIC).mode, { kind: "static", snapshotFile: "s.json", certFile: "c.pem", keyFile: "k.pem", trustAnchorsFile: "a.pem" });
  });

  it("static mode takes the anchors file from WEFT_TRUST_ANCHORS_FILE too, and wins over a control plane in the environment", () => {
    const c = loaded(STATIC.slice(0, 6), { WEFT_TRUST_ANCHORS_FILE: "env-anchors.pem", WEFT_CONTROL_PLANE_ADDRESS: "cp:8086" });
    assert.equal(c.mode.kind, "static");
    assert.equal(c.mode.kind === "static" && c.mode.trustAnchorsFile, "env-anchors.pem");
  });

  it("static mode without its certificate, key or anchors is refused", () => {
    for (const drop of ["--cert", "--key", "--trust-anchors"]) {
      const i = STATIC.indexOf(drop);
      const argv = [...STATIC.slice(0, i), ...STATIC.slice(i + 2)];
      assert.match(refused(argv).message, /--static-snapshot needs --cert, --key and --trust-anchors/, drop);
    }
  });

  it("refuses a command line that names neither mode", () => {
    assert.deepEqual(refused([]), { code: "bad-config", message: "either --static-snapshot or --control-plane is required" });
  });

  it("control-plane mode reads everything the injector sets", () => {
    const c = loaded([], INJECTED);
    assert.deepEqual(c.mode, {
      kind: "control-plane",
      address: "weft-control-plane.weft-system.svc:8086",
      discoveryAddress: "weft-control-plane.weft-system.svc:8087",
      serverIdentity: undefined,
      identityTokenFile: "/var/run/secrets/weft.io/identity/token",
      trustAnchors: { pem: "-----BEGIN CERTIFICATE-----" },
      identity: { trustDomain: "cluster.local", namespace: "shop", serviceAccount: "web" },
      nodeName: "node-1",
    });
    assert.equal(c.workload, "web-1");
    assert.equal(c.zone, "zone-a");
  });

  it("control-plane flags win over the environment", () => {
    const m = controlPlane(
      ["--control-plane", "127.0.0.1:9000", "--identity-token-file", "/tmp/t", "--trust-domain", "example.org", "--control-plane-identity", "spiffe://example.org/ns/weft/sa/cp"],
      { ...INJECTED, WEFT_DISCOVERY_ADDRESS: undefined },
    );
    assert.equal(m.address, "127.0.0.1:9000");
    assert.equal(m.discoveryAddress, "127.0.0.1:9000", "discovery defaults to the control plane's address");
    assert.equal(m.identityTokenFile, "/tmp/t");
    assert.equal(m.identity.trustDomain, "example.org");
    assert.equal(m.serverIdentity, "spiffe://example.org/ns/weft/sa/cp");
  });

  it("takes inline anchors over an anchors file, and the file (flag or environment) when there are none inline", () => {
    assert.deepEqual(controlPlane(["--trust-anchors", "a.pem"], INJECTED).trustAnchors, { pem: "-----BEGIN CERTIFICATE-----" });
    const noPem = { ...INJECTED, WEFT_TRUST_ANCHORS_PEM: undefined };
    assert.deepEqual(controlPlane(["--trust-anchors", "a.pem"], noPem).trustAnchors, { file: "a.pem" });
    assert.deepEqual(controlPlane([], { ...noPem, WEFT_TRUST_ANCHORS_FILE: "env.pem" }).trustAnchors, { file: "env.pem" });
  });

  it("reads empty variables (the downward API's missing fields) as unset", () => {
    const m = controlPlane([], { ...INJECTED, WEFT_DISCOVERY_ADDRESS: "", WEFT_NODE_NAME: "", WEFT_TRUST_DOMAIN: "" });
    assert.equal(m.discoveryAddress, INJECTED.WEFT_CONTROL_PLANE_ADDRESS);
    assert.equal(m.nodeName, "");
    assert.equal(m.identity.trustDomain, "cluster.local");
    const c = loaded(STATIC, { WEFT_INBOUND_PORT: "", WEFT_ZONE: "", WEFT_POD_NAME: "" });
    assert.equal(c.inboundPort, 4143);
    assert.equal(c.workload, "weft-proxy");
  });

  it("control-plane mode without a token file, trust anchors, namespace or service account is refused, naming what is missing", () => {
    const without = (name: string) => refused([], { ...INJECTED, [name]: undefined });
    assert.match(without("WEFT_IDENTITY_TOKEN_FILE").message, /needs --identity-token-file/);
    assert.match(without("WEFT_TRUST_ANCHORS_PEM").message, /needs trust anchors \(--trust-anchors, WEFT_TRUST_ANCHORS_FILE or WEFT_TRUST_ANCHORS_PEM\)/);
    assert.match(without("WEFT_POD_NAMESPACE").message, /needs WEFT_POD_NAMESPACE and WEFT_SERVICE_ACCOUNT/);
    assert.match(without("WEFT_SERVICE_ACCOUNT").message, /needs WEFT_POD_NAMESPACE and WEFT_SERVICE_ACCOUNT/);
    for (const name of ["WEFT_IDENTITY_TOKEN_FILE", "WEFT_TRUST_ANCHORS_PEM", "WEFT_POD_NAMESPACE"]) assert.equal(without(name).code, "bad-config");
  });

  it("refuses an identity that is not a valid namespace, service account or trust domain", () => {
    assert.match(refused([], { ...INJECTED, WEFT_POD_NAMESPACE: "Shop_1" }).message, /this proxy's identity: invalid namespace "Shop_1"/);
    assert.match(refused([], { ...INJECTED, WEFT_SERVICE_ACCOUNT: "web/x" }).message, /invalid ServiceAccount/);
    assert.match(refused(["--trust-domain", "bad domain"], INJECTED).message, /invalid trust domain/);
  });

  it("refuses control-plane and discovery addresses that are not host:port", () => {
    assert.match(refused(["--control-plane", "weft-control-plane"], INJECTED).message, /--control-plane: "weft-control-plane" is not host:port/);
    assert.match(refused([], { ...INJECTED, WEFT_CONTROL_PLANE_ADDRESS: "cp:http" }).message, /WEFT_CONTROL_PLANE_ADDRESS: "http" is not a port/);
    assert.match(refused([], { ...INJECTED, WEFT_DISCOVERY_ADDRESS: "cp:99999" }).message, /WEFT_DISCOVERY_ADDRESS/);
  });
});

describe("proxy configuration: ports", () => {
  it("defaults to 4143/4140/4191, reads WEFT_*_PORT, and lets flags win; 0 disables a listener", () => {
    const d = loaded(STATIC);
    assert.deepEqual([d.inboundPort, d.outboundPort, d.adminPort], [4143, 4140, 4191]);
    const e = loaded(STATIC, { WEFT_INBOUND_PORT: "1", WEFT_OUTBOUND_PORT: "2", WEFT_ADMIN_PORT: "3" });
    assert.deepEqual([e.inboundPort, e.outboundPort, e.adminPort], [1, 2, 3]);
    const f = loaded([...STATIC, "--inbound-port=0", "--outbound-port", "5", "--admin-port", "6"], { WEFT_INBOUND_PORT: "1", WEFT_OUTBOUND_PORT: "2", WEFT_ADMIN_PORT: "3" });
    assert.deepEqual([f.inboundPort, f.outboundPort, f.adminPort], [0, 5, 6]);
  });

  it("refuses ports that are not plain decimal numbers up to 65535, naming where they came from", () => {
    for (const bad of ["65536", "0x50", "1e3", "-1", " 80", "80 ", "8.0", "port"]) {
      assert.equal(refused([...STATIC, `--admin-port=${bad}`]).code, "bad-port", bad);
    }
    assert.match(refused(STATIC, { WEFT_OUTBOUND_PORT: "x" }).message, /^WEFT_OUTBOUND_PORT: "x" is not a port/);
    assert.match(refused([...STATIC, "--inbound-port", "x"]).message, /^--inbound-port: "x" is not a port/);
  });

  it("reads opaque ports from the flag or WEFT_OPAQUE_PORTS with the shared port-list grammar", () => {
    assert.deepEqual([...loaded(STATIC, { WEFT_OPAQUE_PORTS: "25, 3306,8000-8002" }).opaquePorts], [25, 3306, 8000, 8001, 8002]);
    assert.deepEqual([...loaded([...STATIC, "--opaque-ports", "5432"], { WEFT_OPAQUE_PORTS: "25" }).opaquePorts], [5432]);
    assert.deepEqual([...loaded(STATIC).opaquePorts], []);
  });

  it("refuses opaque port lists the shared grammar refuses, naming the source", () => {
    for (const bad of ["-5", "80-90-100", "1e3", "0x50", "0", "90-80", "1-2000", "http"]) {
      const r = refused(STATIC, { WEFT_OPAQUE_PORTS: bad });
      assert.equal(r.code, "bad-port-list", bad);
      assert.match(r.message, /^WEFT_OPAQUE_PORTS: /, bad);
    }
    assert.match(refused([...STATIC, "--opaque-ports", "80-90-100"]).message, /^--opaque-ports: "80-90-100"/);
  });
});

describe("proxy configuration: flags", () => {
  it("reads --flag value and --flag=value, and a repeated single flag keeps its last value", () => {
    const c = loaded([...STATIC, "--zone=a", "--zone", "b", "--listen-host", "127.0.0.1"], { WEFT_ZONE: "z" });
    assert.equal(c.zone, "b");
    assert.equal(c.listenHost, "127.0.0.1");
  });

  it("collects the repeatable local-mode flags in order", () => {
    const c = loaded([
      ...STATIC,
      "--outbound-bind", "5000=10.96.0.1:80",
      "--outbound-bind", "5001=[fd00::1]:443",
      "--inbound-app", "6000=8080",
      "--endpoint-dial", "10.0.0.1:8080=127.0.0.1:6000",
      "--endpoint-dial", "[fd00::2]:80=localhost:6001",
    ]);
    assert.deepEqual(c.outboundBinds, [
      { listenPort: 5000, address: "10.96.0.1", port: 80 },
      { listenPort: 5001, address: "fd00::1", port: 443 },
    ]);
    assert.deepEqual(c.inboundApps, [{ listenPort: 6000, appPort: 8080 }]);
    assert.deepEqual([...c.endpointDial], [
      ["10.0.0.1:8080", { host: "127.0.0.1", port: 6000 }],
      ["fd00::2:80", { host: "localhost", port: 6001 }],
    ]);
  });

  it("refuses malformed local-mode specs", () => {
    assert.match(refused([...STATIC, "--outbound-bind", "5000"]).message, /--outbound-bind: "" is not host:port/);
    assert.match(refused([...STATIC, "--outbound-bind", "x=10.0.0.1:80"]).message, /--outbound-bind: "x" is not a port/);
    assert.match(refused([...STATIC, "--inbound-app", "6000=app"]).message, /--inbound-app: "app" is not a port/);
    assert.match(refused([...STATIC, "--endpoint-dial", "10.0.0.1=127.0.0.1:1"]).message, /--endpoint-dial: "10.0.0.1" is not host:port/);
  });

  it("refuses unknown flags, stray arguments and flags without a value, as values", () => {
    for (const [argv, message] of [
      [["--nope", "1"], /Unknown option '--nope'/],
      [["-h"], /Unknown option '-h'/],
      [[...STATIC, "extra"], /Unexpected argument 'extra'/],
      [[...STATIC, "--zone"], /Option '--zone <value>' argument missing/],
      [["--static-snapshot", "--cert", "c"], /argument is ambiguous/],
    ] as const) {
      const r = refused([...argv]);
      assert.equal(r.code, "bad-flag", argv.join(" "));
      assert.match(r.message, message);
      assert.ok(!r.message.includes("\n"), "one line, ahead of the usage text");
    }
  });

  it("reads the log level from the flag or WEFT_LOG_LEVEL, and refuses levels the logger does not have", () => {
    assert.equal(loaded(STATIC).logLevel, "info");
    assert.equal(loaded(STATIC, { WEFT_LOG_LEVEL: "debug" }).logLevel, "debug");
    assert.equal(loaded([...STATIC, "--log-level", "silent"], { WEFT_LOG_LEVEL: "debug" }).logLevel, "silent");
    assert.match(refused(STATIC, { WEFT_LOG_LEVEL: "verbose" }).message, /^WEFT_LOG_LEVEL: "verbose" is not one of trace, debug/);
  });

  it("checks the detection timeout and the peer transport", () => {
    assert.equal(loaded(STATIC).detectTimeoutMs, 300);
    assert.equal(loaded([...STATIC, "--detect-timeout-ms", "50"]).detectTimeoutMs, 50);
    for (const bad of ["0", "-1", "1e3", "fast"]) assert.equal(refused([...STATIC, `--detect-timeout-ms=${bad}`]).code, "bad-flag", bad);
    assert.equal(loaded(STATIC).peerTransport, "h1");
    assert.equal(loaded([...STATIC, "--peer-transport", "h2"]).peerTransport, "h2");
    assert.match(refused([...STATIC, "--peer-transport", "h3"]).message, /--peer-transport: "h3" is not h2 or h1/);
  });

  it("takes the workload name from the flag, WEFT_POD_NAME, or a default", () => {
    assert.equal(loaded(STATIC).workload, "weft-proxy");
    assert.equal(loaded(STATIC, { WEFT_POD_NAME: "web-1" }).workload, "web-1");
    assert.equal(loaded([...STATIC, "--workload", "cart"], { WEFT_POD_NAME: "web-1" }).workload, "cart");
  });

  it("the usage text names every flag", () => {
    for (const flag of PROXY_FLAGS) assert.ok(USAGE.includes(`--${flag} `), `--${flag} missing from USAGE`);
  });
});

describe("proxy configuration: the app's probes (WEFT_APP_PROBES)", () => {
  const http = { httpGet: { port: 8080, path: "/healthz", scheme: "HTTP" }, timeoutSeconds: 1 };
  const probes = (value: unknown): Env => ({ WEFT_APP_PROBES: JSON.stringify(value) });

  it("reads HTTP and TCP probes as the injector writes them", () => {
    const written = {
      "/app-health/web/livez": { httpGet: { port: 8080, path: "/healthz", scheme: "HTTPS", httpHeaders: [{ name: "x-probe", value: "1" }] }, timeoutSeconds: 3 },
      "/app-health/web/readyz": http,
      "/app-health/db/startupz": { tcpSocket: { port: 5432 }, timeoutSeconds: 1 },
    };
    assert.deepEqual(loaded(STATIC, probes(written)).appProbes, written);
    assert.deepEqual(loaded(STATIC).appProbes, {});
  });

  it("refuses probes JSON that does not parse or is not an object of probes", () => {
    assert.match(refused(STATIC, { WEFT_APP_PROBES: "{" }).message, /^WEFT_APP_PROBES is not JSON/);
    assert.match(refused(STATIC, probes([http])).message, /WEFT_APP_PROBES must be a JSON object/);
    assert.match(refused(STATIC, probes(null)).message, /WEFT_APP_PROBES must be a JSON object/);
  });

  it("refuses a malformed probe, naming it and what is wrong", () => {
    const path = "/app-health/web/livez";
    const cases: [unknown, RegExp][] = [
      ["GET /healthz", /is not an object/],
      [{ httpGet: http.httpGet }, /timeoutSeconds must be/],
      [{ ...http, timeoutSeconds: 0 }, /timeoutSeconds must be/],
      [{ ...http, timeoutSeconds: "1" }, /timeoutSeconds must be/],
      [{ timeoutSeconds: 1 }, /exactly one of httpGet and tcpSocket/],
      [{ ...http, tcpSocket: { port: 1 } }, /exactly one of httpGet and tcpSocket/],
      [{ tcpSocket: { port: 0 }, timeoutSeconds: 1 }, /tcpSocket.port must be a port/],
      [{ tcpSocket: { port: "http" }, timeoutSeconds: 1 }, /tcpSocket.port must be a port/],
      [{ httpGet: { ...http.httpGet, port: 70000 }, timeoutSeconds: 1 }, /httpGet.port must be a port/],
      [{ httpGet: { ...http.httpGet, path: "healthz" }, timeoutSeconds: 1 }, /httpGet.path must be a path/],
      [{ httpGet: { ...http.httpGet, scheme: "http" }, timeoutSeconds: 1 }, /httpGet.scheme must be HTTP or HTTPS/],
      [{ httpGet: { ...http.httpGet, httpHeaders: { "x-a": "1" } }, timeoutSeconds: 1 }, /httpHeaders must be a list/],
      [{ httpGet: { ...http.httpGet, httpHeaders: [{ value: "1" }] }, timeoutSeconds: 1 }, /httpHeaders entries need a name/],
    ];
    for (const [probe, why] of cases) {
      const r = refused(STATIC, probes({ "/app-health/web/readyz": http, [path]: probe }));
      assert.equal(r.code, "bad-app-probe");
      assert.ok(r.message.startsWith(`WEFT_APP_PROBES: probe "${path}": `), r.message);
      assert.match(r.message, why);
    }
  });

  it("refuses probes at paths the admin server does not serve them on", () => {
    assert.match(refused(STATIC, probes({ "/healthz": http })).message, /probe "\/healthz": the path must start with \/app-health\//);
    // Written as text: in an object literal __proto__ would set the prototype, not a key.
    assert.match(refused(STATIC, { WEFT_APP_PROBES: `{"__proto__": ${JSON.stringify(http)}}` }).message, /probe "__proto__": the path must start with/);
  });
});
