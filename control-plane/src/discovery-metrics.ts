// Prometheus metrics of the discovery service, registered on the registry the
// caller passes (the control plane's shared one, or a fresh one in tests).
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface DiscoveryMetrics {
  streams: Gauge;
  streamsBehind: Gauge;
  pushes: Counter<"kind">;
  acks: Counter;
  nacks: Counter;
  ignored: Counter<"reason">;
  refused: Counter<"reason">;
  flushes: Counter;
  flushSeconds: Histogram;
}

/**
 * `countBehind` is called at scrape time only (never on the push path): it counts the
 * streams whose proxy does not hold its group's current version, which `weft check`
 * compares with the meshed pods. A moment after a change every stream is behind until
 * it ACKs; a stream behind across scrapes is a proxy that is stuck or refusing.
 */
export function createDiscoveryMetrics(registry: Registry, countBehind: () => number = () => 0): DiscoveryMetrics {
  const registers = [registry];
  return {
    streams: new Gauge({ name: "weft_discovery_streams", help: "Open proxy discovery streams", registers }),
    streamsBehind: new Gauge({
      name: "weft_discovery_streams_behind",
      help: "Open streams whose proxy does not hold (has not ACKed) its current version, counted at scrape time",
      registers,
      collect() {
        this.set(countBehind());
      },
    }),
    pushes: new Counter({ name: "weft_discovery_pushes_total", help: "Snapshots sent to proxies", labelNames: ["kind"], registers }),
    acks: new Counter({ name: "weft_discovery_acks_total", help: "Versions ACKed by proxies", registers }),
    nacks: new Counter({ name: "weft_discovery_nacks_total", help: "Versions NACKed by proxies (they keep their last good version)", registers }),
    ignored: new Counter({ name: "weft_discovery_ignored_messages_total", help: "Proxy messages ignored (stale or replayed ACK/NACK)", labelNames: ["reason"], registers }),
    refused: new Counter({ name: "weft_discovery_refused_streams_total", help: "Streams closed by the server, by reason code", labelNames: ["reason"], registers }),
    flushes: new Counter({ name: "weft_discovery_flushes_total", help: "Coalesced model changes applied", registers }),
    flushSeconds: new Histogram({ name: "weft_discovery_flush_seconds", help: "Time to compile a model change into versions", buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1], registers }),
  };
}
