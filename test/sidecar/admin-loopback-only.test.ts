// The proxy's admin port serves the kubelet's and Prometheus's paths to anyone
// on the pod network but its diagnostics (/config: the snapshot and the
// certificate) only to loopback peers. A real non-loopback peer needs a second
// network namespace: 127.0.0.2 is still loopback, and so is any address of the
// machine's own dialled from the machine.
import { strict as assert } from "node:assert";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { type LabProcess, type Link, NetnsLab, NODE, skipWithoutNetns } from "../netns/lab.ts";
import { waitFor } from "../support/wait.ts";
import { testPki } from "./mesh-harness.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const ADMIN_PORT = 4191;

// One GET from inside a namespace, printed as JSON on the last line.
const GET = `fetch(process.argv[1]).then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })), (e) => console.log(JSON.stringify({ status: 0, body: String(e) })))`;

describe("the proxy's admin port from inside and outside the pod", function () {
  this.timeout(60_000);
  const lab = new NetnsLab();
  let pod = "";
  let peer = "";
  let link: Link;
  let dir = "";
  let proxy: LabProcess | undefined;

  const get = (ns: string, url: string): { status: number; body: string } => {
    const r = lab.tryExec(ns, NODE, ["-e", GET, url]);
    return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { status: number; body: string };
  };

  before(async function () {
    skipWithoutNetns(this);
    pod = lab.namespace("pod");
    peer = lab.namespace("kubelet");
    link = lab.link(peer, pod);
    dir = await mkdtemp(path.join(tmpdir(), "weft-admin-loopback-"));
    const pki = await testPki();
    await writeFile(path.join(dir, "proxy.crt"), pki.client.certChainPem);
    await writeFile(path.join(dir, "proxy.key"), pki.client.keyPem);
    await writeFile(path.join(dir, "anchors.pem"), pki.mesh.anchorPem);
    await writeFile(path.join(dir, "snapshot.json"), JSON.stringify({ services: [], policy: { inbound: { mode: "STRICT" } } }));
    proxy = lab.spawn(pod, NODE, [
      "sidecar/src/main.ts", "--static-snapshot", path.join(dir, "snapshot.json"), "--trust-anchors", path.join(dir, "anchors.pem"),
      "--cert", path.join(dir, "proxy.crt"), "--key", path.join(dir, "proxy.key"),
      "--listen-host", "0.0.0.0", "--admin-port", String(ADMIN_PORT), "--outbound-port", "0", "--inbound-port", "0", "--log-level", "warn",
    ], { cwd: ROOT });
    await waitFor("the proxy's /ready to answer 200 on loopback", () => get(pod, `http://127.0.0.1:${ADMIN_PORT}/ready`).status === 200, { timeoutMs: 30_000 });
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed" && proxy) console.error(proxy.output);
  });
  after(async () => {
    await lab.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("refuses /config to a peer on the pod network but serves it /metrics, /live and /ready", () => {
    const remote = (p: string) => get(peer, `http://${link.bAddr}:${ADMIN_PORT}${p}`);
    const config = remote("/config");
    assert.equal(config.status, 403, config.body);
    assert.match(config.body, /only on loopback/);
    assert.doesNotMatch(config.body, /BEGIN CERTIFICATE|spiffe:/);
    assert.equal(remote("/other").status, 403, "any other diagnostic path is loopback-only too");
    const metrics = remote("/metrics");
    assert.equal(metrics.status, 200, metrics.body);
    assert.match(metrics.body, /weft_proxy_/);
    assert.equal(remote("/live").status, 200);
    assert.equal(remote("/ready").status, 200);
  });

  it("serves /config on loopback, where kubectl port-forward arrives", () => {
    const config = get(pod, `http://127.0.0.1:${ADMIN_PORT}/config`);
    assert.equal(config.status, 200, config.body);
    const body = JSON.parse(config.body) as { certificate: { spiffeId: string } | null };
    assert.match(body.certificate?.spiffeId ?? "", /^spiffe:\/\//);
  });
});
