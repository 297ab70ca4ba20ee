// WatchTrust: the mesh's trust bundle and the "renew now" instruction pushed to
// every proxy that asks, at once and again on every change the CA watcher
// sees. What a proxy does with it is in sidecar/src/identity/trust-watch.ts.
// The message is a pure function of the CA bundle (trustUpdateOf); this file
// holds the open streams and nothing a caller sends can throw past it.
import * as grpc from "@grpc/grpc-js";
import type { TrustUpdate } from "../../api/gen/weft/identity/v1/TrustUpdate.ts";
import type { WatchTrustRequest__Output } from "../../api/gen/weft/identity/v1/WatchTrustRequest.ts";
import type { Logger } from "../../lib/log.ts";
import type { CaBundle } from "./ca-files.ts";
import type { IdentityMetrics } from "./identity-metrics.ts";

/** Where the current CA is and how to hear of changes (CaWatcher fills it). */
export interface TrustFeed {
  current(): CaBundle | undefined;
  onChange(listener: (bundle: CaBundle) => void): () => void;
}

/** Pure: what a proxy is told about `bundle`. */
export function trustUpdateOf(bundle: CaBundle): TrustUpdate {
  return {
    trustAnchors: bundle.anchorsDer,
    renewIssuedBeforeUnixMs: String(bundle.renewBefore?.getTime() ?? 0),
    issuer: bundle.issuerDer,
  };
}

export function watchTrustHandler(feed: TrustFeed, metrics: IdentityMetrics, logger: Logger): grpc.handleServerStreamingCall<WatchTrustRequest__Output, TrustUpdate> {
  return (call) => {
    const peer = call.getPeer();
    const first = feed.current();
    if (!first) {
      call.emit("error", { code: grpc.status.UNAVAILABLE, details: "no issuer loaded yet" });
      return;
    }
    let ended = false;
    const send = (bundle: CaBundle): void => {
      if (ended) return;
      try {
        call.write(trustUpdateOf(bundle));
        metrics.trustUpdates.inc();
      } catch (err) {
        logger.warn({ peer, err: (err as Error).message }, "trust update not sent");
      }
    };
    const detach = feed.onChange(send);
    metrics.trustStreams.inc();
    const end = (): void => {
      if (ended) return;
      ended = true;
      detach();
      metrics.trustStreams.dec();
    };
    call.on("cancelled", end);
    call.on("close", end);
    call.on("error", end);
    send(first);
    logger.debug({ peer }, "trust stream opened");
  };
}
