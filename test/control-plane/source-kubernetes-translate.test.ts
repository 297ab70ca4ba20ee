import assert from "node:assert/strict";
import type { V1EndpointSlice, V1Namespace, V1Pod, V1Service } from "@kubernetes/client-node";
import { translateKubernetes } from "../../control-plane/src/source-kubernetes-translate.ts";

const svc = (ns: string, name: string, extra: Partial<V1Service["spec"]> = {}, annotations: Record<string, string> = {}): V1Service => ({
  metadata: { namespace: ns, name, annotations },
  spec: { clusterIP: "10.96.0.5", clusterIPs: ["10.96.0.5"], ports: [{ name: "http", port: 80, targetPort: "web" as unknown as never }], ...extra },
});

const slice = (ns: string, service: string, name: string, port: number, endpoints: V1EndpointSlice["endpoints"]): V1EndpointSlice => ({
  metadata: { namespace: ns, name, labels: { "kubernetes.io/service-name": service } },
  addressType: "IPv4",
  ports: [{ name: "http", port, protocol: "TCP" }],
  endpoints,
});

const pod = (ns: string, name: string, sa: string, meshed: boolean): V1Pod => ({
  metadata: { namespace: ns, name, labels: meshed ? { "weft.io/meshed": "true" } : {} },
  spec: { serviceAccountName: sa, containers: [] },
});

const nsObj = (name: string, inject: boolean, annotations: Record<string, string> = {}): V1Namespace => ({
  metadata: { name, labels: inject ? { "weft.io/inject": "enabled" } : {}, annotations },
});

