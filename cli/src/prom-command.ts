// What `weft stat`, `weft top` and `weft edges` share: the Prometheus flags (the chart's
// Prometheus through the apiserver by default, or --prometheus-url), --window, the target
// argument, and the queries run in parallel.
import type { ParseArgsOptionsConfig } from "node:util";
import type { KubeConfig } from "@kubernetes/client-node";
import { CoreV1Api } from "@kubernetes/client-node";
import { UsageError } from "./exit-codes.ts";
import type { ParsedArgs } from "./kube-flags.ts";
import { namespaceOf } from "./kube-flags.ts";
import { serviceQuerier, urlQuerier, type PromQuerier, type PromRangeQuerier } from "./prom-access.ts";
import { parseTarget, parseWindow, type Target } from "./prom-queries.ts";
import type { PromSample } from "./prom-rows.ts";

export const PROM_OPTIONS = {
  "prometheus-url": { type: "string" },
  "prometheus-namespace": { type: "string", default: "weft-system" },
  "prometheus-service": { type: "string", default: "weft-prometheus" },
  "prometheus-port": { type: "string", default: "9090" },
  window: { type: "string", default: "1m" },
} as const satisfies ParseArgsOptionsConfig;

export const PROM_USAGE =
  "[--window 1m] [--prometheus-url URL | --prometheus-namespace weft-system --prometheus-service weft-prometheus --prometheus-port 9090]";

/**
 * --prometheus-url; else the URL the chart's prometheus.url recorded (ConfigMap weft-cli);
 * else the chart's own Prometheus Service through the apiserver.
 */
export async function querierOf(kc: KubeConfig, values: ParsedArgs["values"]): Promise<PromRangeQuerier> {
  const url = values["prometheus-url"];
  if (typeof url === "string") return urlQuerier(url);
  const namespace = String(values["prometheus-namespace"]);
  try {
    const cm = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: "weft-cli", namespace });
    const recorded = cm.data?.prometheusUrl;
    if (recorded) return urlQuerier(recorded);
  } catch {
    // No such ConfigMap (prometheus.url unset), or no right to read it: the chart's Service it is.
  }
  return serviceQuerier(kc, namespace, String(values["prometheus-service"]), String(values["prometheus-port"]));
}

export function windowOf(values: ParsedArgs["values"]): string {
  const w = parseWindow(String(values.window));
  if (!w.ok) throw new UsageError(w.message);
  return w.value;
}

/** The one positional argument as a target; -A leaves the namespace open. */
export function targetOf(args: ParsedArgs, kc: KubeConfig): { target: Target; namespace: string } {
  if (args.positionals.length !== 1) throw new UsageError("takes one resource: deploy, deploy/NAME, pod/NAME, svc/NAME or ns/NAME");
  const namespace = namespaceOf(kc, args.kube);
  const t = parseTarget(args.positionals[0] ?? "", args.kube.allNamespaces ? undefined : namespace);
  if (!t.ok) throw new UsageError(t.message);
  return { target: t.value, namespace };
}

/** Every named query, in parallel, all at one evaluation time: shares of one rate in another stay consistent. */
export async function runQueries<K extends string>(prom: PromQuerier, queries: Record<K, string>, time = Date.now() / 1000): Promise<Record<K, PromSample[]>> {
  const entries = await Promise.all(Object.entries<string>(queries).map(async ([name, q]) => [name, await prom.query(q, time)] as const));
  return Object.fromEntries(entries) as Record<K, PromSample[]>;
}
