// The proxy's state as metrics, read at scrape time (nothing on the request
// path): the workload certificate's expiry and the mesh snapshot's version and
// age. An alert on either catches a proxy cut off from the control plane.
import { Counter, Gauge, type Registry } from "prom-client";
import type { CredentialsSource } from "../identity/credentials-source.ts";
import type { TrustStatus } from "../identity/trust-watch.ts";
import { trustReport } from "./trust-report.ts";
import type { MeshView } from "../discovery/mesh-view.ts";

export function registerStateMetrics(registry: Registry, credentials: CredentialsSource, view: MeshView, now: () => number = Date.now, trust?: TrustStatus): void {
  const registers = [registry];
  if (trust) {
    new Counter({
      name: "weft_proxy_trust_bundle_updates_total",
      help: "Trust bundles the control plane pushed, by result: applied, unchanged, or rejected (it would not verify the proxy's own leaf; the old bundle stays)",
      labelNames: ["result"],
      registers,
      collect() {
        this.reset();
        for (const [result, n] of Object.entries(trust.updates)) this.inc({ result }, n);
      },
    });
  }
  let appliedAt: number | undefined = view.state ? now() : undefined;
  view.onUpdate(() => {
    appliedAt = now();
  });
  new Gauge({
    name: "weft_proxy_certificate_expiry_seconds",
    help: "Seconds until the workload certificate expires; absent while the proxy has none",
    registers,
    collect() {
      this.reset();
      const c = credentials.current();
      if (c) this.set((c.notAfter.getTime() - now()) / 1000);
    },
  });
  new Gauge({
    name: "weft_proxy_trust_anchor_info",
    help: "1 per trust anchor the proxy trusts now, labelled with its SHA-256 fingerprint and subject",
    labelNames: ["fingerprint", "subject"],
    registers,
    collect() {
      this.reset();
      const c = credentials.current();
      if (c) for (const a of trustReport(c.credentials).anchors) this.set({ fingerprint: a.fingerprint, subject: a.subject }, 1);
    },
  });
  new Gauge({
    name: "weft_proxy_certificate_issuer_info",
    help: "1, labelled with the SHA-256 fingerprint and subject of the issuer that signed the proxy's current leaf",
    labelNames: ["fingerprint", "subject"],
    registers,
    collect() {
      this.reset();
      const c = credentials.current();
      const issuer = c ? trustReport(c.credentials).leafIssuer : null;
      if (issuer) this.set({ fingerprint: issuer.fingerprint, subject: issuer.subject }, 1);
    },
  });
  new Gauge({
    name: "weft_proxy_snapshot_info",
    help: "1, labelled with the version of the mesh snapshot in use; absent before the first",
    labelNames: ["version"],
    registers,
    collect() {
      // One series at a time: the old version's goes when a new one applies.
      this.reset();
      const state = view.state;
      if (state) this.set({ version: state.version }, 1);
    },
  });
  new Gauge({
    name: "weft_proxy_snapshot_age_seconds",
    help: "Seconds since the mesh snapshot in use was applied; absent before the first",
    registers,
    collect() {
      this.reset();
      if (appliedAt !== undefined) this.set((now() - appliedAt) / 1000);
    },
  });
}
