import assert from "node:assert/strict";
import {
  checkAccess,
  checkApiServer,
  checkComponentAccess,
  checkDeployment,
  checkExpiry,
  checkProxies,
  checkWebhookCaBundle,
  exitCode,
  formatResults,
  type CaBundleFact,
  type MeshedPodFact,
} from "../../cli/src/check-results.ts";

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

  describe("webhook caBundle", () => {
    const reached = { reached: true as const, address: "10.96.0.9:443", verified: true, detail: "" };
    const unreachable = { reached: false as const, address: "10.96.0.9:443", detail: "connect EHOSTUNREACH" };
    const fact = (over: Partial<CaBundleFact>): CaBundleFact => ({ found: true, caBundleValid: true, detail: "", served: reached, secret: { matches: true, detail: "" }, ...over });

    it("passes when the certificate the webhook serves verifies against the caBundle", () => {
      const r = checkWebhookCaBundle(fact({}));
      assert.equal(r.ok, true);
      assert.equal(r.message, "caBundle verifies the certificate the webhook serves at 10.96.0.9:443");
    });

    it("fails when the served certificate does not verify, even if the Secret's does", () => {
      const r = checkWebhookCaBundle(fact({ served: { ...reached, verified: false, detail: "unable to verify the first certificate" } }));
      assert.equal(r.ok, false);
      assert.match(r.message, /serves a certificate the caBundle does not verify: unable to verify/);
      assert.match(r.hint, /helm upgrade.*rollout restart deployment\/weft-webhook/);
    });

    it("falls back to the Secret when the webhook is out of reach, and says so without failing for it", () => {
      const r = checkWebhookCaBundle(fact({ served: unreachable }));
      assert.equal(r.ok, true);
      assert.match(r.message, /not reachable from here \(connect EHOSTUNREACH\), so the Secret weft-webhook-tls was compared instead/);
      const bad = checkWebhookCaBundle(fact({ served: unreachable, secret: { matches: false, detail: "serving certificate CN=x is not issued by CN=y" } }));
      assert.equal(bad.ok, false);
      assert.match(bad.message, /^caBundle does not verify the serving certificate: serving certificate CN=x .*Secret weft-webhook-tls was compared instead/);
    });

    it("fails a missing configuration or a malformed caBundle before looking further", () => {
      assert.match(checkWebhookCaBundle(fact({ found: false })).message, /weft-injector not found/);
      const r = checkWebhookCaBundle(fact({ caBundleValid: false, detail: "bad PEM" }));
      assert.equal(r.ok, false);
      assert.match(r.message, /not a valid certificate: bad PEM/);
    });
  });

  describe("component RBAC", () => {
    const subject = { serviceAccount: "weft-webhook", namespace: "weft-system", clusterRole: "weft-webhook" };

    it("passes when the ServiceAccount has every permission, naming it", () => {
      const r = checkComponentAccess("rbac-webhook", subject, [{ verb: "get", group: "", resource: "namespaces", allowed: true }]);
      assert.deepEqual(r, { name: "rbac-webhook", ok: true, message: "ServiceAccount weft-system/weft-webhook: all 1 permissions it needs granted", hint: "" });
    });

    it("lists what the ServiceAccount lacks and points at its ClusterRoleBinding", () => {
      const r = checkComponentAccess("rbac-control-plane", { ...subject, serviceAccount: "weft-control-plane", clusterRole: "weft-control-plane" }, [
        { verb: "watch", group: "discovery.k8s.io", resource: "endpointslices", allowed: false },
        { verb: "create", group: "authentication.k8s.io", resource: "tokenreviews", allowed: true },
      ]);
      assert.equal(r.ok, false);
      assert.equal(r.message, "ServiceAccount weft-system/weft-control-plane missing: watch discovery.k8s.io/endpointslices");
      assert.match(r.hint, /kubectl describe clusterrolebinding weft-control-plane/);
    });

    it("fails when the reviews cannot be made", () => {
      const r = checkComponentAccess("rbac-webhook", subject, new Error("forbidden"));
      assert.equal(r.ok, false);
      assert.match(r.hint, /subjectaccessreviews/);
    });
  });

  describe("proxies connected and current", () => {
    const pod = (name: string, version: string | null | Error): MeshedPodFact => ({ pod: name, namespace: "shop", proxy: version instanceof Error ? version : { version } });
    const cp = (streams: number, behind = 0) => ({ streams, behind, replicas: 1 });

    it("passes with no meshed pods, saying there was nothing to check", () => {
      const r = checkProxies(cp(0), [], "weft-system");
      assert.equal(r.ok, true);
      assert.match(r.message, /no meshed pods running yet/);
    });

    it("passes when every meshed pod has a stream and none is behind", () => {
      const r = checkProxies(cp(2), [pod("a", "e.4"), pod("b", "e.3")], "weft-system");
      assert.deepEqual(r, { name: "proxies", ok: true, message: "2 meshed pods, 2 discovery streams, all on their current version", hint: "" });
      assert.equal(checkProxies(cp(3), [pod("a", "e.4")], "weft-system").ok, true, "extra streams (a pod going away, a local proxy) are fine");
    });

    it("names the pods whose proxies hold no snapshot, with the command to read their logs", () => {
      const r = checkProxies(cp(1), [pod("a", "e.4"), pod("b", null), pod("c", null)], "weft-system");
      assert.equal(r.ok, false);
      assert.equal(r.message, "proxies of pods shop/b, shop/c hold no snapshot (no working discovery stream); 3 meshed pods running but only 1 discovery streams open");
      assert.equal(r.hint, "kubectl logs -n shop b -c weft-proxy");
    });

    it("fails a stream shortfall it cannot attribute, pointing at the control plane's log", () => {
      const r = checkProxies(cp(1), [pod("a", "e.4"), pod("b", "e.2")], "weft-system");
      assert.equal(r.ok, false);
      assert.equal(r.message, "2 meshed pods running but only 1 discovery streams open");
      assert.match(r.hint, /kubectl -n weft-system logs deployment\/weft-control-plane/);
    });

    it("fails streams behind their current version", () => {
      const r = checkProxies(cp(2, 1), [pod("a", "e.4"), pod("b", "e.4")], "weft-system");
      assert.equal(r.ok, false);
      assert.equal(r.message, "1 of 2 streams have not ACKed their current version");
      assert.match(r.hint, /proxy refused version/);
    });

    it("notes proxies it could not read without failing for them alone, and shortens long pod lists", () => {
      const r = checkProxies(cp(2), [pod("a", "e.4"), pod("b", new Error("503 Service Unavailable"))], "weft-system");
      assert.equal(r.ok, true);
      assert.match(r.message, /\(could not read the proxies of shop\/b: 503 Service Unavailable\)$/);
      const many = Array.from({ length: 7 }, (_, i) => pod(`p${i}`, null));
      assert.match(checkProxies(cp(0), many, "weft-system").message, /shop\/p4 and 2 more hold no snapshot/);
    });

    it("says, without failing, that version lag went unchecked with a control plane that predates the metric", () => {
      const r = checkProxies({ streams: 2, behind: null, replicas: 1 }, [pod("a", "e.4"), pod("b", "e.4")], "weft-system");
      assert.equal(r.ok, true);
      assert.equal(r.message, "2 meshed pods, 2 discovery streams, each proxy holding a snapshot (version lag not checked: the control plane predates weft_discovery_streams_behind)");
      assert.equal(checkProxies({ streams: 1, behind: null, replicas: 1 }, [pod("a", "e.4"), pod("b", "e.4")], "weft-system").ok, false);
    });

    it("fails when the control plane's metrics cannot be read", () => {
      const r = checkProxies(new Error("no running control-plane pod in weft-system"), [pod("a", "e.4")], "weft-system");
      assert.equal(r.ok, false);
      assert.match(r.message, /cannot read the control plane's discovery metrics: no running control-plane pod/);
    });
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