describe("Kubernetes objects to the mesh model", () => {
  it("merges several EndpointSlices, resolves named target ports per slice, and marks meshed endpoints with their identity", () => {
    const { model } = translateKubernetes(
      {
        services: [svc("shop", "web")],
        endpointSlices: [
          slice("shop", "web", "web-a", 8080, [{ addresses: ["10.1.0.1"], conditions: { ready: true }, nodeName: "n1", zone: "z1", targetRef: { kind: "Pod", namespace: "shop", name: "web-1" } }]),
          slice("shop", "web", "web-b", 9090, [
            { addresses: ["10.1.0.2"], conditions: { ready: false, serving: true, terminating: true }, targetRef: { kind: "Pod", namespace: "shop", name: "web-2" } },
            { addresses: ["10.1.0.3"], targetRef: { kind: "Pod", namespace: "shop", name: "unmeshed" } },
          ]),
        ],
        pods: [pod("shop", "web-1", "web-sa", true), pod("shop", "web-2", "", true)],
        namespaces: [nsObj("shop", true)],
      },
      { trustDomain: "cluster.local" },
    );
    const web = model.services.get("shop/web")!;
    const byAddr = new Map(web.endpoints.map((e) => [e.address, e]));
    assert.equal(web.endpoints.length, 3);
    assert.deepEqual(byAddr.get("10.1.0.1")?.ports, { http: 8080 });
    assert.deepEqual(byAddr.get("10.1.0.2")?.ports, { http: 9090 });
    assert.equal(byAddr.get("10.1.0.1")?.identity, "spiffe://cluster.local/ns/shop/sa/web-sa");
    assert.equal(byAddr.get("10.1.0.1")?.zone, "z1");
    assert.equal(byAddr.get("10.1.0.1")?.pod, "shop/web-1");
    assert.equal(byAddr.get("10.1.0.2")?.identity, "spiffe://cluster.local/ns/shop/sa/default", "an empty serviceAccountName is the default ServiceAccount");
    assert.deepEqual([byAddr.get("10.1.0.2")?.ready, byAddr.get("10.1.0.2")?.serving, byAddr.get("10.1.0.2")?.terminating], [false, true, true]);
    assert.equal(byAddr.get("10.1.0.3")?.meshed, false);
    assert.equal(byAddr.get("10.1.0.3")?.identity, "");
    assert.equal(byAddr.get("10.1.0.3")?.ready, true, "unset conditions read as ready");
    assert.equal(model.namespaces.get("shop")?.meshEnabled, true);
  });

  it("handles headless Services, skips ExternalName ones and FQDN slices, and counts an address in two slices once", () => {
    const { model } = translateKubernetes(
      {
        services: [svc("db", "pg", { clusterIP: "None", clusterIPs: ["None"] }), svc("db", "ext", { type: "ExternalName", externalName: "example.com" })],
        endpointSlices: [
          slice("db", "pg", "pg-a", 5432, [{ addresses: ["10.2.0.1"], conditions: { ready: false } }]),
          slice("db", "pg", "pg-b", 5432, [{ addresses: ["10.2.0.1"], conditions: { ready: true } }]),
          { ...slice("db", "pg", "pg-fqdn", 5432, [{ addresses: ["pg.example.com"] }]), addressType: "FQDN" },
        ],
        pods: [],
        namespaces: [nsObj("db", false)],
      },
      { trustDomain: "cluster.local" },
    );
    const pg = model.services.get("db/pg")!;
    assert.equal(pg.headless, true);
    assert.deepEqual(pg.clusterIps, []);
    assert.equal(pg.endpoints.length, 1);
    assert.equal(pg.endpoints[0]?.ready, true);
    assert.equal(model.services.has("db/ext"), false);
  });

  it("reads policy annotations, reports bad ones with a code, and marks opaque ports and appProtocol hints", () => {
    const { model, problems } = translateKubernetes(
      {
        services: [
          svc("shop", "api", { ports: [{ name: "grpc", port: 9000, appProtocol: "grpc" }, { name: "raw", port: 7000 }, { name: "h2", port: 81, appProtocol: "kubernetes.io/h2c" }] }, {
            "retry.weft.io/max-retries": "4",
            "timeout.weft.io/request": "2s",
            "retry.weft.io/budget-ratio": "lots",
            "config.weft.io/opaque-ports": "7000",
          }),
        ],
        endpointSlices: [],
        pods: [],
        namespaces: [nsObj("shop", true, { "config.weft.io/inbound-mode": "permissive", "config.weft.io/inbound-plaintext-ports": "8080, 9090" })],
      },
      { trustDomain: "cluster.local" },
    );
    const api = model.services.get("shop/api")!;
    assert.deepEqual(api.clientPolicy, { retry: { maxRetries: 4 }, responseTimeoutMs: 2000 }, "timeout.weft.io/request is the response timeout's old name");
    assert.deepEqual(api.ports.map((p) => p.appProtocol), ["grpc", "opaque", "http2"]);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.code, "bad-policy-annotation");
    assert.match(problems[0]!.message, /retry\.weft\.io\/budget-ratio/);
    assert.equal(problems[0]?.object, "service/shop/api");
    assert.equal(model.namespaces.get("shop")?.inbound.mode, "PERMISSIVE");
    assert.deepEqual(model.namespaces.get("shop")?.inbound.plaintextPorts, [8080, 9090]);
  });

  describe("authorization", () => {
    const policyObj = (name: string, spec: Record<string, unknown>, ns = "shop") => ({
      apiVersion: "policy.weft.io/v1alpha1",
      kind: "AuthorizationPolicy",
      metadata: { name, namespace: ns },
      spec,
    });
    const rules = [{ from: [{ serviceAccounts: ["shop/checkout"] }] }];
    const podWith = (name: string, labels: Record<string, string>, annotations: Record<string, string> = {}): V1Pod => ({
      metadata: { namespace: "shop", name, labels: { "weft.io/meshed": "true", ...labels }, annotations },
      spec: { serviceAccountName: "api", containers: [] },
    });

    it("reads policies of each target kind, the pods' labels and defaults, and the mesh-wide default", () => {
      const { model, problems } = translateKubernetes(
        {
          services: [],
          endpointSlices: [],
          pods: [podWith("api-1", { app: "api" }, { "config.weft.io/default-inbound-policy": "dry-run:deny" }), podWith("api-2", { app: "api" })],
          namespaces: [nsObj("shop", true, { "config.weft.io/default-inbound-policy": "cluster-authenticated", "config.weft.io/inbound-mode": "permissive" })],
          authorizationPolicies: [
            policyObj("ns-wide", { rules }),
            policyObj("by-label", { selector: { matchLabels: { app: "api" }, matchExpressions: [{ key: "tier", operator: "NotIn", values: ["free"] }] }, action: "DENY", rules }),
            policyObj("by-service", { targetRefs: [{ kind: "Service", name: "api", port: 80 }], action: "AUDIT", rules }),
          ],
        },
        { trustDomain: "example.org", defaultPolicy: { name: "deny", dryRun: false } },
      );
      assert.deepEqual(problems, []);
      const auth = model.authorization!;
      assert.deepEqual(auth.policies.map((p) => [p.name, p.target.kind, p.action]), [["ns-wide", "namespace", "ALLOW"], ["by-label", "selector", "DENY"], ["by-service", "services", "AUDIT"]]);
      assert.deepEqual(auth.meshDefault, { name: "deny", dryRun: false });
      assert.equal(auth.trustDomain, "example.org");
      assert.deepEqual(auth.pods?.get("shop/api-1")?.defaultPolicy, { name: "deny", dryRun: true });
      assert.equal(auth.pods?.get("shop/api-2")?.defaultPolicy, null);
      assert.equal(auth.pods?.get("shop/api-2")?.labels.app, "api");
      const inbound = model.namespaces.get("shop")?.inbound;
      assert.deepEqual(inbound?.defaultPolicy, { name: "cluster-authenticated", dryRun: false });
      assert.equal(inbound?.mode, "PERMISSIVE", "the legacy annotation is still read (and loses to the new one when compiled)");
    });

    it("skips a bad default-inbound-policy annotation with a reported problem, on a namespace and on a pod", () => {
      const { model, problems } = translateKubernetes(
        {
          services: [],
          endpointSlices: [],
          pods: [podWith("api-1", {}, { "config.weft.io/default-inbound-policy": "allow-all" })],
          namespaces: [nsObj("shop", true, { "config.weft.io/default-inbound-policy": "Deny" })],
        },
        { trustDomain: "cluster.local" },
      );
      assert.deepEqual(problems.map((p) => [p.code, p.object]), [["bad-policy-annotation", "pod/shop/api-1"], ["bad-policy-annotation", "namespace/shop"]]);
      assert.match(problems[0]!.message, /config\.weft\.io\/default-inbound-policy="allow-all" ignored/);
      assert.equal(model.authorization?.pods?.get("shop/api-1")?.defaultPolicy, null);
      assert.equal(model.namespaces.get("shop")?.inbound.defaultPolicy, null);
    });

    it("never widens access with a malformed policy: an ALLOW becomes allow-nothing, a DENY deny-everything, on its target or else its whole namespace; an AUDIT is dropped", () => {
      const bad = [{ from: [{ serviceAcounts: ["shop/checkout"] }] }];
      const { model, problems } = translateKubernetes(
        {
          services: [],
          endpointSlices: [],
          pods: [],
          namespaces: [nsObj("shop", true)],
          authorizationPolicies: [
            policyObj("bad-allow", { selector: { matchLabels: { app: "api" } }, rules: bad }),
            policyObj("bad-deny", { targetRefs: [{ kind: "Service", name: "api" }], action: "DENY", rules: bad }),
            policyObj("bad-target", { selector: { matchLabels: { app: "api" } }, targetRefs: [{ kind: "Service", name: "api" }], action: "DENY", rules }),
            policyObj("bad-action", { action: "REJECT", rules }),
            policyObj("bad-audit", { action: "AUDIT", rules: bad }),
            { metadata: { name: "no-namespace" }, spec: { rules } },
          ],
        },
        { trustDomain: "cluster.local" },
      );
      const got = Object.fromEntries(model.authorization!.policies.map((p) => [p.name, [p.target.kind, p.action, JSON.stringify(p.rules)]]));
      assert.deepEqual(got, {
        "bad-allow": ["selector", "ALLOW", "[]"],
        "bad-deny": ["services", "DENY", '[{"from":[],"to":[]}]'],
        "bad-target": ["namespace", "DENY", '[{"from":[],"to":[]}]'],
        "bad-action": ["namespace", "DENY", '[{"from":[],"to":[]}]'],
      });
      assert.equal(problems.length, 6);
      assert.ok(problems.every((p) => p.code === "invalid-authorization-policy"));
      assert.deepEqual(problems.map((p) => p.object), ["shop/bad-allow", "shop/bad-deny", "shop/bad-target", "shop/bad-action", "shop/bad-audit", "?/no-namespace"].map((k) => `authorizationpolicy/${k}`));
      assert.match(problems[0]!.message, /enforced as allow-nothing on its target until fixed: .*serviceAcounts/);
      assert.match(problems[2]!.message, /deny-everything on every workload of its namespace/);
    });
  });
});
