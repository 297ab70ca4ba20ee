// `weft proxy-status`'s side of the control plane: per ServiceAccount, which
// version its proxies' streams hold (ACKed) against their group's current
// one, as a gauge counted at scrape time. A metric rather than a new endpoint:
// the CLI already reads this /metrics through pods/proxy for `weft check`, and
// the labels stay bounded (workloads × versions in flight, no pod names).
import { Gauge, type Registry } from "prom-client";

export interface StreamStatus {
  proxy: { namespace: string; serviceAccount: string };
  group: string | null;
  state: { held: string | null; subscribed: boolean };
}

export const PROXY_VERSIONS_METRIC = "weft_discovery_proxy_versions";

export function registerStreamStatusMetric(registry: Registry, streams: () => Iterable<StreamStatus>, current: (group: string) => string | null): void {
  new Gauge({
    name: PROXY_VERSIONS_METRIC,
    help: "Open streams by proxy namespace and ServiceAccount, the version the proxy holds (acked) and its group's current one",
    labelNames: ["namespace", "service_account", "acked", "current"],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, { labels: Record<string, string>; n: number }>();
      for (const s of streams()) {
        const labels = {
          namespace: s.proxy.namespace,
          service_account: s.proxy.serviceAccount,
          acked: s.state.held ?? "",
          current: s.group === null || !s.state.subscribed ? "" : (current(s.group) ?? ""),
        };
        const key = JSON.stringify(labels);
        const entry = counts.get(key) ?? { labels, n: 0 };
        entry.n += 1;
        counts.set(key, entry);
      }
      for (const { labels, n } of counts.values()) this.set(labels, n);
    },
  });
}
