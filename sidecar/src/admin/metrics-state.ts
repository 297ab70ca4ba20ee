// The proxy's state as metrics, read at scrape time (nothing on the request
// path): the workload certificate's expiry and the mesh snapshot's version and
// age. An alert on either catches a proxy cut off from the control plane.
import { Gauge, type Registry } from "prom-client";
import type { CredentialsSource } from "../identity/credentials-source.ts";
import type { MeshView } from "../discovery/mesh-view.ts";

export function registerStateMetrics(registry: Registry, credentials: CredentialsSource, view: MeshView, now: () => number = Date.now): void {
  const registers = [registry];
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
