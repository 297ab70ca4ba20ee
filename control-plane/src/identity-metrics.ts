// Prometheus metrics of the identity service, registered on the registry the
// caller passes (the control plane's shared one, or a fresh one in tests).
import { Counter, Gauge, type Registry } from "prom-client";

export interface IdentityMetrics {
  issued: Counter;
  refused: Counter<"reason">;
  reloads: Counter<"result">;
  /** WatchTrust streams open now (one per connected proxy). */
  trustStreams: Gauge;
  /** TrustUpdate messages written, over all streams. */
  trustUpdates: Counter;
  /** Tells the expiry gauges where the current issuer is; read at scrape time. */
  setIssuerSource(source: () => { notAfter: Date } | undefined): void;
}

export function createIdentityMetrics(registry: Registry): IdentityMetrics {
  const registers = [registry];
  let issuer: () => { notAfter: Date } | undefined = () => undefined;
  new Gauge({
    name: "weft_identity_issuer_expiry_seconds",
    help: "Seconds until the issuer (intermediate CA) certificate expires; absent while no issuer is loaded",
    registers,
    collect() {
      this.reset();
      const current = issuer();
      if (current) this.set((current.notAfter.getTime() - Date.now()) / 1000);
    },
  });
  new Gauge({
    name: "weft_identity_issuer_not_after_timestamp_seconds",
    help: "Expiry of the issuer certificate, Unix seconds",
    registers,
    collect() {
      this.reset();
      const current = issuer();
      if (current) this.set(current.notAfter.getTime() / 1000);
    },
  });
  return {
    issued: new Counter({ name: "weft_identity_certificates_issued_total", help: "Workload certificates issued", registers }),
    refused: new Counter({ name: "weft_identity_certificates_refused_total", help: "Certify requests refused, by reason code", labelNames: ["reason"], registers }),
    reloads: new Counter({ name: "weft_identity_issuer_reloads_total", help: "Reads of the issuer files, by result (loaded, unchanged, failed)", labelNames: ["result"], registers }),
    trustStreams: new Gauge({ name: "weft_identity_trust_streams", help: "WatchTrust streams open (proxies receiving the trust bundle)", registers }),
    trustUpdates: new Counter({ name: "weft_identity_trust_updates_total", help: "Trust bundle updates written to proxies, over all streams", registers }),
    setIssuerSource(source) {
      issuer = source;
    },
  };
}
