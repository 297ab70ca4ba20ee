import assert from "node:assert/strict";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MeshModel } from "../../control-plane/src/mesh-state.ts";
import { parseRegistryFile } from "../../control-plane/src/source-registry-file-parse.ts";
import { startRegistryFileSource } from "../../control-plane/src/source-registry-file.ts";
import { buildView, compileMesh } from "../../control-plane/src/snapshot-builder.ts";
import { waitFor } from "../support/wait.ts";

const GOOD = `
defaults:
  requestTimeout: 5s
namespaces:
  - name: shop
    inbound: { mode: permissive, plaintextPorts: [9090] }
  - name: legacy
    meshed: false
services:
  - namespace: shop
    name: web
    clusterIps: [10.96.0.10]
    ports:
      - { name: http, port: 80, appProtocol: http }
      - { name: grpc, port: 9000, appProtocol: grpc }
    endpoints:
      - { address: 127.0.0.1, ports: { http: 8080, grpc: 9001 }, zone: z1, meshed: true, serviceAccount: web }
      - { address: 127.0.0.2, port: 8081, ready: false, terminating: true }
    policy:
      retry: { maxRetries: 4, httpStatuses: [503] }
  - namespace: legacy
    name: db
    ports: [{ name: pg, port: 5432, appProtocol: opaque }]
    endpoints:
      - address: 10.1.0.5
`;

