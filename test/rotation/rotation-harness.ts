// What the live-rotation tests share: the steady load that must see no failed
// request, reading a proxy's trust state from its own metrics and /config, the
// CLI steps, and a peer that presents a leaf from a given issuer to a proxy's
// inbound port (to prove a removed anchor's leaves are refused).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as tls from "node:tls";
import * as http from "node:http";
import { generateKeyPair, loadSigningAuthority, privateKeyToPem, signLeaf } from "../../lib/pki.ts";
import { bundleVerifiesChain } from "../../lib/trust-bundle.ts";
import { waitFor } from "../support/wait.ts";
import { CLI } from "../control-plane/local-process-harness.ts";

/** Runs `weft ARGS` and returns its stdout; fails the test with its stderr if it exits non-zero. */
export function weft(args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, `weft ${args.join(" ")}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export function fingerprintOf(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}

export interface ProxyTrust {
  anchors: string[];
  issuer: string | undefined;
}

/** Which anchors the proxy trusts and which issuer signed its leaf, as its /metrics says (what `weft check` reads). */
export async function proxyTrust(adminPort: number): Promise<ProxyTrust> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const anchors = [...text.matchAll(/^weft_proxy_trust_anchor_info\{fingerprint="([^"]+)".*\} 1$/gm)].map((m) => m[1] as string).sort();
  const issuer = /^weft_proxy_certificate_issuer_info\{fingerprint="([^"]+)".*\} 1$/m.exec(text)?.[1];
  return { anchors, issuer };
}

export async function waitForTrust(what: string, adminPorts: number[], check: (t: ProxyTrust) => boolean, timeoutMs = 30_000): Promise<void> {
  let last: Record<number, ProxyTrust> = {};
  try {
    await waitFor(what, async () => {
      last = {};
      for (const port of adminPorts) {
        const t = await proxyTrust(port);
        last[port] = t;
        if (!check(t)) return false;
      }
      return true;
    }, { timeoutMs, intervalMs: 100 });
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen by admin port: ${JSON.stringify(last)}`);
  }
}

/** The proxy's certificate chain, from its loopback-only /config. */
export async function proxyChain(adminPort: number): Promise<string> {
  const body = (await (await fetch(`http://127.0.0.1:${adminPort}/config`)).json()) as { certificate: { chainPem: string } | null };
  assert.ok(body.certificate, "the proxy has a certificate");
  return body.certificate.chainPem;
}

/**
 * Requests at a steady pace over keep-alive connections, from `concurrency`
 * loops, until stopped; every status other than 200 and every error is a failure.
 * Latencies are kept so p99 can be compared before and during the rotation.
 */
export class SteadyLoad {
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  readonly #loops: Promise<void>[] = [];
  #stopped = false;
  ok = 0;
  readonly failures: string[] = [];
  readonly latencies: { at: number; ms: number }[] = [];

  readonly url: string;
  readonly concurrency: number;
  readonly pauseMs: number;

  constructor(url: string, concurrency = 2, pauseMs = 10) {
    this.url = url;
    this.concurrency = concurrency;
    this.pauseMs = pauseMs;
  }

  start(): void {
    for (let i = 0; i < this.concurrency; i++) this.#loops.push(this.#loop());
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      const started = performance.now();
      const outcome = await this.#one();
      if (outcome === 200) this.ok++;
      else this.failures.push(String(outcome));
      this.latencies.push({ at: started, ms: performance.now() - started });
      await new Promise((r) => setTimeout(r, this.pauseMs));
    }
  }

  #one(): Promise<number | string> {
    return new Promise((resolve) => {
      const req = http.get(this.url, { agent: this.#agent, timeout: 10_000 }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", (err) => resolve(err.message));
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", (err) => resolve(err.message));
    });
  }

  /** p99 latency (ms) of requests started in [from, to). */
  p99(from: number, to: number): number {
    const xs = this.latencies.filter((l) => l.at >= from && l.at < to).map((l) => l.ms).sort((a, b) => a - b);
    return xs.length === 0 ? NaN : (xs[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))] as number);
  }

  count(from: number, to: number): number {
    return this.latencies.filter((l) => l.at >= from && l.at < to).length;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
    this.#agent.destroy();
  }
}

/** A leaf for `spiffeId` signed by the issuer in `issuerDir` (issuer.crt + issuer.key), with its chain. */
export async function leafFrom(issuerDir: string, identity: { trustDomain: string; namespace: string; serviceAccount: string }): Promise<{ chainPem: string; keyPem: string }> {
  const certPem = readFileSync(join(issuerDir, "issuer.crt"), "utf8");
  const issuer = await loadSigningAuthority({ certPem, keyPem: readFileSync(join(issuerDir, "issuer.key"), "utf8") });
  assert.ok(issuer.ok, issuer.ok ? "" : issuer.message);
  const keys = await generateKeyPair();
  const leaf = await signLeaf(issuer.value, { publicKey: keys.publicKey, identity, lifetimeMs: 3_600_000 });
  return { chainPem: leaf.certPem + certPem, keyPem: await privateKeyToPem(keys.privateKey) };
}

/**
 * Presents `peer` to a proxy's inbound mTLS port and sends one framed HTTP/1.1
 * request: "answered" if any response came back, else the error that ended it.
 */
