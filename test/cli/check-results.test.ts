import assert from "node:assert/strict";
import { checkAccess, checkApiServer, checkDeployment, checkExpiry, checkWebhookCaBundle, exitCode, formatResults } from "../../cli/src/check-results.ts";

describe("weft check: verdicts from gathered facts", () => {
  const now = new Date("2026-01-01T00:00:00Z");

  it("accepts Kubernetes 1.29+ with native sidecars, older with the classic shape, and fails an unreachable API", () => {
    assert.match(checkApiServer({ major: "1", minor: "34", gitVersion: "v1.34.4" }).message, /native sidecars available/);
    const old = checkApiServer({ major: "1", minor: "27+", gitVersion: "v1.27.3" });
    assert.equal(old.ok, true);
    assert.match(old.message, /classic sidecar shape/);
    const down = checkApiServer(new Error("connect ECONNREFUSED"));
    assert.equal(down.ok, false);
    assert.match(down.hint, /kubeconfig/);
  });

  it("lists each denied permission", () => {
    const r = checkAccess("rbac-install", [
      { verb: "create", group: "", resource: "namespaces", allowed: true },
      { verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterroles", allowed: false },
      { verb: "create", group: "apps", resource: "deployments", namespace: "weft-system", allowed: false },
    ]);
    assert.equal(r.ok, false);
    assert.equal(r.message, "missing: create rbac.authorization.k8s.io/clusterroles, create apps/deployments in weft-system");
  });

  it("needs every desired replica of a Deployment ready", () => {
    assert.equal(checkDeployment("webhook", { name: "weft-webhook", found: true, desired: 2, ready: 2 }).ok, true);
    assert.equal(checkDeployment("webhook", { name: "weft-webhook", found: true, desired: 2, ready: 1 }).ok, false);
    assert.equal(checkDeployment("webhook", { name: "weft-webhook", found: false, desired: 0, ready: 0 }).ok, false);
  });

  it("fails a caBundle that is missing, malformed or does not verify the serving certificate", () => {
    assert.equal(checkWebhookCaBundle({ found: true, caBundleValid: true, servingMatches: true, detail: "" }).ok, true);
    assert.equal(checkWebhookCaBundle({ found: false, caBundleValid: false, servingMatches: false, detail: "" }).ok, false);
    assert.equal(checkWebhookCaBundle({ found: true, caBundleValid: false, servingMatches: false, detail: "bad" }).ok, false);
    assert.match(checkWebhookCaBundle({ found: true, caBundleValid: true, servingMatches: false, detail: "x" }).hint, /helm upgrade/);
  });

  it("warns under 30 days before expiry and fails after it", () => {
    const at = (days: number) => ({ subject: "CN=issuer", notAfter: new Date(now.getTime() + days * 86_400_000) });
    assert.equal(checkExpiry("issuer", at(31), now).ok, true);
    assert.match(checkExpiry("issuer", at(10), now).message, /expires in 10 days/);
    assert.equal(checkExpiry("issuer", at(10), now).ok, false);
    assert.match(checkExpiry("issuer", at(-1), now).message, /expired/);
  });

  it("prints ✔/✘ lines with hints and exits 1 when anything failed", () => {
    const results = [checkApiServer({ major: "1", minor: "34", gitVersion: "v1.34.4" }), checkDeployment("webhook", { name: "weft-webhook", found: false, desired: 0, ready: 0 })];
    const text = formatResults(results);
    assert.match(text, /^✔ kubernetes-api: /m);
    assert.match(text, /^✘ webhook: Deployment weft-webhook not found\n {4}hint: /m);
    assert.equal(exitCode(results), 1);
    assert.equal(exitCode(results.slice(0, 1)), 0);
  });
});
