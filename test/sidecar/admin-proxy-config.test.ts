// The /proxy-config/* pages `weft proxy-config` reads, from a real proxy
// process (main.ts in static mode): endpoints with balancer state, policy,
// the certificate chain's public facts and the redacted configuration. They
// are loopback-only like /config (admin-loopback-only.test.ts covers the
// refusal from the pod network); here we read them on loopback, where
// pods/portforward arrives, and check that no key material is ever in them.
import { strict as assert } from "node:assert";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { freePorts } from "../support/ports.ts";
import { Processes } from "../support/process.ts";
import { waitFor } from "../support/wait.ts";
import { testPki } from "./mesh-harness.ts";

describe("the proxy's /proxy-config/* pages (what weft proxy-config reads)", function () {
  this.timeout(60_000);
  let dir = "";
  let admin = 0;
  let keyPem = "";
  const processes = new Processes();
  const get = async (p: string) => {
    const r = await fetch(`http://127.0.0.1:${admin}${p}`);
    return { status: r.status, body: await r.text() };
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "weft-proxy-config-"));
    const pki = await testPki();
    keyPem = pki.client.keyPem;
    await writeFile(path.join(dir, "proxy.crt"), pki.client.certChainPem);
    await writeFile(path.join(dir, "proxy.key"), pki.client.keyPem);
    await writeFile(path.join(dir, "anchors.pem"), pki.mesh.anchorPem);
    const snapshot = {
      version: "v-test.3",
      services: [{ namespace: "shop", name: "api", clusterIps: ["10.96.0.20"], ports: [{ name: "http", port: 80, protocol: "TCP" }], endpoints: [{ address: "10.0.0.7", ports: { http: 8080 }, ready: true, serving: true, meshed: true, identity: pki.server.spiffeId, zone: "zone-a" }] }],
      policy: { inbound: { mode: "STRICT" } },
    };
    await writeFile(path.join(dir, "snapshot.json"), JSON.stringify(snapshot));
    [admin] = (await freePorts(1)) as [number];
    processes.node("proxy", ["sidecar/src/main.ts", "--static-snapshot", path.join(dir, "snapshot.json"), "--trust-anchors", path.join(dir, "anchors.pem"),
      "--cert", path.join(dir, "proxy.crt"), "--key", path.join(dir, "proxy.key"), "--admin-port", String(admin), "--outbound-port", "0", "--inbound-port", "0", "--log-level", "warn"]);
    await waitFor("the proxy's /ready to answer 200", async () => (await fetch(`http://127.0.0.1:${admin}/ready`).catch(() => undefined))?.status === 200, { timeoutMs: 30_000 });
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") console.error(processes.report());
  });
  after(async () => {
    for (const p of processes.all) p.kill();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("lists each Service's endpoints with the balancer's state", async () => {
    const r = await get("/proxy-config/endpoints");
    assert.equal(r.status, 200, r.body);
    const body = JSON.parse(r.body) as { version: string; services: { service: string; endpoints: { address: string; portNumber: number; ewmaMs: number | null; inflight: number; breaker: string; zone: string }[] }[] };
    assert.equal(body.services[0]?.service, "shop/api");
    assert.deepEqual(body.services[0]?.endpoints.map((e) => [e.address, e.portNumber, e.ewmaMs, e.inflight, e.breaker, e.zone]), [["10.0.0.7", 8080, null, 0, "closed", "zone-a"]]);
  });

  it("shows the policy and the certificate chain's public facts", async () => {
    const policy = JSON.parse((await get("/proxy-config/policy")).body) as { policy: { inbound: { mode: string } } };
    assert.equal(policy.policy.inbound.mode, "STRICT");
    const certs = JSON.parse((await get("/proxy-config/certs")).body) as { certificates: { spiffeId: string; serial: string; notAfter: string; expiresInSeconds: number; issuer: string }[] };
    const leaf = certs.certificates[0];
    assert.match(leaf?.spiffeId ?? "", /^spiffe:\/\//);
    assert.match(leaf?.serial ?? "", /^[0-9a-f]+$/);
    assert.ok((leaf?.expiresInSeconds ?? 0) > 0);
    assert.ok(!Number.isNaN(Date.parse(leaf?.notAfter ?? "")));
  });

  it("shows the effective configuration and version, and never a key or PEM on any page", async () => {
    const boot = JSON.parse((await get("/proxy-config/bootstrap")).body) as { proxyVersion: string; config: { mode: { kind: string; keyFile: string } } };
    assert.match(boot.proxyVersion, /^\d+\.\d+\.\d+/);
    assert.equal(boot.config.mode.kind, "static");
    assert.equal(boot.config.mode.keyFile, path.join(dir, "proxy.key"), "paths are shown; their contents are not");
    const keyBody = keyPem.split("\n")[1] ?? "";
    for (const page of ["endpoints", "policy", "certs", "bootstrap"]) {
      const body = (await get(`/proxy-config/${page}`)).body;
      assert.doesNotMatch(body, /PRIVATE KEY|BEGIN CERTIFICATE/, page);
      assert.ok(keyBody.length > 10 && !body.includes(keyBody), page);
    }
    assert.equal((await get("/proxy-config/nope")).status, 404);
  });
});
