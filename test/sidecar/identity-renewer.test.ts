import assert from "node:assert/strict";
import { silentLogger } from "../../lib/log.ts";
import { parseCsr } from "../../lib/pki.ts";
import { fail, ok, type Result } from "../../lib/result.ts";
import { CredentialStore } from "../../sidecar/src/identity/credentials-store.ts";
import type { CertifyResult } from "../../sidecar/src/identity/client.ts";
import { IdentityRenewer, type Certifier } from "../../sidecar/src/identity/renewer.ts";
import type { RenewalPolicy } from "../../sidecar/src/identity/schedule.ts";
import { FakeClock } from "../support/fake-clock.ts";

const HOUR = 3_600_000;
const SPIFFE_ID = "spiffe://cluster.local/ns/shop/sa/cart";

/**
 * A control plane that issues certificates valid for `lifetimeMs` from the fake
 * time, and can be taken down. The chains are placeholders: the store and the
 * renewer never parse them, and the TLS side is tested in identity-mtls.
 */
class FakeCertifier implements Certifier {
  down = false;
  calls = 0;
  /** Public keys of the CSRs it saw, to tell fresh keys from reused ones. */
  readonly keys = new Set<string>();
  /** While set, certify waits for it: a request in flight. */
  hold: Promise<void> | undefined;
  /** Called as each request arrives. */
  onCall: () => void = () => undefined;
  readonly #clock: FakeClock;
  readonly #lifetimeMs: number;

  constructor(clock: FakeClock, lifetimeMs: number) {
    this.#clock = clock;
    this.#lifetimeMs = lifetimeMs;
  }

