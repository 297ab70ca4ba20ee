// weft-webhook as a process: it starts from its flags, serves HTTPS, and drains
// and exits 0 on SIGTERM; bad flags or unreadable files exit with a message.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { selfSignedCertificate } from "../cluster/self-signed.ts";
import { Processes } from "../support/process.ts";
import { podReview, post } from "./webhook-client.ts";

const MAIN = fileURLToPath(new URL("../../webhook/src/main.ts", import.meta.url));

describe("weft-webhook process", function () {
  this.timeout(60_000);
  let dir = "";
  const processes = new Processes();
  const start = (args: string[]) => processes.node("weft-webhook", [MAIN, ...args]);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "weft-webhook-main-"));
    const tls = selfSignedCertificate("127.0.0.1");
    writeFileSync(join(dir, "tls.crt"), tls.cert);
    writeFileSync(join(dir, "tls.key"), tls.key);
    writeFileSync(join(dir, "config.yaml"), "webhook:\n  failurePolicy: Fail\n");
    // An apiserver nobody listens on: version and namespace lookups fail as values.
    writeFileSync(
      join(dir, "kubeconfig"),
      "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    );
  });
  after(() => {
    for (const p of processes.all) p.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves admissions and exits 0 after draining on SIGTERM", async () => {
    const p = start(["--tls-cert", join(dir, "tls.crt"), "--tls-key", join(dir, "tls.key"), "--config", join(dir, "config.yaml"), "--kubeconfig", join(dir, "kubeconfig"), "--port", "0", "--metrics-port", "0", "--host", "127.0.0.1"]);
    const port = Number((await p.waitForOutput(/"port":(\d+).*"webhook serving"/))[1]);
    const res = await post(port, readFileSync(join(dir, "tls.crt"), "utf8"), JSON.stringify(podReview({ spec: { containers: [{ name: "c" }] } }, "shop")));
    assert.equal(res.status, 200);
    // No apiserver: the namespace is unknown, and the pod is allowed untouched.
    assert.equal(res.json.response.auditAnnotations.decision, "namespace-lookup-failed");
    assert.equal(await p.stop(30_000), 0);
    assert.match(p.output, /"msg":"drained"/);
  });

  it("exits 2 on bad flags and 1 on a bad configuration file", async () => {
    const bad = start(["--nonsense"]);
    assert.equal(await bad.exited, 2);
    writeFileSync(join(dir, "bad.yaml"), "proxy:\n  uid: root\n");
    const p = start(["--tls-cert", join(dir, "tls.crt"), "--tls-key", join(dir, "tls.key"), "--config", join(dir, "bad.yaml"), "--kubeconfig", join(dir, "kubeconfig"), "--port", "0", "--metrics-port", "0"]);
    assert.equal(await p.exited, 1);
    assert.match(p.output, /proxy\.uid/);
  });
});
