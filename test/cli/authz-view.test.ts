import assert from "node:assert/strict";
import type { V1EndpointSlice, V1Service } from "@kubernetes/client-node";
import { formatCheck, formatWorkloadAuthz } from "../../cli/src/authz-format.ts";
import { checkService, servicePortsOf, workloadAuthz, type NamespaceObjects, type PodFacts } from "../../cli/src/authz-view.ts";
import { callerOf, httpOf, serviceOf } from "../../cli/src/cmd-authz.ts";

const NS = "payments";
const pod = (name: string, labels: Record<string, string>, annotations: Record<string, string> = {}): PodFacts => ({ namespace: NS, name, labels, annotations });
const policy = (name: string, spec: object) => ({ apiVersion: "policy.weft.io/v1alpha1", kind: "AuthorizationPolicy", metadata: { name, namespace: NS }, spec });
const service: V1Service = { metadata: { name: "payments", namespace: NS }, spec: { ports: [{ name: "http", port: 80 }, { name: "grpc", port: 9090 }] } };
const slice = (pods: string[]): V1EndpointSlice => ({
  addressType: "IPv4",
  metadata: { name: "payments-abc", namespace: NS, labels: { "kubernetes.io/service-name": "payments" } },
  ports: [{ name: "http", port: 8080 }, { name: "grpc", port: 9091 }],
  endpoints: pods.map((p, i) => ({ addresses: [`10.0.0.${i + 1}`], targetRef: { kind: "Pod", name: p, namespace: NS } })),
});

function objects(policies: unknown[], namespaceAnnotations: Record<string, string> = {}): NamespaceObjects {
  return {
    namespace: NS, namespaceAnnotations, policies, services: [service], slices: [slice(["payments-1", "payments-2"])],
    mesh: { defaultPolicy: { name: "all-authenticated", dryRun: false }, trustDomain: "cluster.local" },
  };
}

const CHARGE = policy("charge", {
  targetRefs: [{ kind: "Service", name: "payments", port: 80 }],
  rules: [{ from: [{ serviceAccounts: ["checkout/checkout"] }], to: [{ methods: ["POST"], paths: [{ exact: "/charge" }] }] }],
});
const NO_ADMIN = policy("no-admin", { action: "DENY", rules: [{ to: [{ paths: [{ prefix: "/admin/" }] }] }] });
const OTHER = policy("batch-only", { selector: { matchLabels: { app: "batch" } }, rules: [{ from: [{}] }] });

describe("weft authz: the policies of a workload, from cluster objects", () => {
  it("lists the policies that select the pod, Service targets on the pod ports their Service ports reach", () => {
    const view = workloadAuthz(pod("payments-1", { app: "payments" }), objects([CHARGE, NO_ADMIN, OTHER]));
    assert.deepEqual(view.default, { policy: "all-authenticated", source: "mesh-wide" });
    assert.deepEqual(view.policies, [
      { name: "payments/charge", action: "ALLOW", ports: "8080", rules: 1, target: "svc/payments:80" },
      { name: "payments/no-admin", action: "DENY", ports: "all", rules: 1, target: "namespace" },
    ]);
    assert.deepEqual(view.notSelecting, ["payments/batch-only"]);
    assert.deepEqual(view.problems, []);
  });

  it("takes the pod's default annotation over the namespace's, and the namespace's over its legacy inbound-mode", () => {
    const ns = { "config.weft.io/default-inbound-policy": "cluster-authenticated", "config.weft.io/inbound-mode": "permissive" };
    assert.deepEqual(workloadAuthz(pod("p", {}), objects([], ns)).default, { policy: "cluster-authenticated", source: "namespace annotation" });
    assert.deepEqual(workloadAuthz(pod("p", {}, { "config.weft.io/default-inbound-policy": "dry-run:deny" }), objects([], ns)).default, { policy: "dry-run:deny", source: "pod annotation" });
    assert.deepEqual(workloadAuthz(pod("p", {}), objects([], { "config.weft.io/inbound-mode": "permissive" })).default, { policy: "all-unauthenticated", source: "namespace inbound-mode (legacy)" });
  });

  it("reports a bad default annotation and a malformed policy, and shows the malformed policy as it is enforced", () => {
    const bad = policy("broken", { action: "DENY", rules: [{ to: [{ paths: [{ exact: "no-slash" }] }] }] });
    const view = workloadAuthz(pod("payments-1", { app: "payments" }, { "config.weft.io/default-inbound-policy": "maybe" }), objects([bad]));
    assert.equal(view.default.source, "mesh-wide");
    assert.equal(view.problems.length, 2);
    assert.match(view.problems.join("\n"), /payments\/broken: enforced as deny-everything/);
    assert.match(view.problems.join("\n"), /annotation config.weft.io\/default-inbound-policy="maybe" ignored/);
    assert.deepEqual(view.policies.map((p) => [p.name, p.action]), [["payments/broken", "DENY"]]);
  });

  it("maps each Service port to the pod port it reaches, only for the pod's own endpoints", () => {
    assert.deepEqual(servicePortsOf("payments-2", [service], [slice(["payments-1", "payments-2"])]), new Map([["payments", new Map([[80, 8080], [9090, 9091]])]]));
    assert.deepEqual(servicePortsOf("elsewhere", [service], [slice(["payments-1"])]), new Map());
  });

  it("prints a table that names the default and its source", () => {
    const text = formatWorkloadAuthz(workloadAuthz(pod("payments-1", { app: "payments" }), objects([CHARGE])), [], "table");
    assert.equal(text, [
      "POD payments/payments-1",
      "DEFAULT all-authenticated (mesh-wide)",
      "",
      "POLICY           ACTION  PORTS  RULES  TARGET",
      "payments/charge  ALLOW   8080   1      svc/payments:80",
      "",
    ].join("\n"));
  });
});

