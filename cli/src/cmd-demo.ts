// `weft demo` (`npm start`): local mode with three demo services, each with
// its sidecar in control-plane mode, on loopback ports (no root needed). It
// sends steady traffic, shows per-edge figures live, injects failures into the
// catalog backend for a while and shows the retries keeping the success rate
// up. Ctrl-C (or --duration) stops every child and removes the runtime files.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseDuration } from "../../control-plane/src/identity-config.ts";
import { mintLocalToken, readLocalTokenKey } from "../../control-plane/src/identity-verifier-local-token.ts";
import type { Command } from "./commands.ts";
import { LoadGenerator } from "./demo-load.ts";
import { edgeCounters, edgeView, parsePrometheus, subtract, type EdgeCounters, type EdgeView } from "./demo-metrics.ts";
import { appArgs, DEMO_NAMESPACE, DEMO_WORKLOADS, proxyArgs, registryYaml, type WorkloadPorts } from "./demo-topology.ts";
import { redraw, renderTable, summaryLine, type ViewState } from "./demo-view.ts";
import { freePort, LocalProcesses, projectModule, type LocalChild } from "./local-processes.ts";
import { levelOf } from "./local-command.ts";
import { ensureCa } from "./local-state.ts";

const USAGE = `usage: weft demo [--duration 30s] [--rate 20] [--state-dir DIR] [--json]
  Runs the control plane in local mode and three services (frontend -> catalog over HTTP,
  frontend -> prices over gRPC), each with its sidecar on loopback ports.
  --duration D   stop after D of traffic (default: until Ctrl-C)
  --rate N       requests per second sent to the frontend (default 20)
  --state-dir    CA and registry (default ~/.weft/demo); runtime files go in DIR/run and are removed on exit
  --json         end with one JSON summary line`;

class DemoError extends Error {}

interface DemoOptions { durationMs: number | undefined; rate: number; stateDir: string; json: boolean }

function parse(args: string[]): DemoOptions {
  const { values } = parseArgs({ args, strict: true, options: { duration: { type: "string" }, rate: { type: "string", default: "20" }, "state-dir": { type: "string" }, json: { type: "boolean", default: false } } });
  let durationMs: number | undefined;
  if (values.duration) {
    const d = parseDuration(values.duration);
    if (!d.ok) throw new DemoError(`--duration: ${d.message}`);
    durationMs = d.value;
  }
  const rate = Number(values.rate);
  if (!(rate > 0 && rate <= 1000)) throw new DemoError(`--rate: "${values.rate}" must be a number of requests per second (1-1000)`);
  return { durationMs, rate, stateDir: values["state-dir"] ?? join(homedir(), ".weft", "demo"), json: values.json };
}