export function tryInbound(port: number, peer: { chainPem: string; keyPem: string }, host = "127.0.0.1"): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, cert: peer.chainPem, key: peer.keyPem, rejectUnauthorized: false, ALPNProtocols: ["weft.h1/1"] });
    let settled = false;
    const done = (outcome: string): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(outcome);
    };
    socket.setTimeout(10_000, () => done("timeout"));
    socket.once("secureConnect", () => socket.write("GET /refused-or-not HTTP/1.1\r\nhost: echo\r\n\r\n"));
    socket.once("data", () => done("answered"));
    socket.once("error", (err: Error & { code?: string }) => done(err.code ?? err.message));
    socket.once("close", () => done("closed"));
  });
}

export interface RotationTimes {
  /** performance.now() marks. */
  start: number;
  bundled: number;
  renewAt: number;
  renewed: number;
  end: number;
  anchorBPem: string;
  issuerBDir: string;
}

/**
 * The four steps, each with the CLI on `target` (--dir CA or --state-dir STATE),
 * each waited for in every proxy's metrics: B added; an issuer signed by B
 * switched in (waited for in the control plane's reload count); renew now; A removed.
 */
export async function rotateAnchor(o: { target: string[]; workDir: string; trustDomain: string; proxyAdmins: number[]; controlPlaneAdmin: number; anchorA: string }): Promise<RotationTimes> {
  const start = performance.now();
  const b = join(o.workDir, "anchor-b");
  weft(["identity", "anchor", "--out", b, "--trust-domain", o.trustDomain]);
  const anchorB = fingerprintOf(join(b, "ca.crt"));
  weft(["identity", "bundle", "add", join(b, "ca.crt"), ...o.target]);
  await waitForTrust("every proxy to trust A and B", o.proxyAdmins, (t) => t.anchors.length === 2 && t.anchors.includes(anchorB));
  const bundled = performance.now();

  const issuerB = join(o.workDir, "issuer-b");
  weft(["identity", "issuer", "--anchor-dir", b, "--out", issuerB, "--trust-domain", o.trustDomain]);
  const issuerBFingerprint = fingerprintOf(join(issuerB, "issuer.crt"));
  const reloads = async (): Promise<number> => Number(/^weft_identity_issuer_reloads_total\{result="loaded"\} (\d+)/m.exec(await (await fetch(`http://127.0.0.1:${o.controlPlaneAdmin}/metrics`)).text())?.[1] ?? 0);
  const loadedBefore = await reloads();
  weft(["identity", "switch-issuer", "--issuer-dir", issuerB, ...o.target]);
  await waitFor("the control plane to load the new issuer", async () => (await reloads()) > loadedBefore, { timeoutMs: 40_000, intervalMs: 100 });

  const renewAt = performance.now();
  weft(["identity", "renew", ...o.target]);
  await waitForTrust("every proxy to hold a leaf from B's issuer", o.proxyAdmins, (t) => t.issuer === issuerBFingerprint);
  const renewed = performance.now();

  weft(["identity", "bundle", "remove", o.anchorA, ...o.target]);
  await waitForTrust("every proxy to trust B only", o.proxyAdmins, (t) => t.anchors.length === 1 && t.anchors[0] === anchorB);
  return { start, bundled, renewAt, renewed, end: performance.now(), anchorBPem: readFileSync(join(b, "ca.crt"), "utf8"), issuerBDir: issuerB };
}

/** After a rotation: no failed request, each proxy's leaf chains to B and not to A, and an A-signed peer is refused by `inboundPort`. */
export async function assertRotated(o: { load: SteadyLoad; times: RotationTimes; before: number; proxyAdmins: number[]; anchorAPem: string; oldIssuerDir: string; inboundPort: number; peer: { trustDomain: string; namespace: string; serviceAccount: string } }): Promise<string> {
  const { load, times } = o;
  assert.deepEqual(load.failures, [], `${load.failures.length} of ${load.ok + load.failures.length} requests failed`);
  assert.ok(load.count(times.start, times.end) > 0, "requests flowed during the rotation");
  for (const port of o.proxyAdmins) {
    const chain = await proxyChain(port);
    assert.ok(bundleVerifiesChain(chain, times.anchorBPem).ok, `proxy on admin port ${port}: its leaf chains to B`);
    assert.equal(bundleVerifiesChain(chain, o.anchorAPem).ok, false, `proxy on admin port ${port}: its leaf does not chain to A`);
  }
  assert.equal(await tryInbound(o.inboundPort, await leafFrom(times.issuerBDir, o.peer)), "answered", "a peer with a B-signed leaf is served (control)");
  const refused = await tryInbound(o.inboundPort, await leafFrom(o.oldIssuerDir, o.peer));
  assert.notEqual(refused, "answered", "a peer with an A-signed leaf is refused");
  const s = (a: number, b: number): string => ((b - a) / 1000).toFixed(2);
  return `${load.ok} requests, ${load.failures.length} failed; bundle with B in every proxy ${s(times.start, times.bundled)} s after the command's start, leaves re-issued ${s(times.renewAt, times.renewed)} s after renew, whole rotation ${s(times.start, times.end)} s; p99 before ${load.p99(o.before, times.start).toFixed(1)} ms, during ${load.p99(times.start, times.end).toFixed(1)} ms; A-signed peer: ${refused}`;
}