describe("local registry file", () => {
  it("parses services, endpoints, identities and policy into the mesh model", () => {
    const parsed = parseRegistryFile(GOOD, "mesh.yaml");
    assert.ok(parsed.ok, parsed.ok ? "" : parsed.message);
    const model = parsed.value;
    const web = model.services.get("shop/web")!;
    assert.equal(web.endpoints[0]?.identity, "spiffe://cluster.local/ns/shop/sa/web");
    assert.deepEqual(web.endpoints[1]?.ports, { http: 8081, grpc: 8081 });
    assert.equal(web.endpoints[1]?.serving, false);
    assert.equal(web.endpoints[1]?.terminating, true);
    assert.equal(web.clientPolicy?.retry?.maxRetries, 4);
    assert.equal(model.services.get("legacy/db")?.headless, true);
    const view = buildView(compileMesh(model), "shop");
    assert.deepEqual([...view.services.keys()], ["shop/web"]);
    assert.equal(view.policy.inbound?.mode, "PERMISSIVE");
    assert.deepEqual(view.policy.inbound?.plaintextPorts, [9090]);
    assert.equal(view.policy.clientDefaults?.requestTimeoutMs, 5000);
    assert.equal(view.services.get("shop/web")?.message.clientPolicy?.requestTimeoutMs, 5000, "service overrides merge over file defaults");
  });

  it("reads authorization policies in the CRD's shape, the mesh-wide default and a namespace's own; a workload has no pod (local mode)", () => {
    const parsed = parseRegistryFile(`
defaultInboundPolicy: dry-run:cluster-authenticated
namespaces:
  - name: shop
    inbound: { defaultPolicy: all-unauthenticated }
authorizationPolicies:
  - metadata: { name: web-from-checkout, namespace: shop }
    spec:
      targetRefs: [{ kind: Service, name: web }]
      rules: [{ from: [{ serviceAccounts: [shop/checkout] }] }]
  - apiVersion: policy.weft.io/v1alpha1
    kind: AuthorizationPolicy
    metadata: { name: no-admin, namespace: shop }
    spec:
      action: DENY
      rules: [{ to: [{ paths: [{ prefix: /admin/ }] }] }]
`, "f.yaml", "example.org", { name: "deny", dryRun: false });
    assert.ok(parsed.ok, parsed.ok ? "" : parsed.message);
    const auth = parsed.value.authorization;
    assert.deepEqual(auth?.policies.map((p) => `${p.namespace}/${p.name} ${p.target.kind} ${p.action}`), ["shop/web-from-checkout services ALLOW", "shop/no-admin namespace DENY"]);
    assert.deepEqual(auth?.meshDefault, { name: "cluster-authenticated", dryRun: true }, "the file's default wins over the flag's");
    assert.equal(auth?.trustDomain, "example.org");
    assert.equal(auth?.pods, null);
    assert.deepEqual(parsed.value.namespaces.get("shop")?.inbound.defaultPolicy, { name: "all-unauthenticated", dryRun: false });
    const flagOnly = parseRegistryFile("services: []\n", "f.yaml", "example.org", { name: "deny", dryRun: false });
    assert.ok(flagOnly.ok);
    assert.deepEqual(flagOnly.value.authorization?.meshDefault, { name: "deny", dryRun: false }, "without one in the file, the flag's");
  });

  const refusals: [string, string, RegExp][] = [
    ["YAML syntax", "services:\n  - name: [oops\n", /^f\.yaml:\d+:\d+: /],
    ["a bad address", "services:\n  - namespace: a\n    name: b\n    ports: [{name: http, port: 80}]\n    endpoints:\n      - address: not-an-ip\n", /^f\.yaml:6:18: services\[0\]\.endpoints\[0\]\.address: "not-an-ip" is not an IP address/],
    ["an unknown field", "services:\n  - namespace: a\n    name: b\n    prots: []\n", /^f\.yaml:4:\d+: services\[0\]\.prots: unknown field/],
    ["a port out of range", "services:\n  - namespace: a\n    name: b\n    ports: [{name: http, port: 70000}]\n", /^f\.yaml:4:\d+: services\[0\]\.ports\[0\]\.port: expected an integer/],
    ["a duplicate service", "services:\n  - {namespace: a, name: b, ports: [{port: 1}]}\n  - {namespace: a, name: b, ports: [{port: 1}]}\n", /^f\.yaml:3:\d+: services\[1\]\.name: service a\/b is listed twice/],
    ["a bad identity", "services:\n  - namespace: a\n    name: b\n    ports: [{port: 1}]\n    endpoints: [{address: 1.2.3.4, meshed: true, identity: 'spiffe://x/y'}]\n", /identity: "spiffe:\/\/x\/y" is not a spiffe/],
    ["an endpoint port for no service port", "services:\n  - namespace: a\n    name: b\n    ports: [{name: http, port: 1}]\n    endpoints: [{address: 1.2.3.4, ports: {grpc: 2}}]\n", /ports\.grpc: unknown field/],
    ["a bad duration", "defaults:\n  requestTimeout: soon\n", /^f\.yaml:2:19: defaults\.requestTimeout: expected a duration/],
    ["a bad default inbound policy", "defaultInboundPolicy: allow-all\n", /^f\.yaml:1:\d+: defaultInboundPolicy: "allow-all" is not a default inbound policy/],
    ["a malformed authorization policy", "authorizationPolicies:\n  - metadata: {name: p, namespace: shop}\n    spec: {action: REJECT}\n", /^f\.yaml:2:\d+: authorizationPolicies\[0\]: .*spec\.action/],
    ["a duplicate authorization policy", "authorizationPolicies:\n  - metadata: {name: p, namespace: shop}\n    spec: {}\n  - metadata: {name: p, namespace: shop}\n    spec: {}\n", /authorizationPolicies\[1\]\.metadata\.name: authorization policy shop\/p is listed twice/],
  ];
  for (const [what, text, expected] of refusals) {
    it(`refuses ${what} with the line and column`, () => {
      const parsed = parseRegistryFile(text, "f.yaml");
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.message, expected);
    });
  }

  it("reloads on change, and keeps the last good state when the file turns malformed", async function () {
    this.timeout(20_000);
    const dir = await mkdtemp(join(tmpdir(), "weft-registry-"));
    try {
      const path = join(dir, "mesh.yaml");
      await writeFile(path, GOOD);
      const models: MeshModel[] = [];
      const errors: string[] = [];
      const source = await startRegistryFileSource({ path, onModel: (m) => models.push(m), onError: (e) => errors.push(e), settleMs: 20, pollMs: 200 });
      try {
        assert.equal(models.length, 1);
        await writeFile(path, "services:\n  - namespace: shop\n    name: web\n    ports: [{name: http, port: 80}]\n    endpoints:\n      - address: 999.1.1.1\n");
        await waitFor("the malformed file's error", () => errors.length > 0, { intervalMs: 20 });
        assert.match(errors[0]!, /mesh\.yaml:6:18/);
        assert.equal(models.length, 1);
        assert.equal(source.current()?.services.size, 2, "last good state kept");
        // Replaced atomically, as editors do.
        await writeFile(join(dir, "next.yaml"), "services:\n  - {namespace: shop, name: web, ports: [{name: http, port: 80}], endpoints: [{address: 10.0.0.1}]}\n");
        await rename(join(dir, "next.yaml"), path);
        await waitFor("the replaced file's model", () => models.length === 2, { intervalMs: 20 });
        assert.deepEqual([...models[1]!.services.keys()], ["shop/web"]);
      } finally {
        source.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
