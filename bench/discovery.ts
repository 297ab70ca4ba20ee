// `npm run bench -- discovery`: 1,000 simulated proxies (real DiscoveryClients,
// each with its own mTLS connection and stream, in child processes) subscribed
// to a mesh of 1,000 Services and 10,000 endpoints served by the discovery
// server in its own process. Measures the time from an endpoint change to its
// application by every proxy, and the server's RSS and CPU.
//
// Each timed change waits until every proxy applied the previous one (plus
// --interval), so one change's figure never includes another's backlog. The
// simulated proxies share the machine with the server: their CPU is reported
// next to the server's, and the server's own part (change -> delta handed to
// every stream) is reported apart from the end-to-end figure.
//
// Flags: --proxies N --services N --endpoints N --namespaces N --changes N
//        --interval MS --client-procs N --quiet MS --max-delay MS --burst N
//        --server-node-defaults 1 (run the server without the control plane's
//        own Node flags and allocator settings, control-plane/src/node-flags.ts)
//        --server-node-flags "<flags>" (instead of the control plane's Node flags)
//        --server-env "K=V K2=V2" (environment for the server process, over the
//        control plane's own, e.g. GLIBC_TUNABLES=...)
//        --client-node-flags "<flags>" (extra Node flags for the client processes,
//        e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof": they exit cleanly at the end)
//        --baseline REV (also measure the discovery server of that git revision,
//        from a worktree sharing node_modules, in alternation: current, baseline,
//        --repeat N times; the simulated proxies are this tree's in both)
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cpus, setPriority } from "node:os";
import type { BenchReport } from "./report.ts";
import { createTestMesh, issueTestLeaf } from "../test/fixtures/mesh-pki.ts";
import { namespaceName } from "./lib-discovery-model.ts";
import { baselineTree } from "./lib-baseline.ts";
import { CONTROL_PLANE_NODE_ENV, CONTROL_PLANE_NODE_FLAGS } from "../control-plane/src/node-flags.ts";

interface Usage { rss: number; peakRss: number; cpuUs: number; at: number; streams: number; flushes: number; flushSecondsSum: number; pushes: number }
interface Collected { applied: Record<string, number[]>; updates: number; nacks: number; rss: number; cpuUs: number; at: number }
interface Cpu { cpuUs: number; at: number }

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : NaN;
  return Number.isFinite(v) ? v : fallback;
}

function stringFlag(args: string[], name: string): string | null {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? null) : null;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

