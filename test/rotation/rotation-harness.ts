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
export function tryInbound(port: number, peer: { chainPem: string; keyPem: string }): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: "127.0.0.1", port, cert: peer.chainPem, key: peer.keyPem, rejectUnauthorized: false, ALPNProtocols: ["weft.h1/1"] });
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
