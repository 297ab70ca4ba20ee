// `weft check`'s verdict on the Gateway API CRDs that GAMMA routing reads
// (docs/routing.md). Routing is optional: no CRDs is a pass that says routes
// are off; CRDs of a release Weft was not built against is a failure, since
// fields it does not know would be pruned or ignored.

import type { CheckResult } from "./check-results.ts";

/** The Gateway API minor Weft's routing is built and conformance-tested against (charts/weft/files/gateway-api/VERSION). */
export const SUPPORTED_GATEWAY_API = "v1.6";

export interface GatewayApiCrdFact {
  /** CRD name -> its gateway.networking.k8s.io/bundle-version and channel annotations; absent: not installed. */
  crds: Record<string, { version: string; channel: string } | undefined>;
}

const REQUIRED = ["httproutes.gateway.networking.k8s.io", "grpcroutes.gateway.networking.k8s.io", "referencegrants.gateway.networking.k8s.io"];

export function checkGatewayApi(fact: GatewayApiCrdFact | Error): CheckResult {
  const name = "gateway-api";
  if (fact instanceof Error) return { name, ok: false, message: `cannot read the Gateway API CRDs: ${fact.message}`, hint: "weft check needs get customresourcedefinitions" };
  const installed = REQUIRED.filter((crd) => fact.crds[crd] !== undefined);
  if (installed.length === 0) {
    return { name, ok: true, message: "Gateway API CRDs not installed: routing with HTTPRoute/GRPCRoute is off (optional)", hint: "" };
  }
  const versions = [...new Set(installed.map((crd) => fact.crds[crd]?.version || "unknown"))];
  const channel = [...new Set(installed.map((crd) => fact.crds[crd]?.channel || "unknown"))].join(", ");
  const missing = REQUIRED.filter((crd) => !installed.includes(crd)).map((crd) => crd.split(".")[0]);
  const supported = versions.every((v) => v === SUPPORTED_GATEWAY_API || v.startsWith(`${SUPPORTED_GATEWAY_API}.`));
  const what = `Gateway API ${versions.join(", ")} (${channel} channel)`;
  if (!supported) {
    return { name, ok: false, message: `${what} installed; Weft supports ${SUPPORTED_GATEWAY_API}.x`, hint: `install Gateway API ${SUPPORTED_GATEWAY_API}.x CRDs (the chart's gatewayAPI.installCRDs does, when no other owner manages them)` };
  }
  if (missing.length > 0) return { name, ok: true, message: `${what}, supported; not installed: ${missing.join(", ")} (those routes are off)`, hint: "" };
  return { name, ok: true, message: `${what}, supported`, hint: "" };
}