async function waitUntil(what: string, children: LocalProcesses, check: () => Promise<boolean>, timeoutMs: number, stopped: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (stopped()) throw new DemoError("stopped");
    const dead = children.firstExited();
    if (dead) throw new DemoError(`${dead.name} exited: ${lastError(dead)}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new DemoError(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The most useful line of a child's output: a fatal log's reason, else its last line. */
function lastError(child: LocalChild): string {
  const lines = child.output().trim().split("\n").filter(Boolean);
  for (const l of lines.reverse()) {
    try {
      const j = JSON.parse(l) as { level?: number | string; reason?: string; msg?: string };
      if (levelOf(j.level) >= 50) return j.reason ?? j.msg ?? l;
    } catch {
      if (l.trim()) return l.trim();
    }
  }
  return "no output";
}

async function getJson<T>(url: string): Promise<T> {
  return (await (await fetch(url, { signal: AbortSignal.timeout(3_000) })).json()) as T;
}

async function run(o: DemoOptions): Promise<number> {
  const caDir = join(o.stateDir, "ca");
  const runDir = join(o.stateDir, "run");
  mkdirSync(runDir, { recursive: true });
  if (!(await ensureCa(caDir))) throw new DemoError(`could not create the CA in ${caDir}`);
  const key = readLocalTokenKey(join(caDir, "local-token.key"));
  if (!key.ok) throw new DemoError(key.message);

  const ports: Record<string, WorkloadPorts> = {};
  for (const w of DEMO_WORKLOADS) {
    const outbound: Record<string, number> = {};
    for (const c of w.calls) outbound[c] = await freePort();
    ports[w.name] = { app: await freePort(), inbound: await freePort(), admin: await freePort(), outbound };
  }
  const registry = join(o.stateDir, "registry.yaml");
  writeFileSync(registry, `# Written by \`weft demo\` at each start (its ports change); edit while it runs to see sidecars update.\n${registryYaml(DEMO_WORKLOADS, ports)}`);

  const children = new LocalProcesses();
  let stopping = false;
  let wake: () => void = () => undefined;
  const onSignal = (): void => {
    stopping = true;
    wake();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const load = new LoadGenerator(`http://127.0.0.1:${ports.frontend!.app}/`, o.rate);
  const say = (line: string): void => console.log(line);
  let summary: Record<string, unknown> | undefined;
  try {
    let started: { identityPort: number; discoveryPort: number; adminPort: number } | undefined;
    const cp = children.start("control plane", [projectModule("control-plane/src/main"), "--mode", "local", "--issuer-dir", caDir, "--registry", registry, "--host", "127.0.0.1", "--identity-port", "0", "--discovery-port", "0", "--admin-port", "0", "--drain", "2s"], {}, (line) => {
      if (line.includes('"control plane started"')) started = JSON.parse(line) as typeof started;
    });
    say(`control plane starting (pid ${cp.pid}); state in ${o.stateDir}`);
    await waitUntil("the control plane", children, async () => started !== undefined, 60_000, () => stopping);
    for (const w of DEMO_WORKLOADS) {
      const tokenFile = join(runDir, `${w.name}.token`);
      writeFileSync(tokenFile, mintLocalToken(key.value, { namespace: DEMO_NAMESPACE, serviceAccount: w.name, ttlMs: 24 * 3_600_000 }), { mode: 0o600 });
      children.start(`${w.name} app`, [projectModule(`cli/src/demo-apps/${w.app}`), ...appArgs(w, ports)]);
      children.start(`${w.name} sidecar`, [
        projectModule("sidecar/src/main"), "--control-plane", `127.0.0.1:${started!.identityPort}`, "--identity-token-file", tokenFile,
        "--trust-anchors", join(caDir, "ca.crt"), "--log-level", "warn", ...proxyArgs(w, DEMO_WORKLOADS, ports),
      ], { WEFT_POD_NAMESPACE: DEMO_NAMESPACE, WEFT_SERVICE_ACCOUNT: w.name, WEFT_DISCOVERY_ADDRESS: `127.0.0.1:${started!.discoveryPort}` });
    }
    say("starting the frontend, catalog and prices apps and their sidecars…");
    say("loopback mode: each app listens on its own 127.0.0.1 port and reaches the others through its sidecar's outbound ports (needs no root; the network-namespace mode with transparent capture is not part of the demo yet)");
    for (const w of DEMO_WORKLOADS) {
      await waitUntil(`the ${w.name} sidecar to be ready`, children, async () => (await fetch(`http://127.0.0.1:${ports[w.name]!.admin}/ready`)).status === 200, 120_000, () => stopping);
    }
    const ids: Record<string, string> = {};
    for (const w of DEMO_WORKLOADS) {
      ids[w.name] = (await getJson<{ certificate: { spiffeId: string } | null }>(`http://127.0.0.1:${ports[w.name]!.admin}/config`)).certificate?.spiffeId ?? "";
    }

    load.start();
    const t0 = Date.now();
    const total = o.durationMs;
    const failWindow = (elapsed: number): boolean => (total !== undefined ? elapsed >= total * 0.25 && elapsed < total * 0.6 : elapsed % 30_000 >= 10_000 && elapsed % 30_000 < 20_000);
    let failing = false;
    const callees = DEMO_WORKLOADS.find((w) => w.name === "frontend")!.calls;
    const scrape = async (name: string): Promise<ReturnType<typeof parsePrometheus>> => parsePrometheus(await (await fetch(`http://127.0.0.1:${ports[name]!.admin}/metrics`, { signal: AbortSignal.timeout(3_000) })).text());
    const inboundCount = (samples: ReturnType<typeof parsePrometheus>): number => samples.filter((s) => s.name === "weft_proxy_requests_total" && s.labels.direction === "inbound").reduce((a, s) => a + s.value, 0);
    const prev = new Map<string, EdgeCounters>();
    let prevLoad = { ...load.counts };
    let last = t0;
    let edges: EdgeView[] = [];
    let retriesTotal = 0;
    let tick = 0;
    while (!stopping && (total === undefined || Date.now() - t0 < total)) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 1_000);
      });
      const dead = children.firstExited();
      if (dead) throw new DemoError(`${dead.name} exited: ${lastError(dead)}`);
      const now = Date.now();
      const shouldFail = failWindow(now - t0);
      if (shouldFail !== failing) {
        await fetch(`http://127.0.0.1:${ports.catalog!.app}/_demo/fail?rate=${shouldFail ? 0.3 : 0}`, { method: "POST" }).catch(() => undefined);
        failing = shouldFail;
      }
      const frontend = await scrape("frontend").catch(() => []);
      const seconds = Math.max(0.001, (now - last) / 1000);
      last = now;
      retriesTotal = 0;
      edges = [];
      for (const callee of callees) {
        const cum = edgeCounters(frontend, `${DEMO_NAMESPACE}/${callee}`);
        retriesTotal += cum.retries;
        const inbound = inboundCount(await scrape(callee).catch(() => []));
        edges.push(edgeView("frontend", callee, subtract(cum, prev.get(callee)), seconds, { mtls: inbound > 0 && ids.frontend !== "", clientId: ids.frontend ?? "", serverId: ids[callee] ?? "" }));
        prev.set(callee, cum);
      }
      const l = { ...load.counts };
      const done = l.ok + l.failed - prevLoad.ok - prevLoad.failed;
      const state: ViewState = {
        elapsedS: (now - t0) / 1000,
        phase: failing ? "injecting 503s into catalog (30%)" : tick > 0 && !failing && (edges.some((e) => e.retries > 0)) ? "recovering" : "steady",
        edges,
        load: { rps: (l.sent - prevLoad.sent) / seconds, successRate: done > 0 ? (l.ok - prevLoad.ok) / done : undefined },
      };
      prevLoad = l;
      tick += 1;
      if (process.stdout.isTTY && !o.json) process.stdout.write(redraw(renderTable(state)));
      else console.log(summaryLine(state));
    }
    load.stop();
    const cumulative = Object.fromEntries(callees.map((c) => [c, prev.get(c)]));
    summary = {
      ok: true,
      mode: "loopback",
      seconds: (Date.now() - t0) / 1000,
      load: { ...load.counts },
      edges: callees.map((c) => ({ from: "frontend", to: c, requests: cumulative[c]?.requests ?? 0, successes: cumulative[c]?.successes ?? 0, retries: cumulative[c]?.retries ?? 0, mtls: edges.find((e) => e.to === c)?.mtls ?? false, clientId: ids.frontend, serverId: ids[c] })),
      retries: retriesTotal,
      pids: children.children.map((c) => c.pid),
    };
  } finally {
    load.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (!o.json && process.stdout.isTTY) process.stdout.write("\nstopping…\n");
    await children.stopAll();
    rmSync(runDir, { recursive: true, force: true });
  }
  if (o.json) console.log(JSON.stringify({ summary }));
  else console.log(`stopped: ${summary ? `${(summary.load as { sent: number }).sent} requests sent, ${String(summary.retries)} retries; ` : ""}all processes ended, ${runDir} removed`);
  return 0;
}

export const command: Command = {
  summary: "run local mode with a three-service demo and a live view (npm start)",
  async run(args: string[]): Promise<number> {
    if (args.includes("--help") || args.includes("-h")) {
      console.log(USAGE);
      return 0;
    }
    try {
      return await run(parse(args));
    } catch (err) {
      if (err instanceof DemoError && err.message === "stopped") return 0;
      const message = err instanceof DemoError ? err.message : (err as Error).message;
      console.error(`weft demo: ${message}`);
      return 1;
    }
  },
};
