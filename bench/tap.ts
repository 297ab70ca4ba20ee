// `npm run bench -- tap [--rounds N --seconds N --warmup N --qps N
// --connections N --max-rps N --proxy-cpus L --load-cpus L]`: what tapping
// costs the tapped proxy. One Weft pair as in the proxy suite
// (bench/lib-proxy-weft.ts: compiled proxies on one core, fortio and the nginx
// backend on the other), both proxies configured with a tap identity as the
// injector configures them, carrying a fixed rate (1,000 rps). In each round
// the same pair carries the same load twice: untapped, and tapped (a tap client
// with the tap component's certificate connected to the server proxy's inbound
// listener under ALPN weft.tap/1, asking for every request at --max-rps 100,
// reading the events as the control plane would); the order alternates by
// round so drift in the machine's other load falls on each alike. Figure: the
// server proxy's CPU (utime+stime from /proc) per request carried.
// Target (issue 19, docs/benchmarks.md): tapped costs < 5 % more than untapped.
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { ALPN_TAP, type TapRequest } from "../lib/tap-contract.ts";
import { TLS_POLICY } from "../lib/tls-policy.ts";
import { createTestMesh, issueTestLeaf, type TestLeaf } from "../test/fixtures/mesh-pki.ts";
import { freePort, waitForPort } from "../test/support/ports.ts";
import type { BenchReport } from "./report.ts";
import { benchArgs } from "./lib-args.ts";
import { pairBenchMachine } from "./lib-proxy-fortio.ts";
import { FORTIO_RESOLUTION_SECONDS, ProcSampler, runLoad, type LoadResult } from "./lib-proxy-measure.ts";
import { backendConfig, startNginx, type NginxProcess } from "./lib-proxy-nginx.ts";
import { startWeftPair, type ProxyPair } from "./lib-proxy-weft.ts";

interface Options {
  rounds: number;
  seconds: number;
  warmup: number;
  qps: number;
  connections: number;
  maxRps: number;
  proxyCpus?: string;
  loadCpus?: string;
}

type Mode = "untapped" | "tapped";

interface Round {
  mode: Mode;
  load: LoadResult;
  serverVcpu: number;
  clientVcpu: number;
  serverUs: number;
  /** Events the tap client read during the load (tapped rounds). */
  events: number;
}

const fmt = (n: number, digits = 3) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const pct = (n: number) => (Number.isFinite(n) ? `${n >= 0 ? "+" : ""}${(n * 100).toFixed(1)} %` : "n/a");

function median(values: number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

interface TapClient {
  events(): number;
  close(): void;
}

/** The tap component's side of one tap: mTLS with its certificate, one request line, event lines counted. */
function tap(port: number, leaf: TestLeaf, anchorsPem: string, request: TapRequest): Promise<TapClient> {
  return new Promise((resolve, reject) => {
    let events = 0;
    let buf = "";
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      ALPNProtocols: [ALPN_TAP],
      key: leaf.keyPem,
      cert: leaf.certChainPem,
      ca: anchorsPem,
      ...TLS_POLICY,
      checkServerIdentity: () => undefined,
    });
    socket.once("error", reject);
    socket.once("secureConnect", () => {
      if (socket.alpnProtocol !== ALPN_TAP) return reject(new Error(`the proxy did not take ALPN ${ALPN_TAP}`));
      socket.write(`${JSON.stringify(request)}\n`);
      // Subscribed once the proxy has read the line; a moment is plenty on loopback.
      setTimeout(() => resolve({ events: () => events, close: () => socket.destroy() }), 200);
    });
    socket.on("data", (chunk: Buffer) => {
      buf += chunk.toString("utf8");
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.includes('"error"')) console.error(`[bench tap] the proxy refused the tap: ${line}`);
        else events++;
      }
    });
  });
}

