// The other side of the injection contract: the proxy's own configuration
// loader (sidecar/src/proxy-config.ts) accepts the command line and environment
// the injector writes, and reads back the same ports, opaque ports, log level
// and rewritten app probes.
import assert from "node:assert/strict";
import type { V1Container } from "@kubernetes/client-node";
import { silentLogger } from "../../lib/log.ts";
import { parseTracingConfig, rawTracingConfigFromEnv } from "../../lib/tracing-config.ts";
import { loadConfig } from "../../sidecar/src/proxy-config.ts";
import { proxyTracingFromEnv } from "../../sidecar/src/tracing/setup.ts";
import { injectPod } from "../../webhook/src/injector.ts";
import { parsePortList } from "../../lib/port-list.ts";
import { TRACING_SAMPLING_ANNOTATION } from "../../webhook/src/tracing-injection.ts";
import { goldenPods } from "./golden-cases.ts";

// What the kubelet would put in the downward-API variables.
const DOWNWARD: Record<string, string> = {
  "metadata.name": "web-1",
  "metadata.namespace": "shop",
  "spec.serviceAccountName": "web",
  "spec.nodeName": "node-1",
  "status.podIP": "10.0.0.7",
  "metadata.labels['topology.kubernetes.io/zone']": "zone-a",
};

function environment(proxy: V1Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of proxy.env ?? []) {
    const path = e.valueFrom?.fieldRef?.fieldPath;
    env[e.name] = e.value ?? (path !== undefined ? (DOWNWARD[path] ?? assert.fail(`unknown field ${path}`)) : "");
  }
  return env;
}

describe("the proxy reads what the injector writes", () => {
  for (const g of goldenPods()) {
    const { pod, decision } = injectPod(g.pod, g.namespace, g.config);
    if (!decision.inject) continue;
    it(`for ${g.caseName}/${g.pod.metadata?.name ?? g.pod.metadata?.generateName}`, async () => {
      const proxy = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === "weft-proxy");
      assert.ok(proxy);
      // The chart always hands the injector the mesh's trust anchors; the golden configs mostly leave them out.
      const env: Record<string, string> = { WEFT_TRUST_ANCHORS_PEM: "anchors from the chart", ...environment(proxy) };
      const args = (proxy.args ?? []).slice(g.config.proxy.command.length - 1);
      const loaded = loadConfig(args, env);
      assert.ok(loaded.ok, loaded.ok ? "" : loaded.message);
      const c = loaded.value;
      assert.deepStrictEqual([c.inboundPort, c.outboundPort, c.adminPort], [g.config.proxy.ports.inbound, g.config.proxy.ports.outbound, g.config.proxy.ports.admin]);
      assert.ok(c.mode.kind === "control-plane", c.mode.kind);
      assert.equal(c.mode.address, g.config.controlPlane.address);
      assert.equal(c.mode.identity.trustDomain, g.config.controlPlane.trustDomain);
      assert.equal(c.mode.identityTokenFile, "/var/run/secrets/weft.io/identity/token");
      assert.equal(c.zone, "zone-a");
      assert.equal(c.logLevel, env.WEFT_LOG_LEVEL);
      const opaque = parsePortList(env.WEFT_OPAQUE_PORTS ?? "");
      assert.ok(opaque.ok);
      assert.deepStrictEqual([...c.opaquePorts].sort((a, b) => a - b), opaque.value.flatMap((r) => Array.from({ length: r.to - r.from + 1 }, (_, i) => r.from + i)));
      assert.deepStrictEqual(c.appProbes, JSON.parse(env.WEFT_APP_PROBES ?? "{}"));
      // Every rewritten probe of the app points at a path the proxy knows.
      for (const app of pod.spec?.containers ?? []) {
        for (const probe of [app.livenessProbe, app.readinessProbe, app.startupProbe]) {
          const path = probe?.httpGet?.path;
          if (path?.startsWith("/app-health/")) assert.ok(c.appProbes[path], `${path} unknown to the proxy`);
        }
      }
      // Tracing: the proxy's own start-up accepts the variables, and traces exactly when the mesh does.
      const tracing = await proxyTracingFromEnv(env, silentLogger());
      assert.ok(tracing.ok, tracing.ok ? "" : tracing.message);
      try {
        assert.equal(tracing.value.tracing.enabled, g.config.tracing !== undefined);
      } finally {
        await tracing.value.tracing.shutdown();
      }
      const t = parseTracingConfig(rawTracingConfigFromEnv(env));
      assert.ok(t.ok, t.ok ? "" : t.message);
      if (g.config.tracing) {
        assert.equal(t.value.export?.protocol, g.config.tracing.protocol);
        assert.equal(t.value.export?.maxQueueSize, g.config.tracing.maxQueueSize);
        assert.deepStrictEqual(t.value.propagation, g.config.tracing.propagation);
        const asked = Number(g.pod.metadata?.annotations?.[TRACING_SAMPLING_ANNOTATION]);
        assert.equal(t.value.samplingRatio, Number.isFinite(asked) ? asked : g.config.tracing.samplingRatio);
      } else {
        assert.equal(t.value.export, undefined);
      }
    });
  }
});