describe("weft authz check: a caller's request decided as each pod behind the Service decides it", () => {
  const pods = [pod("payments-1", { app: "payments" }), pod("payments-2", { app: "payments" })];
  const checkout = "spiffe://cluster.local/ns/checkout/sa/checkout";
  const http = (method: string, path: string) => ({ method, path, host: "payments.payments.svc.cluster.local", grpc: false });

  it("allows the named caller on the ALLOW's port and names the policy", () => {
    const rows = checkService("payments", { peer: checkout, servicePort: 80, http: http("POST", "/charge") }, pods, objects([CHARGE, NO_ADMIN]));
    assert.deepEqual(rows.map((r) => [r.pod, r.port, r.allowed, r.policy, r.kind]), [
      ["payments/payments-1", 8080, true, "payments/charge", "allow-policy"],
      ["payments/payments-2", 8080, true, "payments/charge", "allow-policy"],
    ]);
  });

  it("refuses a caller the ALLOW does not name, and a DENY refuses every spelling of its path", () => {
    const other = checkService("payments", { peer: "spiffe://cluster.local/ns/shop/sa/web", servicePort: 80, http: http("POST", "/charge") }, pods, objects([CHARGE, NO_ADMIN]));
    assert.deepEqual(other.map((r) => [r.allowed, r.policy, r.kind]), [[false, "payments/charge", "no-allow-match"], [false, "payments/charge", "no-allow-match"]]);
    const admin = checkService("payments", { peer: checkout, servicePort: 80, http: http("GET", "/x/../admin/keys") }, pods.slice(0, 1), objects([NO_ADMIN]));
    assert.deepEqual(admin.map((r) => [r.allowed, r.policy]), [[false, "payments/no-admin"]]);
  });

  it("decides every port of the Service when none is named, the default deciding where no ALLOW covers the port", () => {
    const rows = checkService("payments", { peer: null, servicePort: undefined }, pods.slice(0, 1), objects([CHARGE]));
    assert.deepEqual(rows.map((r) => [r.port, r.allowed, r.policy]), [[8080, false, "payments/charge"], [9091, false, "default:all-authenticated"]]);
    const text = formatCheck({ from: "unauthenticated", to: "svc/payments in payments", what: "opaque TCP" }, rows, [], "table");
    assert.match(text, /payments\/payments-1 +9091 +DENY +default:all-authenticated +default/);
  });

  it("reads --from, --to and the request flags as the user types them", () => {
    assert.equal(callerOf("checkout/checkout", "cluster.local"), checkout);
    assert.equal(callerOf("unauthenticated", "cluster.local"), null);
    assert.throws(() => callerOf("checkout", "cluster.local"), /not NAMESPACE\/SERVICEACCOUNT/);
    assert.deepEqual(serviceOf("svc/payments:80"), { service: "payments", port: 80 });
    assert.deepEqual(serviceOf("payments"), { service: "payments", port: undefined });
    assert.throws(() => serviceOf("payments:99999"), /not \[svc\/\]NAME\[:PORT\]/);
    assert.deepEqual(httpOf({ grpc: "billing.v1.Billing/Refund" }, "h"), { method: "POST", path: "/billing.v1.Billing/Refund", host: "h", grpc: true });
    assert.deepEqual(httpOf({ method: "post", path: "/charge?x=1" }, "H"), { method: "POST", path: "/charge", host: "h", grpc: false });
    assert.equal(httpOf({ tcp: true }, "h"), undefined);
    assert.throws(() => httpOf({ tcp: true, path: "/x" }, "h"), /opaque connection has only a port/);
  });
});
