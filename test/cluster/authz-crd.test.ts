// The AuthorizationPolicy CRD exactly as the chart renders it, on a real
// kube-apiserver: it is accepted (structural schema, CEL cost within budget),
// becomes Established, stores valid policies of each target kind, and refuses
// malformed ones with a message that names the field and the problem. The
// parser (lib/authz/spec-parse.ts) is held to the same verdict on every case.
import assert from "node:assert/strict";
import { ApiextensionsV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { parseAuthorizationPolicy } from "../../lib/authz/spec-parse.ts";
import { AUTHZ_GROUP, AUTHZ_PLURAL, AUTHZ_VERSION } from "../../lib/authz/spec.ts";
import { helmBinary, render } from "../chart/helm.ts";
import { ACCEPTED, policyObject, REFUSED, type Json } from "../lib/authz-policy-cases.ts";
import { waitFor } from "../support/wait.ts";
import { kubernetesBinariesAvailable, useCluster } from "./cluster.ts";

const CRD_NAME = `${AUTHZ_PLURAL}.${AUTHZ_GROUP}`;

/** The apiserver's refusal message (a Status object's), or the error's text. */
function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  if (typeof body === "string") {
    try {
      const status = JSON.parse(body) as { message?: unknown };
      if (typeof status.message === "string") return status.message;
    } catch {
      return body;
    }
  }
  return String(err);
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("authz: the AuthorizationPolicy CRD on a real apiserver", function () {
  this.timeout(120_000);
  before(function () {
    if (!kubernetesBinariesAvailable() || helmBinary() === undefined) this.skip();
  });
  const cluster = useCluster();
  let ns: string;
  let objects: CustomObjectsApi;

  before(async function () {
    this.timeout(120_000);
    const c = cluster();
    const crd = render().find((o) => o.kind === "CustomResourceDefinition" && o.metadata.name === CRD_NAME);
    assert.ok(crd, "the chart renders the CRD with default values");
    // Through kubectl, byte for byte: client-node's typed serializer drops schema
    // keys it models under other names (enum, default, x-kubernetes-validations).
    const applied = await c.kubectl(["create", "-f", "-"], { input: JSON.stringify(crd) });
    assert.equal(applied.code, 0, applied.stderr);
    const extensions = c.kubeConfig.makeApiClient(ApiextensionsV1Api);
    await waitFor("the CRD to be Established", async () => {
      const read = await extensions.readCustomResourceDefinition({ name: CRD_NAME });
      return read.status?.conditions?.some((x) => x.type === "Established" && x.status === "True") === true;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    ns = await c.createNamespace("authz");
    objects = c.kubeConfig.makeApiClient(CustomObjectsApi);
  });

  // Strict, as kubectl is by default: unknown fields are refused, not dropped.
  const create = (name: string, spec: Json): Promise<Json> =>
    objects.createNamespacedCustomObject({
      group: AUTHZ_GROUP,
      version: AUTHZ_VERSION,
      namespace: ns,
      plural: AUTHZ_PLURAL,
      body: policyObject(name, ns, spec),
      fieldValidation: "Strict",
    }) as Promise<Json>;

  describe("accepts valid policies, and the parser reads back what was stored", () => {
    ACCEPTED.forEach((c, i) => {
      it(c.name, async () => {
        const stored = await create(`ok-${i}`, c.spec);
        const fromApi = parseAuthorizationPolicy(stored);
        assert.ok(fromApi.ok, fromApi.ok ? "" : fromApi.message);
        const local = parseAuthorizationPolicy(policyObject(`ok-${i}`, ns, c.spec));
        assert.ok(local.ok, local.ok ? "" : local.message);
        // The apiserver's defaulting (action: ALLOW) is the parser's too.
        assert.deepEqual(fromApi.value, local.value);
        assert.equal((stored.spec as Json).action, local.value.action);
      });
    });
  });

  describe("refuses malformed policies, naming the problem, as the parser does", () => {
    REFUSED.forEach((c, i) => {
      it(`${c.name}: ${c.path}: ${c.message}`, async () => {
        const local = parseAuthorizationPolicy(policyObject(`bad-${i}`, ns, c.spec));
        assert.ok(!local.ok, "the parser refuses it too");
        let message: string | undefined;
        try {
          await create(`bad-${i}`, c.spec);
        } catch (err) {
          // 422 from validation; 400 from strict decoding (an unknown field).
          assert.ok([400, 422].includes((err as { code?: number }).code ?? 0), apiMessage(err));
          message = apiMessage(err);
        }
        assert.ok(message !== undefined, "the apiserver refuses it");
        const want = c.apiserver ?? new RegExp(`${escape(c.path)}: Invalid value: "[a-z]+": ${escape(c.message)}`);
        assert.match(message, want);
      });
    });
  });

  it("lists policies with their action and target (kubectl get wap)", async () => {
    await create("columns", { targetRefs: [{ kind: "Service", name: "payments" }], action: "DENY" });
    const r = await cluster().kubectl(["get", "wap", "columns", "-n", ns]);
    assert.equal(r.code, 0, r.stderr);
    const [header = "", row = ""] = r.stdout.trim().split("\n");
    assert.deepEqual(header.split(/\s+/), ["NAME", "ACTION", "TARGET", "AGE"]);
    assert.deepEqual(row.split(/\s+/).slice(0, 3), ["columns", "DENY", "payments"]);
  });
});