  async certify(request: { token: string; csrDer: Buffer }): Promise<Result<CertifyResult>> {
    this.calls++;
    this.onCall();
    await this.hold;
    if (this.down) return fail("UNAVAILABLE", "control plane unreachable");
    const csr = await parseCsr(request.csrDer);
    if (!csr.ok) return csr;
    this.keys.add(csr.value.publicKeySpki.toString("hex"));
    return ok({ certChainPem: `chain #${this.calls}`, trustAnchorsPem: "anchors", notAfter: new Date(this.#clock.now() + this.#lifetimeMs) });
  }
}

/** Resolves on the next call of `register`'s callback. */
function nextCall(register: (callback: () => void) => void): Promise<void> {
  return new Promise((resolve) => register(resolve));
}

function setup(options: { lifetimeMs?: number; random?: () => number; policy?: Partial<RenewalPolicy>; token?: () => string } = {}) {
  const clock = new FakeClock(new Date("2030-01-01T00:00:00Z"));
  const certifier = new FakeCertifier(clock, options.lifetimeMs ?? HOUR);
  const store = new CredentialStore();
  const renewer = new IdentityRenewer({
    certifier,
    store,
    token: options.token ?? (() => "token"),
    spiffeId: SPIFFE_ID,
    logger: silentLogger(),
    policy: { renewAt: 0.7, jitter: 0.1, retryBaseMs: 500, retryMaxMs: 4_000, ...options.policy },
    random: options.random ?? (() => 0.5),
    clock,
    wallTime: () => clock.date(),
  });
  return { clock, certifier, store, renewer };
}

describe("sidecar identity: the renewer on a fake clock", () => {
  let stop: (() => void) | undefined;
  afterEach(() => stop?.());

  it("renews at the policy's fraction of the lifetime, each time with a new key", async () => {
    const { clock, certifier, store, renewer } = setup();
    stop = () => renewer.stop();
    await renewer.start();
    const first = store.current();
    assert.equal(first?.certChain, "chain #1");
    assert.equal(await clock.nextDelay(), 0.7 * HOUR);
    clock.tick(0.7 * HOUR);
    assert.equal(await clock.nextDelay(), 0.7 * HOUR, "the next renewal is scheduled from the new certificate's lifetime");
    assert.equal(store.current()?.certChain, "chain #2");
    assert.notEqual(store.current()?.key, first?.key);
    assert.equal(certifier.keys.size, 2, "each renewal uses a new key");
    assert.equal(renewer.renewals, 2);
  });

  it("spreads renewals across the jitter window: 65% of the lifetime at the lowest, 75% at the highest", async () => {
    const draws = [0, 0.999_999];
    const { clock, renewer } = setup({ random: () => draws.shift() ?? 0.5 });
    stop = () => renewer.stop();
    await renewer.start();
    // Within a millisecond: the fraction is floating point (0.7 - 0.05 is 0.6499...).
    const low = await clock.nextDelay();
    assert.ok(Math.abs(low - 0.65 * HOUR) <= 1, `${low}`);
    clock.tick(low);
    const high = await clock.nextDelay();
    assert.ok(Math.abs(high - 0.75 * HOUR) <= 1, `${high}`);
  });

  it("keeps the certificate it has while renewals fail, retrying with exponential backoff up to the cap", async () => {
    const { clock, certifier, store, renewer } = setup();
    stop = () => renewer.stop();
    await renewer.start();
    const first = store.current();
    certifier.down = true;
    clock.tick(await clock.nextDelay());
    // Equal jitter at 0.5 is 3/4 of each ceiling (500, 1000, 2000, 4000, 4000).
    const retries: number[] = [];
    for (let i = 0; i < 5; i++) {
      retries.push(await clock.nextDelay());
      assert.equal(store.current(), first, "still serving the certificate it has");
      clock.tick(retries.at(-1) ?? 0);
    }
    assert.deepEqual(retries, [375, 750, 1_500, 3_000, 3_000]);
  });

  it("renews once the control plane is back, and backs off from the start again after the next failure", async () => {
    const { clock, certifier, store, renewer } = setup();
    stop = () => renewer.stop();
    await renewer.start();
    const first = store.current();
    certifier.down = true;
    clock.tick(await clock.nextDelay());
    clock.tick(await clock.nextDelay());
    assert.equal(await clock.nextDelay(), 750);
    certifier.down = false;
    clock.tick(750);
    assert.equal(await clock.nextDelay(), 0.7 * HOUR);
    assert.notEqual(store.current(), first);
    assert.ok((store.current()?.notAfter ?? 0) > (first?.notAfter ?? 0));
    certifier.down = true;
    clock.tick(0.7 * HOUR);
    assert.equal(await clock.nextDelay(), 375);
  });

  it("retries every tenth of the remaining lifetime once the certificate is close to expiring", async () => {
    // 10 s certificates: renewal at 7 s leaves 3 s, so the 375 ms backoff gives way to 300, 270, 243 ms.
    const { clock, certifier, renewer } = setup({ lifetimeMs: 10_000 });
    stop = () => renewer.stop();
    await renewer.start();
    certifier.down = true;
    clock.tick(await clock.nextDelay());
    const retries: number[] = [];
    for (let i = 0; i < 3; i++) {
      retries.push(await clock.nextDelay());
      clock.tick(retries.at(-1) ?? 0);
    }
    assert.deepEqual(retries, [300, 270, 243]);
  });

  it("treats a renewal that throws (an unreadable token) like a refusal: the certificate stays, a retry is scheduled", async () => {
    let tokenReadable = true;
    const { clock, store, renewer } = setup({
      token: () => {
        if (!tokenReadable) throw new Error("ENOENT: token");
        return "token";
      },
    });
    stop = () => renewer.stop();
    await renewer.start();
    const first = store.current();
    tokenReadable = false;
    clock.tick(await clock.nextDelay());
    assert.equal(await clock.nextDelay(), 375);
    assert.equal(store.current(), first);
  });

  it("stop() cancels the pending renewal", async () => {
    const { clock, certifier, renewer } = setup();
    await renewer.start();
    await clock.nextDelay();
    assert.equal(clock.pending(), 1);
    renewer.stop();
    assert.equal(clock.pending(), 0);
    clock.tick(10 * HOUR);
    assert.equal(certifier.calls, 1);
  });

  it("stop() during a renewal in flight schedules nothing after it", async () => {
    const { clock, certifier, store, renewer } = setup();
    await renewer.start();
    let release = (): void => undefined;
    certifier.hold = new Promise<void>((resolve) => (release = resolve));
    const arrived = nextCall((callback) => (certifier.onCall = callback));
    // The renewal at 70% starts and waits on the control plane.
    clock.tick(await clock.nextDelay());
    await arrived;
    renewer.stop();
    const stored = new Promise((resolve) => store.once("change", resolve));
    release();
    await stored;
    // What remains of the renewal after the store is promise continuations; one macrotask turn runs them all.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(clock.pending(), 0);
    assert.equal(clock.delays.length, 1, "only the renewal that was stopped was ever scheduled");
  });

  it("stop() while the next key is being made sends no request: the identity client may already be closed", async () => {
    let tokenAsked = (): void => undefined;
    const { clock, certifier, renewer } = setup({
      token: () => {
        tokenAsked();
        return "token";
      },
    });
    await renewer.start();
    const asked = nextCall((callback) => (tokenAsked = callback));
    clock.tick(await clock.nextDelay());
    renewer.stop();
    await asked;
    // The check after the token is a promise continuation; one macrotask turn runs it.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(certifier.calls, 1, "only the first certificate was requested");
    assert.equal(clock.pending(), 0);
  });

  it("renews early when told to renew leaves received before an instant: after a jittered delay within the bound, once per instant", async () => {
    const { clock, store, renewer } = setup({ random: () => 0.25 });
    stop = () => renewer.stop();
    await renewer.start();
    assert.ok(await clock.nextDelay() > HOUR / 2, "the scheduled renewal, at about 70 % of the lifetime");
    clock.tick(60_000);
    assert.equal(renewer.renewIfReceivedBefore(clock.date(), 4_000), true);
    assert.equal(await clock.nextDelay(), 1_000, "a quarter of the 4 s jitter bound");
    assert.equal(renewer.renewIfReceivedBefore(clock.date(), 4_000), false, "the same instant again does nothing");
    clock.tick(1_000);
    await clock.nextDelay();
    assert.equal(store.current()?.certChain, "chain #2");
    assert.equal(renewer.renewIfReceivedBefore(new Date(clock.date().getTime() - 1), 4_000), false, "a certificate received after the instant is kept");
  });
});
