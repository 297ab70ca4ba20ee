// When to renew and when to retry: pure functions of the certificate's
// lifetime, the attempt number and a random source, so they are tested without
// clocks. Renewal at ~70% of the lifetime leaves 30% for retries before expiry.

export interface RenewalPolicy {
  /** Fraction of the lifetime after which to renew (default 0.7). */
  renewAt: number;
  /** Spread around renewAt, as a fraction of the lifetime (default 0.1: renew between 65% and 75%). */
  jitter: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

export const DEFAULT_RENEWAL_POLICY: RenewalPolicy = { renewAt: 0.7, jitter: 0.1, retryBaseMs: 500, retryMaxMs: 30_000 };

/** Delay from `receivedAt` until renewing a certificate valid until `notAfter`. */
export function renewalDelayMs(receivedAt: Date, notAfter: Date, random: () => number, policy = DEFAULT_RENEWAL_POLICY): number {
  const lifetime = Math.max(0, notAfter.getTime() - receivedAt.getTime());
  const fraction = policy.renewAt + (random() - 0.5) * policy.jitter;
  return Math.max(0, Math.floor(lifetime * fraction));
}

/**
 * Delay before retry number `attempt` (1-based): exponential up to a cap, with
 * equal jitter (uniform between half the ceiling and the ceiling). Not full
 * jitter: that would let a proxy retry after next to no wait, and when the
 * control plane is down every proxy of the mesh is retrying; the floor keeps
 * each one's rate bounded while the upper half spreads them apart. Never so
 * long that a still-valid certificate would expire unrenewed while waiting:
 * then it retries every tenth of the remaining time (at least 100 ms apart).
 */
export function retryDelayMs(attempt: number, random: () => number, now: Date, notAfter: Date | undefined, policy = DEFAULT_RENEWAL_POLICY): number {
  const ceiling = Math.min(policy.retryMaxMs, policy.retryBaseMs * 2 ** Math.min(attempt - 1, 20));
  let delay = Math.floor(ceiling / 2 + (random() * ceiling) / 2);
  if (notAfter) {
    const remaining = notAfter.getTime() - now.getTime();
    if (remaining > 0) delay = Math.min(delay, Math.max(100, Math.floor(remaining / 10)));
  }
  return delay;
}