class Child {
  readonly proc: ChildProcess;
  readonly #waiters: { type: string; resolve: (m: Record<string, unknown>) => void }[] = [];
  readonly listeners: ((m: Record<string, unknown>) => void)[] = [];
  constructor(script: string, execArgv: string[] = [], env: NodeJS.ProcessEnv = process.env, priority = -10) {
    this.proc = fork(script.startsWith("/") ? script : fileURLToPath(new URL(script, import.meta.url)), [], { execArgv, env, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    // As the proxy suite does: a raised priority, so a shared machine's other work steals less
    // (the server -10, the simulated proxies -5: in a cluster they would not share its CPU).
    try {
      if (this.proc.pid) setPriority(this.proc.pid, priority);
    } catch {
      // not permitted: run at normal priority
    }
    this.proc.on("message", (raw) => {
      const m = raw as Record<string, unknown>;
      if (m.type === "error") console.error(`[${script}] ${String(m.message)}`);
      for (const l of this.listeners) l(m);
      const i = this.#waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(m);
    });
  }
  send(m: object): void {
    this.proc.send(m);
  }
  next<T>(type: string, timeoutMs = 600_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${type}`)), timeoutMs);
      this.#waiters.push({ type, resolve: (m) => (clearTimeout(timer), resolve(m as T)) });
    });
  }
  async request<T>(m: { type: string; resetPeak?: boolean }, replyType: string): Promise<T> {
    const p = this.next<T>(replyType);
    this.send(m);
    return p;
  }
  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill("SIGKILL");
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const round = (n: number) => Math.round(n * 10) / 10;

export async function run(args: string[]): Promise<BenchReport> {
  const baselineRev = stringFlag(args, "baseline");
  if (!baselineRev) return measure(args, "./lib-discovery-server.ts");
  const dir = mkdtempSync(join(tmpdir(), "weft-bench-discovery-"));
  const baseline = baselineTree(baselineRev, dir);
  const reports: { label: string; report: BenchReport }[] = [];
  try {
    for (let i = 0; i < Math.max(1, flag(args, "repeat", 1)); i++) {
      reports.push({ label: `current #${i + 1}`, report: await measure(args, "./lib-discovery-server.ts") });
      reports.push({ label: `${baseline.label} #${i + 1}`, report: await measure(args, join(baseline.root, "bench/lib-discovery-server.ts")) });
    }
  } finally {
    baseline.remove();
    rmSync(dir, { recursive: true, force: true });
  }
  const first = reports[0]!.report;
  const targets: BenchReport["targets"] = {};
  for (const { label, report } of reports) for (const [name, t] of Object.entries(report.targets ?? {})) targets[`${label}: ${name}`] = t;
  return {
    suite: "discovery",
    description: `${first.description} The current tree's server and ${baseline.label}'s, measured in alternation in this run.`,
    columns: ["measure", ...reports.map((r) => r.label)],
    rows: first.rows.map((row, i) => [row[0] ?? "", ...reports.map((r) => r.report.rows[i]?.[1] ?? "")]),
    targets,
    data: { runs: reports.map((r) => ({ label: r.label, data: r.report.data })) },
  };
}

async function measure(args: string[], serverScript: string): Promise<BenchReport> {
  const proxies = flag(args, "proxies", 1000);
  const services = flag(args, "services", 1000);
  const endpoints = flag(args, "endpoints", 10_000);
  const namespaces = flag(args, "namespaces", 10);
  const changes = flag(args, "changes", 40);
  const interval = flag(args, "interval", 300);
  const clientProcs = flag(args, "client-procs", 4);
  const serverDefaults = flag(args, "server-node-defaults", 0) === 1;
  const serverFlags = stringFlag(args, "server-node-flags")?.split(" ").filter(Boolean) ?? [...CONTROL_PLANE_NODE_FLAGS];
  const quietMs = flag(args, "quiet", 100);
  const maxDelayMs = flag(args, "max-delay", 1000);
  const burst = flag(args, "burst", 500);

  const pki = await createTestMesh();
  const serverLeaf = await issueTestLeaf(pki, { namespace: "weft-system", serviceAccount: "weft-control-plane" });
  const tlsByNamespace: Record<string, { keyPem: string; certChainPem: string; anchorsPem: string }> = {};
  for (let n = 0; n < namespaces; n++) {
    const leaf = await issueTestLeaf(pki, { namespace: namespaceName(n), serviceAccount: "proxy" });
    tlsByNamespace[namespaceName(n)] = { keyPem: leaf.keyPem, certChainPem: leaf.certChainPem, anchorsPem: leaf.anchorsPem };
  }

  const serverEnv = Object.fromEntries((stringFlag(args, "server-env") ?? "").split(" ").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
  const server = serverDefaults
    ? new Child(serverScript, [], { ...process.env, ...serverEnv })
    : new Child(serverScript, serverFlags, { ...process.env, ...CONTROL_PLANE_NODE_ENV, ...serverEnv });
  const clientFlags = stringFlag(args, "client-node-flags")?.split(" ").filter(Boolean) ?? [];
  const clients = Array.from({ length: clientProcs }, () => new Child("./lib-discovery-clients.ts", ["--max-old-space-size=12000", ...clientFlags], process.env, -5));
  const changedAt = new Map<number, number>();
  const flushedAt = new Map<number, number>();
  const windowAt = new Map<number, number>();
  const syncAt = new Map<number, number>();
  server.listeners.push((m) => {
    if (m.type === "changed") changedAt.set(m.id as number, m.at as number);
    if (m.type === "flushed") {
      for (const id of m.ids as number[]) {
        flushedAt.set(id, m.at as number);
        windowAt.set(id, m.windowAt as number);
        syncAt.set(id, m.syncAt as number);
      }
    }
  });
  const appliedBy = new Map<number, number>();
  for (const c of clients) {
    c.listeners.push((m) => {
      if (m.type === "applied") appliedBy.set(m.id as number, (appliedBy.get(m.id as number) ?? 0) + 1);
    });
  }
  const everyProcessApplied = async (id: number, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while ((appliedBy.get(id) ?? 0) < clientProcs && Date.now() < deadline) await sleep(5);
  };
  const clientCpu = () => Promise.all(clients.map((c) => c.request<Cpu>({ type: "cpu" }, "cpu")));
  try {
    server.send({ type: "start", tls: { keyPem: serverLeaf.keyPem, certChainPem: serverLeaf.certChainPem, anchorsPem: serverLeaf.anchorsPem }, trustDomain: pki.trustDomain, mesh: { namespaces, services, endpoints }, quietMs, maxDelayMs });
    const { port } = await server.next<{ port: number }>("started");
    const idle = await server.request<Usage>({ type: "usage" }, "usage");

    // Connect every proxy and wait for each to hold the full mesh.
    const connectStart = Date.now();
    const synced = clients.map((c) => c.next<{ at: number }>("synced", 3_600_000));
    clients.forEach((c, ci) => {
      const mine = Array.from({ length: proxies }, (_, i) => i).filter((i) => i % clientProcs === ci);
      c.send({ type: "start", address: `127.0.0.1:${port}`, tlsByNamespace, proxies: mine.map((i) => ({ namespace: namespaceName(i % namespaces), name: `proxy-${i}` })), expectServices: services });
    });
    await Promise.all(synced);
    const connectMs = Date.now() - connectStart;
    const afterConnect = await server.request<Usage>({ type: "usage", resetPeak: true }, "usage");
    await sleep(1000);

    // Single endpoint changes, each once every proxy applied the one before (or 10 s passed).
    const before = await server.request<Usage>({ type: "usage" }, "usage");
    const clientsBefore = await clientCpu();
    for (let id = 1; id <= changes; id++) {
      server.send({ type: "change", id });
      await everyProcessApplied(id, 10_000);
      await sleep(interval);
    }
    const clientsAfter = await clientCpu();
    await sleep(Math.max(2000, maxDelayMs * 2));
    const after = await server.request<Usage>({ type: "usage", resetPeak: true }, "usage");
    const collected = await Promise.all(clients.map((c) => c.request<Collected>({ type: "collect" }, "collected")));

    const perProxy: number[] = [];
    const allApplied: number[] = [];
    const fannedOut: number[] = [];
    const toWindow: number[] = [];
    const toSync: number[] = [];
    let missing = 0;
    for (let id = 1; id <= changes; id++) {
      const t0 = changedAt.get(id);
      const times = collected.flatMap((c) => c.applied[String(id)] ?? []);
      if (t0 === undefined || times.length < proxies) missing += proxies - times.length;
      if (t0 === undefined || times.length === 0) continue;
      for (const t of times) perProxy.push(t - t0);
      allApplied.push(Math.max(...times) - t0);
      const f = flushedAt.get(id);
      if (f !== undefined) fannedOut.push(f - t0);
      const w = windowAt.get(id);
      const y = syncAt.get(id);
      if (w !== undefined && y !== undefined && f !== undefined) {
        toWindow.push(w - t0);
        toSync.push(y - w);
      }
    }
    const phaseMs = (clientsAfter[0]?.at ?? 0) - (clientsBefore[0]?.at ?? 0);
    const clientCpuMs = clientsAfter.map((c, i) => (c.cpuUs - (clientsBefore[i]?.cpuUs ?? 0)) / 1000);
    const clientCpuTotalMs = clientCpuMs.reduce((a, b) => a + b, 0);

    // A rolling restart: `burst` endpoint changes over one second.
    const burstBase = 1_000_000;
    const updatesBefore = collected.reduce((a, c) => a + c.updates, 0);
    const burstBefore = await server.request<Usage>({ type: "usage", resetPeak: true }, "usage");
    for (let i = 0; i < burst; i++) {
      server.send({ type: "change", id: burstBase + i });
      await sleep(1000 / Math.max(1, burst));
    }
    // Half the mesh changed: every proxy takes a large delta through the server's write slots.
    if (burst > 0) {
      await everyProcessApplied(burstBase + burst - 1, 180_000);
      await sleep(Math.max(2000, maxDelayMs * 2));
    }
    const burstAfter = await server.request<Usage>({ type: "usage" }, "usage");
    const burstCollected = await Promise.all(clients.map((c) => c.request<Collected>({ type: "collect" }, "collected")));
    const updatesAfter = burstCollected.reduce((a, c) => a + c.updates, 0);
    const burstPushesPerProxy = (updatesAfter - updatesBefore) / proxies;
    const lastBurst = burstBase + burst - 1;
    const lastBurstTimes = burstCollected.flatMap((c) => c.applied[String(lastBurst)] ?? []);
    const burstSettleMs = lastBurstTimes.length > 0 ? Math.max(...lastBurstTimes) - (changedAt.get(lastBurst) ?? 0) : NaN;

    const cpuPct = (a: Usage, b: Usage) => round(((b.cpuUs - a.cpuUs) / 1000 / (b.at - a.at)) * 100);
    const p50 = percentile(allApplied, 50);
    const p99 = percentile(allApplied, 99);
    const rows: (string | number)[][] = [
      ["proxies (streams) / Services / endpoints", `${after.streams} / ${services} / ${endpoints}`],
      ["debounce window (quiet / max delay)", `${quietMs} ms / ${maxDelayMs} ms`],
      ["connect: all proxies hold the full mesh", `${connectMs} ms`],
      ["change -> every proxy applied, p50", `${round(p50)} ms (${round(p50 - quietMs)} ms beyond the window)`],
      ["change -> every proxy applied, p99", `${round(p99)} ms (${round(p99 - quietMs)} ms beyond the window)`],
      ["change -> one proxy applied, p50 / p99", `${round(percentile(perProxy, 50))} / ${round(percentile(perProxy, 99))} ms`],
      ["server: change -> delta handed to every stream (debounce + fan-out), p50 / p99", `${round(percentile(fannedOut, 50))} / ${round(percentile(fannedOut, 99))} ms (${round(percentile(fannedOut, 99) - quietMs)} ms beyond the window)`],
      ["server, of which: change -> debounce window closed, p50 / p99", `${round(percentile(toWindow, 50))} / ${round(percentile(toWindow, 99))} ms`],
      ["server, of which: synchronous fan-out (compile, diff, stream writes), p50 / p99", `${round(percentile(toSync, 50))} / ${round(percentile(toSync, 99))} ms`],
      ["server, of which: Node hands the writes to the sockets (HTTP/2 + TLS), p50 / p99", `${round(percentile(fannedOut.map((f, i) => f - (toWindow[i] ?? 0) - (toSync[i] ?? 0)), 50))} / ${round(percentile(fannedOut.map((f, i) => f - (toWindow[i] ?? 0) - (toSync[i] ?? 0)), 99))} ms`],
      ["client processes: CPU per change, all proxies (per proxy)", `${round(clientCpuTotalMs / Math.max(1, changes))} ms (${round((clientCpuTotalMs * 1000) / Math.max(1, changes * proxies))} µs)`],
      ["client processes: CPU during the change phase, each (% of a core)", clientCpuMs.map((ms) => `${round((ms / Math.max(1, phaseMs)) * 100)}`).join(" / ")],
      ["server fan-out per flush (compile + diff + write to every proxy), mean", `${round(((after.flushSecondsSum - before.flushSecondsSum) * 1000) / Math.max(1, after.flushes - before.flushes))} ms`],
      ["server CPU per single-endpoint change", `${round((after.cpuUs - before.cpuUs) / 1000 / Math.max(1, changes))} ms`],
      ["changes timed / proxy applications missing", `${allApplied.length} / ${missing}`],
      ["burst: endpoint changes in 1 s -> pushes per proxy", `${burst} -> ${round(burstPushesPerProxy)} (server flushes: ${burstAfter.flushes - burstBefore.flushes})`],
      ["burst: last change applied everywhere after", `${round(burstSettleMs)} ms`],
      ["server RSS: idle / after connect / after the changes / after the burst", `${mb(idle.rss)} / ${mb(afterConnect.rss)} / ${mb(after.rss)} / ${mb(burstAfter.rss)} MiB`],
      ["server RSS peak: connect / changes / burst", `${mb(afterConnect.peakRss)} / ${mb(after.peakRss)} / ${mb(burstAfter.peakRss)} MiB`],
      ["server CPU: connect phase / change phase / burst", `${round((afterConnect.cpuUs - idle.cpuUs) / 1e6)} s / ${cpuPct(before, after)} % / ${cpuPct(burstBefore, burstAfter)} %`],
      ["NACKs seen by proxies", collected.reduce((a, c) => a + c.nacks, 0) + burstCollected.reduce((a, c) => a + c.nacks, 0)],
    ];
    return {
      suite: "discovery",
      description: `${proxies} DiscoveryClients in ${clientProcs} processes (own mTLS connection each) against the discovery server in its own process (${serverDefaults ? "Node defaults" : `Node flags: ${serverFlags.join(" ")}`}), ${namespaces} scope groups; ${changes} single-endpoint changes, each ${interval} ms after every proxy applied the last, then ${burst} changes in 1 s. Machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, everything on one host.`,
      columns: ["measure", "result"],
      rows,
      targets: {
        "p99 change-to-all-applied beyond the debounce window": { target: "<= 100 ms", measured: `${round(p99 - quietMs)} ms`, met: p99 - quietMs <= 100 && missing === 0 },
        "server RSS after connect, after the changes, peak in the burst": {
          target: "<= 300 MB (10^6 bytes)",
          measured: `${round(afterConnect.rss / 1e6)} / ${round(after.rss / 1e6)} / ${round(burstAfter.peakRss / 1e6)} MB`,
          met: Math.max(afterConnect.rss, after.rss, burstAfter.peakRss) <= 300e6,
        },
      },
      data: { proxies, services, endpoints, namespaces, quietMs, maxDelayMs, connectMs, allApplied, fannedOut, toWindow, toSync, clientCpuMs, phaseMs, serverDefaults, perProxyP50: percentile(perProxy, 50), perProxyP99: percentile(perProxy, 99), idle, afterConnect, before, after, burstBefore, burstAfter, burstPushesPerProxy, burstSettleMs, missing },
    };
  } finally {
    // A clean exit, so a --cpu-prof profile is written; killed if it does not come.
    const exited = (c: Child) => new Promise((resolve) => (c.proc.exitCode !== null ? resolve(null) : c.proc.once("exit", resolve)));
    for (const c of clients) if (c.proc.connected) c.send({ type: "stop" });
    if (server.proc.connected) server.send({ type: "stop" });
    await Promise.race([Promise.all([...clients, server].map(exited)), sleep(10_000)]);
    for (const c of clients) c.kill();
    server.kill();
  }
}
