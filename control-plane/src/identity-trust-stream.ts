// WatchTrust: the mesh's trust bundle and the "renew now" instruction pushed to
// every proxy that asks, at once and again on every change the CA watcher
// sees. What a proxy does with it is in sidecar/src/identity/trust-watch.ts.
// The message is a pure function of the CA bundle (trustUpdateOf); this file
// holds the open streams and nothing a caller sends can throw past it. When the
// server starts to drain the streams end at once, so their proxies reopen them
// on another replica instead of finding this one gone by keepalive (tens of
// seconds; docs/decisions.md, "The streams end when a replica drains").
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

/**
 * What a proxy is told when its stream ends because this replica drains, and what a call arriving
 * during the drain is answered: UNAVAILABLE, on which the proxy reopens the stream at once (after
 * its first retry delay, under a second) and so reaches another replica.
 */
export const DRAINING: Readonly<{ code: grpc.status; details: string }> = {
  code: grpc.status.UNAVAILABLE,
  details: "draining: this control-plane replica is shutting down; reconnect to another",
};

/** The WatchTrust calls of one server. */
export interface TrustStreams {
  handler: grpc.handleServerStreamingCall<WatchTrustRequest__Output, TrustUpdate>;
  /** Ends every open stream with DRAINING and answers every later call with it. Called once the server starts to drain. */
  drain(): void;
}

export function trustStreams(feed: TrustFeed, metrics: IdentityMetrics, logger: Logger): TrustStreams {
  /** Each open call's way to end itself with DRAINING. */
  const open = new Set<() => void>();
  let draining = false;
  const handler: TrustStreams["handler"] = (call) => {
    if (draining) {
      call.emit("error", { ...DRAINING });
      return;
    }
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
    const drainThis = (): void => {
      call.emit("error", { ...DRAINING });
    };
    open.add(drainThis);
    const end = (): void => {
      if (ended) return;
      ended = true;
      open.delete(drainThis);
      detach();
      metrics.trustStreams.dec();
    };
    call.on("cancelled", end);
    call.on("close", end);
    call.on("error", end);
    send(first);
    logger.debug({ peer }, "trust stream opened");
  };
  return {
    handler,
    drain() {
      if (draining) return;
      draining = true;
      const streams = open.size;
      // Each end removes itself from the set.
      for (const drainOne of [...open]) drainOne();
      logger.info({ streams }, "draining: trust streams ended, later ones refused");
    },
  };
}
