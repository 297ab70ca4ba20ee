// The proxy's end of WatchTrust: the trust bundle the control plane pushes
// replaces the one the proxy holds (the pod spec's is only the bootstrap), so
// every listener and dialer trusts a new anchor, and stops trusting a removed
// one, from their next handshake, without a restart; established connections
// keep the context they were made with. A "renew now" instruction brings the
// renewal forward. The stream reconnects with backoff whenever it ends.
import { systemClock, type Clock } from "../../../lib/clock.ts";
import type { Logger } from "../../../lib/log.ts";
import type { CredentialStore } from "./credentials-store.ts";
import type { TrustPush, TrustStreamHandlers } from "./client.ts";
import { retryDelayMs } from "./schedule.ts";

/** The part of IdentityClient this uses (the real one in every test: it is the stream that is tested). */
export interface TrustStreamSource {
  watchTrust(handlers: TrustStreamHandlers): () => void;
  /** The identity client verifies the control plane with the newest bundle (its serving certificate follows the issuer). */
  setTrustAnchors(pem: string): void;
}

export type TrustUpdateResult = "applied" | "unchanged" | "rejected";

export interface TrustWatcherOptions {
  source: TrustStreamSource;
  store: CredentialStore;
  renewer: { renewIfReceivedBefore(before: Date, jitterMs: number): boolean };
  logger: Logger;
  /** Spread of "renew now" over the mesh (default 3 s). */
  renewJitterMs?: number;
  clock?: Clock;
  random?: () => number;
  /** Counted by the caller (weft_proxy_trust_bundle_updates_total). */
  onUpdate?: (result: TrustUpdateResult) => void;
}

export const DEFAULT_RENEW_JITTER_MS = 3_000;

/** What the admin port reports of the pushed bundle. */
export interface TrustStatus {
  readonly updates: Readonly<Record<TrustUpdateResult, number>>;
}

export class TrustWatcher implements TrustStatus {
  readonly #o: TrustWatcherOptions;
  readonly #clock: Clock;
  #cancel: (() => void) | undefined;
  #timer: unknown;
  #attempt = 0;
  #stopped = false;
  #issuerPem = "";
  readonly #updates: Record<TrustUpdateResult, number> = { applied: 0, unchanged: 0, rejected: 0 };

  constructor(options: TrustWatcherOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** The issuer the control plane last said it signs with (PEM, "" before the first message). */
  get issuerPem(): string {
    return this.#issuerPem;
  }

  /** Pushed bundles by what became of them, for metrics read at scrape time. */
  get updates(): Readonly<Record<TrustUpdateResult, number>> {
    return this.#updates;
  }

  start(): void {
    this.#stopped = false;
    this.#open();
  }

  stop(): void {
    this.#stopped = true;
    this.#cancel?.();
    this.#cancel = undefined;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #open(): void {
    if (this.#stopped) return;
    this.#cancel = this.#o.source.watchTrust({
      update: (push) => this.#apply(push),
      end: (reason) => {
        this.#cancel = undefined;
        this.#retry(reason);
      },
    });
  }

  #retry(reason: string): void {
    if (this.#stopped) return;
    this.#attempt++;
    const delay = retryDelayMs(this.#attempt, this.#o.random ?? Math.random, new Date(), undefined);
    this.#o.logger.debug({ reason, attempt: this.#attempt, retryInMs: delay }, "trust stream ended; reopening");
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#open();
    }, delay);
  }

  #count(result: TrustUpdateResult): void {
    this.#updates[result]++;
    this.#o.onUpdate?.(result);
  }

  #apply(push: TrustPush): void {
    this.#attempt = 0;
    this.#issuerPem = push.issuerPem;
    const result = this.#o.store.replaceTrustAnchors(push.anchorsPem);
    if (!result.ok) {
      // Before the first certificate there is nothing to guard and nothing to replace: Certify brings the bundle.
      if (result.code !== "no-credentials") {
        this.#o.logger.error({ code: result.code, reason: result.message }, "trust bundle refused; keeping the one held");
        this.#count("rejected");
      }
    } else {
      this.#count(result.value);
      if (result.value === "applied") {
        this.#o.logger.info({ anchors: push.anchorsPem.match(/BEGIN CERTIFICATE/g)?.length ?? 0 }, "trust bundle updated");
        // The channel is rebuilt with the new anchors, which ends this stream: reopen on the new one at once.
        this.#cancel?.();
        this.#cancel = undefined;
        this.#o.source.setTrustAnchors(push.anchorsPem);
        this.#open();
      }
    }
    if (push.renewBefore) this.#o.renewer.renewIfReceivedBefore(push.renewBefore, this.#o.renewJitterMs ?? DEFAULT_RENEW_JITTER_MS);
  }
}
