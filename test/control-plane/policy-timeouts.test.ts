import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadSync } from "@grpc/proto-loader";
import { protoLoaderOptions } from "../../api/load.ts";
import type { Service__Output } from "../../api/gen/weft/discovery/v1/Service.ts";
import { clientOverrideFromAnnotations } from "../../control-plane/src/policy-annotations.ts";
import { DEFAULT_CLIENT_SETTINGS } from "../../control-plane/src/policy-defaults.ts";
import { encodeService } from "../../control-plane/src/snapshot-encode.ts";
import { buildView, compileMesh } from "../../control-plane/src/snapshot-builder.ts";
import { parseRegistryFile } from "../../control-plane/src/source-registry-file-parse.ts";
import { effectivePolicy } from "../../sidecar/src/discovery/client-policy.ts";
import { mesh, namespace, service } from "./discovery-helpers.ts";

const serviceCodec = loadSync(fileURLToPath(new URL("../../api/discovery.proto", import.meta.url)), protoLoaderOptions)["weft.discovery.v1.Service"] as unknown as {
  deserialize(bytes: Buffer): Service__Output;
};

describe("client policy timeouts from annotations to the proxy", () => {
  it("reads the response, idle and total timeouts from a Service's annotations", () => {
    const parsed = clientOverrideFromAnnotations({ "timeout.weft.io/response": "3s", "timeout.weft.io/idle": "5m", "timeout.weft.io/total": "1h" });
    assert.deepEqual(parsed, { value: { responseTimeoutMs: 3_000, idleTimeoutMs: 300_000, totalTimeoutMs: 3_600_000 }, problems: [] });
  });

  it("reads timeout.weft.io/request as the response timeout, and lets timeout.weft.io/response win", () => {
    assert.deepEqual(clientOverrideFromAnnotations({ "timeout.weft.io/request": "2s" }).value, { responseTimeoutMs: 2_000 });
    assert.deepEqual(clientOverrideFromAnnotations({ "timeout.weft.io/request": "2s", "timeout.weft.io/response": "0" }).value, { responseTimeoutMs: 0 });
  });

  it("skips a bad timeout annotation with a stable code and keeps the others", () => {
    const parsed = clientOverrideFromAnnotations({ "timeout.weft.io/idle": "forever", "timeout.weft.io/total": "30s" });
    assert.deepEqual(parsed.value, { totalTimeoutMs: 30_000 });
    assert.deepEqual(parsed.problems.map((p) => p.code), ["bad-policy-annotation"]);
    assert.match(parsed.problems[0]!.message, /timeout\.weft\.io\/idle/);
  });

  it("defaults to a 10 s response timeout, a 1 h idle timeout and no total timeout", () => {
    assert.deepEqual([DEFAULT_CLIENT_SETTINGS.responseTimeoutMs, DEFAULT_CLIENT_SETTINGS.idleTimeoutMs, DEFAULT_CLIENT_SETTINGS.totalTimeoutMs], [10_000, 3_600_000, 0]);
  });

  it("carries a Service's 0 to the proxy as off, not as unset", () => {
    const m = mesh([service("shop", "web", [], { clientPolicy: { responseTimeoutMs: 0, idleTimeoutMs: 0 } })], [namespace("shop", true)]);
    const view = buildView(compileMesh(m), "shop");
    const wire = serviceCodec.deserialize(encodeService(view.services.get("shop/web")!.message));
    const policy = effectivePolicy(view.policy.clientDefaults as Parameters<typeof effectivePolicy>[0], wire.clientPolicy);
    assert.deepEqual([policy.responseTimeoutMs, policy.idleTimeoutMs, policy.totalTimeoutMs], [0, 0, 0]);
    assert.equal(wire.clientPolicy?.requestTimeoutMs, 0, "proxies from before the split read the same response timeout");
  });

  it("sends complete timeouts in the mesh-wide defaults", () => {
    const view = buildView(compileMesh(mesh([], [namespace("shop", true)])), "shop");
    const d = view.policy.clientDefaults;
    assert.deepEqual([d?.responseTimeoutMs, d?.idleTimeoutMs, d?.totalTimeoutMs, d?.requestTimeoutMs], [10_000, 3_600_000, 0, 10_000]);
  });

  it("reads mesh-wide and per-Service timeouts from the local registry file, with requestTimeout as an alias", () => {
    const parsed = parseRegistryFile(
      "defaults:\n  responseTimeout: 2s\n  idleTimeout: 30s\n  totalTimeout: 0\nservices:\n  - namespace: shop\n    name: web\n    ports: [{ port: 80 }]\n    policy: { requestTimeout: 4s, totalTimeout: 1m }\n",
      "f.yaml",
    );
    assert.ok(parsed.ok, parsed.ok ? "" : parsed.message);
    assert.deepEqual(parsed.value.clientDefaults, { responseTimeoutMs: 2_000, idleTimeoutMs: 30_000, totalTimeoutMs: 0 });
    assert.deepEqual(parsed.value.services.get("shop/web")?.clientPolicy, { responseTimeoutMs: 4_000, totalTimeoutMs: 60_000 });
  });
});
