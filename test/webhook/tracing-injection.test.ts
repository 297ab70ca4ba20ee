// What a pod's proxy is told about tracing: nothing when the mesh has no
// collector, else the mesh's settings, the pod's own sampling ratio when its
// annotation is valid, and the workload's name as the spans' service.
import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import { DEFAULT_INJECTOR_CONFIG, type InjectorConfig, type InjectorTracing } from "../../webhook/src/injector-config.ts";
import { injectPod } from "../../webhook/src/injector.ts";
import { podTracing, TRACING_SAMPLING_ANNOTATION, workloadName } from "../../webhook/src/tracing-injection.ts";

const TRACING: InjectorTracing = { endpoint: "collector:4317", protocol: "grpc", samplingRatio: 0.1, propagation: ["tracecontext"], maxQueueSize: 100 };
const NAMESPACE = { name: "shop", labels: { "weft.io/inject": "enabled" } };

function pod(metadata: V1Pod["metadata"]): V1Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { namespace: "shop", ...metadata }, spec: { containers: [{ name: "app", image: "app:1" }] } };
}

function proxyEnv(config: InjectorConfig, p: V1Pod): Record<string, string | undefined> {
  const out = injectPod(p, NAMESPACE, config).pod;
  const proxy = [...(out.spec?.initContainers ?? []), ...(out.spec?.containers ?? [])].find((c) => c.name === "weft-proxy");
  assert.ok(proxy);
  return Object.fromEntries((proxy.env ?? []).map((e) => [e.name, e.value]));
}

describe("tracing injection", () => {
  it("names the service after the app label, else the controller, else leaves it to the proxy", () => {
    assert.equal(workloadName(pod({ labels: { "app.kubernetes.io/name": "cart", app: "old" } })), "cart");
    assert.equal(workloadName(pod({ labels: { app: "web" } })), "web");
    const rs = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "checkout-5f7b9", uid: "u", controller: true };
    assert.equal(workloadName(pod({ labels: { "pod-template-hash": "5f7b9" }, ownerReferences: [rs] })), "checkout");
    // A ReplicaSet of its own (no Deployment's hash) keeps its name.
    assert.equal(workloadName(pod({ ownerReferences: [rs] })), "checkout-5f7b9");
    assert.equal(workloadName(pod({ ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "db", uid: "u", controller: true }] })), "db");
    assert.equal(workloadName(pod({ name: "debug", labels: { app: " " } })), undefined);
  });

  it("sets no tracing variable when the mesh has no tracing endpoint", () => {
    const env = proxyEnv(DEFAULT_INJECTOR_CONFIG, pod({ name: "web", labels: { app: "web" } }));
    assert.deepStrictEqual(Object.keys(env).filter((k) => k.startsWith("WEFT_TRACING_")), []);
  });

  it("sets the mesh's settings and the workload's name when tracing is on", () => {
    const env = proxyEnv({ ...DEFAULT_INJECTOR_CONFIG, tracing: TRACING }, pod({ name: "web-1", labels: { app: "web" } }));
    assert.equal(env.WEFT_TRACING_ENDPOINT, "collector:4317");
    assert.equal(env.WEFT_TRACING_PROTOCOL, "grpc");
    assert.equal(env.WEFT_TRACING_SAMPLING_RATIO, "0.1");
    assert.equal(env.WEFT_TRACING_PROPAGATION, "tracecontext");
    assert.equal(env.WEFT_TRACING_MAX_QUEUE_SIZE, "100");
    assert.equal(env.WEFT_TRACING_SERVICE_NAME, "web");
    assert.equal("WEFT_TRACING_SERVICE_NAME" in proxyEnv({ ...DEFAULT_INJECTOR_CONFIG, tracing: TRACING }, pod({ name: "bare" })), false);
  });

  it("takes a valid sampling-ratio annotation and warns about an invalid or useless one", () => {
    const warnings: string[] = [];
    const ratio = (value: string, tracing: InjectorTracing | undefined = TRACING) => podTracing(pod({ annotations: { [TRACING_SAMPLING_ANNOTATION]: value } }), tracing, warnings)?.samplingRatio;
    assert.equal(ratio("0"), 0);
    assert.equal(ratio("1"), 1);
    assert.equal(ratio(" 0.5 "), 0.5);
    assert.equal(ratio("1e-3"), 0.001);
    assert.deepStrictEqual(warnings, []);
    for (const bad of ["1.5", "-0.1", "half", "", "0x1", "Infinity", "."]) {
      const count: number = warnings.length;
      assert.equal(ratio(bad), 0.1, bad);
      assert.equal(warnings.length, count + 1, bad);
      assert.match(warnings.at(-1) ?? "", /is not a number from 0 to 1; using 0\.1/);
    }
    const off: string[] = [];
    assert.equal(podTracing(pod({ annotations: { [TRACING_SAMPLING_ANNOTATION]: "1" } }), undefined, off), undefined);
    assert.match(off[0] ?? "", /has no effect: tracing is off/);
  });
});