export async function run(args: string[]): Promise<BenchReport> {
  const { number: flag, text } = benchArgs(args);
  const o: Options = { rounds: flag("rounds", 6), seconds: flag("seconds", 10), warmup: flag("warmup", 15), qps: flag("qps", 1000), connections: flag("connections", 16), maxRps: flag("max-rps", 100), proxyCpus: text("proxy-cpus"), loadCpus: text("load-cpus") };
  const { fortio, cores, loadCpus, proxyCpus, loadBefore } = pairBenchMachine(o);
  const loadDuring: number[] = [];
  const dir = mkdtempSync(join(tmpdir(), "weft-bench-tap-"));
  let backend: NginxProcess | undefined;
  let pair: ProxyPair | undefined;
  const rounds: Round[] = [];
  try {
    const mesh = await createTestMesh();
    const clientLeaf = await issueTestLeaf(mesh, { namespace: "bench", serviceAccount: "client" });
    const serverLeaf = await issueTestLeaf(mesh, { namespace: "bench", serviceAccount: "server" });
    // The control plane's identity, as the injector tells every proxy (WEFT_TAP_IDENTITY).
    const tapLeaf = await issueTestLeaf(mesh, { namespace: "weft-system", serviceAccount: "weft-control-plane" });
    const backendPort = await freePort();
    backend = await startNginx("backend", join(dir, "backend"), backendConfig(join(dir, "backend"), backendPort), backendPort, loadCpus, (p) => waitForPort(p));
    pair = await startWeftPair({ dir: join(dir, "weft"), backendPort, proxyCpus, mesh, clientLeaf, serverLeaf, proxyArgs: ["--tap-identity", tapLeaf.spiffeId] });
    const request: TapRequest = { maxRps: o.maxRps, headers: [] };
    const client = pair.pids.find((x) => x.label === "client")!.pid;
    const server = pair.pids.find((x) => x.label === "server")!.pid;
    // Warm-up, half of it tapped, so both paths are optimised before the first round.
    const warm = await tap(pair.serverInboundPort, tapLeaf, mesh.anchorPem, request);
    await runLoad({ fortio, url: pair.url, qps: o.qps, connections: o.connections, seconds: Math.ceil(o.warmup / 2), cpus: loadCpus });
    warm.close();
    await runLoad({ fortio, url: pair.url, qps: o.qps, connections: o.connections, seconds: Math.ceil(o.warmup / 2), cpus: loadCpus });
    for (let round = 0; round < o.rounds; round++) {
      const modes: Mode[] = round % 2 === 0 ? ["untapped", "tapped"] : ["tapped", "untapped"];
      for (const mode of modes) {
        const tapped = mode === "tapped" ? await tap(pair.serverInboundPort, tapLeaf, mesh.anchorPem, request) : undefined;
        const sampler = new ProcSampler([client, server]);
        sampler.start();
        const load = await runLoad({ fortio, url: pair.url, qps: o.qps, connections: o.connections, seconds: o.seconds, cpus: loadCpus });
        const usage = sampler.stop();
        const events = tapped?.events() ?? 0;
        tapped?.close();
        loadDuring.push(loadavg()[0] ?? NaN);
        const serverVcpu = usage.get(server)?.vcpu ?? NaN;
        const r: Round = { mode, load, serverVcpu, clientVcpu: usage.get(client)?.vcpu ?? NaN, serverUs: (serverVcpu * 1e6) / load.qpsActual, events };
        rounds.push(r);
        console.error(`[bench tap] round ${round + 1} ${mode}: server ${fmt(r.serverUs, 1)} µs/request (${fmt(serverVcpu)} vCPU), p99 ${fmt(load.p99Ms)} ms at ${fmt(load.qpsActual, 0)} rps, ${load.errors} errors${tapped ? `, ${events} events` : ""}; load ${fmt(loadavg()[0] ?? NaN, 2)}`);
        // Let the closed tap's connection go before the next round is measured.
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  } finally {
    await pair?.stop().catch(() => {});
    backend?.child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }

  const of = (mode: Mode) => rounds.filter((r) => r.mode === mode);
  const summary = (["untapped", "tapped"] as const).map((mode) => {
    const r = of(mode);
    return {
      mode,
      serverUs: median(r.map((x) => x.serverUs)),
      perRound: r.map((x) => x.serverUs),
      serverVcpu: median(r.map((x) => x.serverVcpu)),
      clientVcpu: median(r.map((x) => x.clientVcpu)),
      rps: median(r.map((x) => x.load.qpsActual)),
      p50Ms: median(r.map((x) => x.load.p50Ms)),
      p99Ms: median(r.map((x) => x.load.p99Ms)),
      errors: r.reduce((n, x) => n + x.load.errors, 0),
      eventsPerSecond: median(r.map((x) => x.events / o.seconds)),
    };
  });
  const [off, on] = summary as [(typeof summary)[number], (typeof summary)[number]];
  const increase = (on.serverUs - off.serverUs) / off.serverUs;
  // Each tapped round against the untapped one of the same round (measured within half a minute of each other).
  const paired = on.perRound.map((x, i) => (x - (off.perRound[i] ?? NaN)) / (off.perRound[i] ?? NaN));
  const carried = on.rps >= 0.95 * o.qps && off.rps >= 0.95 * o.qps && on.errors === 0 && off.errors === 0;
  const load = `1-minute load average ${loadBefore.toFixed(1)} before, ${fmt(Math.min(...loadDuring), 1)}-${fmt(Math.max(...loadDuring), 1)} during the rounds`;
  const rows = summary.map((s) => [
    s.mode === "tapped" ? `tapped at --max-rps ${o.maxRps}` : "untapped (tap identity set, nobody tapping)",
    `${fmt(s.serverUs, 1)} µs`,
    `${fmt(Math.min(...s.perRound), 1)}-${fmt(Math.max(...s.perRound), 1)} µs`,
    [
      `server ${fmt(s.serverVcpu)} vCPU${s === on ? ` (${pct(increase)} vs untapped; per round ${paired.map((x) => pct(x)).join(", ")})` : ""}`,
      `client ${fmt(s.clientVcpu)} vCPU`,
      `p50 ${fmt(s.p50Ms)} ms, p99 ${fmt(s.p99Ms)} ms`,
      `${fmt(s.rps, 0)} rps, ${s.errors} errors`,
      ...(s === on ? [`${fmt(s.eventsPerSecond, 0)} events/s read by the tap`] : []),
    ].join("; "),
  ]);
  return {
    suite: "tap",
    description: `One Weft pair (mTLS, compiled proxies on CPU ${proxyCpus} of ${cores}, fortio and the nginx backend on CPU ${loadCpus}), ${o.qps} rps fixed rate over ${o.connections} connections, ${o.warmup} s warm-up, then ${o.rounds} rounds of ${o.seconds} s, each untapped and tapped (the server proxy, every request asked for at --max-rps ${o.maxRps}) in alternating order (medians; fortio resolution ${FORTIO_RESOLUTION_SECONDS * 1e6} µs); "median" is the server proxy's CPU (utime+stime from /proc) per request carried; ${load}. Node ${process.version}.`,
    columns: ["case", "median", "min-max", "detail"],
    rows,
    targets: {
      [`server proxy CPU tapped at --max-rps ${o.maxRps} <= untapped + 5 %`]: {
        target: `<= ${fmt(off.serverUs * 1.05, 1)} µs per request`,
        measured: `${fmt(on.serverUs, 1)} µs (${pct(increase)})${carried ? "" : " (the rate was not carried without errors)"}`,
        met: carried && increase <= 0.05,
      },
    },
    data: { options: o, loadBefore, loadDuring, summary, rounds: rounds.map((r) => ({ mode: r.mode, serverUs: r.serverUs, serverVcpu: r.serverVcpu, rps: r.load.qpsActual, events: r.events })) },
  };
}
