// The proxy's tracing from its environment: the configuration (WEFT_TRACING_*)
// plus the workload's identity for the resource (pod, namespace, service), and
// the request observer that records spans. main.ts wires the observer into
// startProxy and the shutdown into its drain.
import type { Logger } from "../../../lib/log.ts";
import { PROXY_ENV } from "../../../lib/proxy-contract.ts";
import { fail, ok, type Result } from "../../../lib/result.ts";
import { createTracing, parseTracingConfig, rawTracingConfigFromEnv, type Tracing } from "../../../lib/tracing.ts";
import type { RequestObserver } from "../http/request-observer.ts";
import { tracingObserver } from "./observer.ts";

export interface ProxyTracing {
  tracing: Tracing;
  observer: RequestObserver;
}

export async function proxyTracingFromEnv(env: Record<string, string | undefined>, logger: Logger): Promise<Result<ProxyTracing, "tracing.invalid">> {
  const raw = rawTracingConfigFromEnv(env);
  const parsed = parseTracingConfig({
    ...raw,
    serviceName: raw["serviceName"] || env[PROXY_ENV.serviceAccount] || "weft-proxy",
    namespace: env[PROXY_ENV.podNamespace],
    podName: env[PROXY_ENV.podName],
    resourceAttributes: env[PROXY_ENV.nodeName] ? { "k8s.node.name": env[PROXY_ENV.nodeName] } : undefined,
  });
  if (!parsed.ok) return fail(parsed.code, parsed.message);
  const tracing = await createTracing(parsed.value, { logger, scope: "weft-proxy", rootSampling: "caller" });
  return ok({ tracing, observer: tracingObserver(tracing) });
}
