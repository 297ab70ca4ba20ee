// The chart's Prometheus (prometheus.enabled) and the operator's own (prometheus.url):
// what renders, least-privilege discovery RBAC, and the scrape configuration that gives
// every proxy series the namespace, pod and workload labels `weft stat/top/edges` group by.
import assert from "node:assert/strict";
import type { V1ClusterRole, V1Deployment } from "@kubernetes/client-node";
import { parse } from "yaml";
import { find, helm, helmBinary, render, CHART } from "./helm.ts";

interface RelabelRule {
  source_labels?: string[];
  regex?: string;
  replacement?: string;
  target_label?: string;
  action?: string;
}
interface ScrapeConfig {
  job_name: string;
  kubernetes_sd_configs: { role: string }[];
  relabel_configs: RelabelRule[];
}

/** Prometheus's relabeling, as far as these rules use it: anchored regex, replace (the default) and keep. */
function relabel(rules: RelabelRule[], meta: Record<string, string>): Record<string, string> | null {
  const labels = { ...meta };
  for (const r of rules) {
    const value = (r.source_labels ?? []).map((l) => labels[l] ?? "").join(";");
    const m = new RegExp(`^(?:${r.regex ?? "(.*)"})$`).exec(value);
    if (r.action === "keep" && !m) return null;
    if (r.action === "drop" && m) return null;
    if ((r.action ?? "replace") === "replace" && m && r.target_label) labels[r.target_label] = (r.replacement ?? "$1").replace(/\$(\d)/g, (_x, i: string) => m[Number(i)] ?? "");
  }
  return labels;
}

describe("chart: Prometheus", function () {
  this.timeout(120_000);
  before(function () {
    if (helmBinary() === undefined) this.skip();
  });

  it("renders none by default", () => {
    const objects = render();
    assert.deepEqual(objects.filter((o) => o.metadata.name === "weft-prometheus" || o.metadata.name === "weft-cli"), []);
  });

  describe("with prometheus.enabled", () => {
    const objects = (): ReturnType<typeof render> => render(["--set", "prometheus.enabled=true"]);
    let config: { scrape_configs: ScrapeConfig[] };
    let all: ReturnType<typeof render>;
    before(() => {
      all = objects();
      config = parse((find(all, "ConfigMap", "weft-prometheus").data as Record<string, string>)["prometheus.yml"] ?? "") as typeof config;
    });

    it("installs a Deployment, its Service on 9090, the config and read-only discovery RBAC", () => {
      const d = find(all, "Deployment", "weft-prometheus") as unknown as V1Deployment;
      const c = d.spec?.template.spec?.containers[0];
      assert.equal(c?.image, "quay.io/prometheus/prometheus:v3.16.0");
      assert.ok(c?.args?.includes("--config.file=/etc/prometheus/prometheus.yml"));
      assert.equal(c?.securityContext?.readOnlyRootFilesystem, true);
      assert.equal(d.spec?.template.spec?.serviceAccountName, "weft-prometheus");
      const svc = find(all, "Service", "weft-prometheus") as { spec?: { ports?: { port: number }[] } };
      assert.equal(svc.spec?.ports?.[0]?.port, 9090);
      const role = find(all, "ClusterRole", "weft-prometheus") as unknown as V1ClusterRole;
      for (const rule of role.rules ?? []) assert.deepEqual(rule.verbs, ["get", "list", "watch"]);
      assert.ok(role.rules?.some((r) => r.resources?.includes("pods")));
      find(all, "ClusterRoleBinding", "weft-prometheus");
    });

    it("scrapes each meshed pod's weft-admin port with namespace, pod and workload labels", () => {
      const job = config.scrape_configs.find((j) => j.job_name === "weft-proxies");
      assert.ok(job);
      assert.equal(job.kubernetes_sd_configs[0]?.role, "pod");
      const pod = (port: string, kind: string, owner: string): Record<string, string> | null =>
        relabel(job.relabel_configs, {
          __meta_kubernetes_pod_container_port_name: port,
          __meta_kubernetes_pod_phase: "Running",
          __meta_kubernetes_namespace: "shop",
          __meta_kubernetes_pod_name: `${owner}-x7k2p`,
          __meta_kubernetes_pod_controller_kind: kind,
          __meta_kubernetes_pod_controller_name: owner,
        });
      const web = pod("weft-admin", "ReplicaSet", "web-v2-6d9c8f5b7");
      assert.equal(web?.namespace, "shop");
      assert.equal(web?.pod, "web-v2-6d9c8f5b7-x7k2p");
      assert.equal(web?.workload, "deploy/web-v2", "the ReplicaSet's pod-template hash is stripped");
      assert.equal(pod("weft-admin", "StatefulSet", "db")?.workload, "sts/db");
      assert.equal(pod("http", "ReplicaSet", "web-6d9c8f5b7"), null, "the app's own ports are not scraped");
      assert.ok(config.scrape_configs.some((j) => j.job_name === "weft-control-plane"));
    });

    it("refuses prometheus.url beside it, and a bad interval", () => {
      const both = helm(["template", "weft", CHART, "--set", "prometheus.enabled=true", "--set", "prometheus.url=http://prometheus.monitoring:9090"]);
      assert.notEqual(both.code, 0);
      assert.match(both.stderr, /exclusive/);
      const bad = helm(["template", "weft", CHART, "--set", "prometheus.enabled=true", "--set", "prometheus.scrapeInterval=often"]);
      assert.notEqual(bad.code, 0);
    });
  });

  it("with prometheus.url, records it for the CLI and installs no Prometheus", () => {
    const objects = render(["--set", "prometheus.url=http://prometheus.monitoring:9090"]);
    assert.equal((find(objects, "ConfigMap", "weft-cli").data as Record<string, string>).prometheusUrl, "http://prometheus.monitoring:9090");
    assert.deepEqual(objects.filter((o) => o.metadata.name === "weft-prometheus"), []);
  });
});
