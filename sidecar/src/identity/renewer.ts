// Keeps the proxy's certificate fresh: a new P-256 key in memory (never on
// disk) and a CSR for every renewal, Certify with the current token, then the
// new credentials go into the CredentialStore. Renews at ~70% of the lifetime
// with jitter; on failure retries with backoff and keeps serving with the
// certificate it has until that expires.
import { systemClock, type Clock } from "../../../lib/clock.ts";
import { createCsr, generateKeyPair, pemBlocks, privateKeyToPem } from "../../../lib/pki.ts";
import type { Logger } from "../../../lib/log.ts";
import { fail, ok, type Result } from "../../../lib/result.ts";
import type { CredentialStore } from "./credentials-store.ts";
import type { CertifyResult } from "./client.ts";
import { DEFAULT_RENEWAL_POLICY, renewalDelayMs, retryDelayMs, type RenewalPolicy } from "./schedule.ts";

/** The part of IdentityClient the renewer uses (a fake in unit tests). */
export interface Certifier {
  certify(request: { token: string; csrDer: Buffer; identity?: string }): Promise<Result<CertifyResult>>;
  setTrustAnchors?(pem: string): void;
}

export interface IdentityRenewerOptions {
  certifier: Certifier;
  store: CredentialStore;
  /** The current proof of identity; called for every request, since projected tokens rotate. */
  token: () => string | Promise<string>;
  /** Our SPIFFE id, sent so the control plane refuses if the token proves someone else. */
  spiffeId: string;
  logger: Logger;
  policy?: Partial<RenewalPolicy>;
  random?: () => number;
  /** Schedules renewals and retries (default: the process's timers). */
  clock?: Clock;
  /**
   * What time it is, to compare with certificates' notAfter (default: the
   * system's). Apart from `clock` because Clock.now() is monotonic, not a date.
   */
  wallTime?: () => Date;
}

export class IdentityRenewer {
  readonly #o: IdentityRenewerOptions;
  readonly #policy: RenewalPolicy;
  readonly #clock: Clock;
  readonly #wallTime: () => Date;
  #timer: unknown;
  #attempt = 0;
  #stopped = false;
  #renewals = 0;
  #running = false;
  #receivedAt: Date | undefined;
  #handledRenewBefore: number | undefined;

  constructor(options: IdentityRenewerOptions) {
    this.#o = options;
    this.#policy = { ...DEFAULT_RENEWAL_POLICY, ...options.policy };
    this.#clock = options.clock ?? systemClock;
    this.#wallTime = options.wallTime ?? (() => new Date());
  }

  /** Successful renewals so far (the first issue counts). */
  get renewals(): number {
    return this.#renewals;
  }

  /** Starts the loop; resolves once the first certificate is in the store (retrying until then). */
  async start(): Promise<void> {
    this.#stopped = false;
    void this.#run();
    await this.#o.store.ready();
  }

  /** When the current certificate was received (this proxy's wall time), or undefined before the first. */
  get receivedAt(): Date | undefined {
    return this.#receivedAt;
  }

  /**
   * Renew now: if the current certificate was received before `before`, renew
   * within `jitterMs` (uniform; spreads a mesh's proxies over a few seconds)
   * instead of at the scheduled time. Each instant is acted on once, so the same
   * instruction heard again after a reconnect does not renew again. Returns
   * whether a renewal was brought forward.
   */
  renewIfReceivedBefore(before: Date, jitterMs: number): boolean {
    if (this.#stopped || this.#handledRenewBefore === before.getTime()) return false;
    this.#handledRenewBefore = before.getTime();
    const received = this.#receivedAt;
    if (received === undefined || received.getTime() >= before.getTime()) return false;
    // A renewal in flight brings a certificate received after the instruction arrived.
    if (this.#running || this.#timer === undefined) return false;
    this.#clock.clearTimeout(this.#timer);
    const random = this.#o.random ?? Math.random;
    const delay = Math.floor(random() * Math.max(0, jitterMs));
    this.#o.logger.info({ renewBefore: before.toISOString(), receivedAt: received.toISOString(), renewInMs: delay }, "renewing early: the control plane asked for leaves received before this instant");
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#run();
    }, delay);
    return true;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #run(): Promise<void> {
    if (this.#stopped) return;
    const random = this.#o.random ?? Math.random;
    let result: Result<Date>;
    this.#running = true;
    try {
      result = await this.renewOnce();
    } catch (err) {
      result = fail("renew-failed", (err as Error).message);
    } finally {
      this.#running = false;
    }
    if (this.#stopped) return;
    const now = this.#wallTime();
    let delay: number;
    if (result.ok) {
      this.#attempt = 0;
      delay = renewalDelayMs(now, result.value, random, this.#policy);
      this.#o.logger.debug({ notAfter: result.value.toISOString(), renewInMs: delay }, "certificate renewed");
    } else {
      this.#attempt++;
      const current = this.#o.store.current();
      delay = retryDelayMs(this.#attempt, random, now, current?.notAfter, this.#policy);
      const expired = current !== undefined && current.notAfter.getTime() <= now.getTime();
      this.#o.logger.warn({ code: result.code, reason: result.message, attempt: this.#attempt, retryInMs: delay, expired }, "certificate renewal failed");
    }
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#run();
    }, delay);
  }

  /** One renewal: new key, CSR, Certify, store. Returns the new expiry. */
  async renewOnce(): Promise<Result<Date>> {
    const keys = await generateKeyPair();
    const csrPem = await createCsr(keys, { uris: [this.#o.spiffeId] });
    const csrDer = pemBlocks(csrPem)[0]?.der ?? Buffer.alloc(0);
    const token = await this.#o.token();
    // Stopped while the key was made: the identity client may be closed, and a call would reopen its channel.
    if (this.#stopped) return fail("stopped", "the renewer was stopped");
    const result = await this.#o.certifier.certify({ token, csrDer, identity: this.#o.spiffeId });
    if (!result.ok) return result;
    if (result.value.trustAnchorsPem) this.#o.certifier.setTrustAnchors?.(result.value.trustAnchorsPem);
    const key = await privateKeyToPem(keys.privateKey);
    this.#receivedAt = this.#wallTime();
    this.#o.store.set({
      key,
      certChain: result.value.certChainPem,
      trustAnchors: result.value.trustAnchorsPem,
      spiffeId: this.#o.spiffeId,
      notAfter: result.value.notAfter,
    });
    this.#renewals++;
    return ok(result.value.notAfter);
  }
}
