// The control plane's tracing from its environment (WEFT_TRACING_*, as the
// proxy): spans for its own work (certificate issuance, snapshot pushes), with
// the control plane's identity as the resource. No endpoint: tracing is off.
import type { Logger } from "../../lib/log.ts";
import { ok, type Result } from "../../lib/result.ts";
import { createTracing, parseTracingConfig, rawTracingConfigFromEnv, type Tracing } from "../../lib/tracing.ts";

export async function controlPlaneTracingFromEnv(
  env: Record<string, string | undefined>,
  identity: { namespace: string; serviceAccount: string },
  logger: Logger,
): Promise<Result<Tracing, "tracing.invalid">> {
  const raw = rawTracingConfigFromEnv(env);
  const parsed = parseTracingConfig({
    ...raw,
    serviceName: raw["serviceName"] || identity.serviceAccount,
    namespace: identity.namespace,
    podName: env["WEFT_POD_NAME"] || env["HOSTNAME"],
  });
  if (!parsed.ok) return parsed;
  return ok(await createTracing(parsed.value, { logger, scope: "weft-control-plane" }));
}
