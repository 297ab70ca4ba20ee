// `weft demo` (`npm start`): local mode with three demo services, each with
// its sidecar in control-plane mode. As root with `ip netns` working, every
// service runs in its own network namespace with iptables capture
// (demo-world-netns.ts); otherwise on loopback ports (demo-world.ts); the
// first lines say which and why. It sends steady traffic, shows per-edge
// figures live, injects failures into the catalog backend for a while and
// shows the retries keeping the success rate up. Ctrl-C (or --duration) stops
// every child and removes the runtime files and namespaces.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { mintLocalToken, readLocalTokenKey } from "../../control-plane/src/identity-verifier-local-token.ts";
import { parseDuration } from "../../lib/duration.ts";
import { ok } from "../../lib/result.ts";
import { defineCommand, type Command } from "./command.ts";
import { LoadGenerator } from "./demo-load.ts";
import { edgeCounters, edgeView, subtract, type EdgeCounters, type EdgeView } from "./demo-metrics.ts";
import { parseMetricsText, type Sample } from "./metrics-text.ts";
import { DEMO_NAMESPACE, DEMO_WORKLOADS } from "./demo-topology.ts";
import { redraw, renderTable, summaryLine, type ViewState } from "./demo-view.ts";
import { loopbackWorld, type ControlPlaneAt, type DemoWorld } from "./demo-world.ts";
import { httpRequest, type HttpTarget } from "./local-http.ts";
import { chooseMode, parseModeFlag, type ModeChoice, type ModeRequest } from "./local-mode.ts";
import { probeNetns } from "./local-netns.ts";
import { LocalProcesses, projectModule, StopSignals, type LocalChild } from "./local-processes.ts";
import { levelOf } from "./local-command.ts";
import { ensureCa } from "./local-state.ts";

const USAGE = `usage: weft demo [--mode auto|netns|loopback] [--duration 30s] [--rate 20] [--state-dir DIR] [--json]
  Runs the control plane in local mode and three services (frontend -> catalog over HTTP,
  frontend -> prices over gRPC), each with its sidecar.
  --mode M       netns: each service in its own network namespace with iptables capture (root);
                 loopback: sidecars on loopback ports (no root); auto (default): netns when possible
  --duration D   stop after D of traffic (default: until Ctrl-C)
  --rate N       requests per second sent to the frontend (default 20)
  --state-dir    CA and registry (default ~/.weft/demo); runtime files go in DIR/run and are removed on exit
  --json         end with one JSON summary line`;

class DemoError extends Error {}

interface DemoOptions { durationMs: number | undefined; rate: number; stateDir: string; json: boolean; mode: ModeRequest }

function parse(args: string[]): DemoOptions {
  const { values } = parseArgs({ args, strict: true, options: { duration: { type: "string" }, rate: { type: "string", default: "20" }, "state-dir": { type: "string" }, json: { type: "boolean", default: false }, mode: { type: "string" } } });
  const mode = parseModeFlag(values.mode);
  if (!mode.ok) throw new DemoError(mode.message);
  let durationMs: number | undefined;
  if (values.duration) {
    const d = parseDuration(values.duration);
    if (!d.ok) throw new DemoError(`--duration: ${d.message}`);
    durationMs = d.value;
  }
  const rate = Number(values.rate);
  if (!(rate > 0 && rate <= 1000)) throw new DemoError(`--rate: "${values.rate}" must be a number of requests per second (1-1000)`);
  return { durationMs, rate, stateDir: values["state-dir"] ?? join(homedir(), ".weft", "demo"), json: values.json, mode: mode.value };
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

async function getJson<T>(target: HttpTarget, path: string): Promise<T> {
  return JSON.parse((await httpRequest(target, path)).body) as T;
}

async function openWorld(choice: ModeChoice, anchors: string, runDir: string, say: (line: string) => void): Promise<DemoWorld> {
  const options = { workloads: DEMO_WORKLOADS, runDir, anchors, why: choice.why };
  if (choice.mode === "loopback") return loopbackWorld(options);
  const { netnsWorld } = await import("./demo-world-netns.ts");
  const world = await netnsWorld(options, say);
  if (!world.ok) throw new DemoError(`${world.message} (or use --mode loopback)`);
  return world.value;
}

async function run(o: DemoOptions): Promise<number> {
  // First, so a forced mode that cannot work fails before anything is created.
  const choice = chooseMode(o.mode, o.mode === "loopback" ? ok(undefined) : probeNetns());
  if (!choice.ok) throw new DemoError(choice.message);
  const caDir = join(o.stateDir, "ca");
  const runDir = join(o.stateDir, "run");
  mkdirSync(runDir, { recursive: true });
  if (!(await ensureCa(caDir))) throw new DemoError(`could not create the CA in ${caDir}`);
  const key = readLocalTokenKey(join(caDir, "local-token.key"));
  if (!key.ok) throw new DemoError(key.message);
  const say = (line: string): void => console.log(line);

  const children = new LocalProcesses();
  // Before the world is built: a Ctrl-C while namespaces are being created must still remove them.
  const signals = new StopSignals();
  let world: DemoWorld;
  try {
    world = await openWorld(choice.value, join(caDir, "ca.crt"), runDir, say);
  } catch (err) {
    signals.dispose();
    throw err;
  }
  const registry = join(o.stateDir, "registry.yaml");
  writeFileSync(registry, `# Written by \`weft demo\` at each start (its ports change); edit while it runs to see sidecars update.\n${world.registryYaml}`);
  const load = new LoadGenerator(world.app("frontend"), o.rate);
  let summary: Record<string, unknown> | undefined;
  try {
    for (const line of world.intro) say(line);
    let started: ControlPlaneAt | undefined;
    world.startControlPlane(children, [projectModule("control-plane/src/main"), "--mode", "local", "--issuer-dir", caDir, "--registry", registry, "--host", world.controlPlaneHost, "--identity-port", "0", "--discovery-port", "0", "--admin-port", "0", "--drain", "2s"], (line) => {
      if (line.includes('"control plane started"')) started = JSON.parse(line) as ControlPlaneAt;
    });
    say(`control plane starting; state in ${o.stateDir}`);
    await waitUntil("the control plane", children, async () => started !== undefined, 60_000, () => signals.stopping);
    for (const w of DEMO_WORKLOADS) {
      world.startWorkload(children, w, started!, mintLocalToken(key.value, { namespace: DEMO_NAMESPACE, serviceAccount: w.name, ttlMs: 24 * 3_600_000 }));
    }
    say("starting the frontend, catalog and prices apps and their sidecars…");
    for (const w of DEMO_WORKLOADS) {
      await waitUntil(`the ${w.name} sidecar to be ready`, children, async () => (await httpRequest(world.admin(w.name), "/ready")).status === 200, 120_000, () => signals.stopping);
    }
    const ids: Record<string, string> = {};
    for (const w of DEMO_WORKLOADS) {
      ids[w.name] = (await getJson<{ certificate: { spiffeId: string } | null }>(world.admin(w.name), "/config")).certificate?.spiffeId ?? "";
    }

    load.start();
    const t0 = Date.now();
    const total = o.durationMs;
    const failWindow = (elapsed: number): boolean => (total !== undefined ? elapsed >= total * 0.25 && elapsed < total * 0.6 : elapsed % 30_000 >= 10_000 && elapsed % 30_000 < 20_000);
    let failing = false;
    const callees = DEMO_WORKLOADS.find((w) => w.name === "frontend")!.calls;
    const scrape = async (name: string): Promise<Sample[]> => parseMetricsText((await httpRequest(world.admin(name), "/metrics")).body);
    const inboundCount = (samples: Sample[]): number => samples.filter((s) => s.name === "weft_proxy_requests_total" && s.labels.direction === "inbound").reduce((a, s) => a + s.value, 0);
    const prev = new Map<string, EdgeCounters>();
    let prevLoad = { ...load.counts };
    let last = t0;
    let edges: EdgeView[] = [];
    let retriesTotal = 0;
    let tick = 0;
    while (!signals.stopping && (total === undefined || Date.now() - t0 < total)) {
      await new Promise<void>((r) => {
        signals.onStop(r);
        setTimeout(r, 1_000);
      });
      const dead = children.firstExited();
      if (dead) throw new DemoError(`${dead.name} exited: ${lastError(dead)}`);
      const now = Date.now();
      const shouldFail = failWindow(now - t0);
      if (shouldFail !== failing) {
        await httpRequest(world.app("catalog"), `/_demo/fail?rate=${shouldFail ? 0.3 : 0}`, { method: "POST" }).catch(() => undefined);
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
        mode: world.intro[0],
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
      mode: world.mode,
      ...world.details(),
      seconds: (Date.now() - t0) / 1000,
      load: { ...load.counts },
      edges: callees.map((c) => ({ from: "frontend", to: c, requests: cumulative[c]?.requests ?? 0, successes: cumulative[c]?.successes ?? 0, retries: cumulative[c]?.retries ?? 0, mtls: edges.find((e) => e.to === c)?.mtls ?? false, clientId: ids.frontend, serverId: ids[c] })),
      retries: retriesTotal,
      pids: children.children.map((c) => c.pid),
    };
  } finally {
    load.stop();
    signals.dispose();
    if (!o.json && process.stdout.isTTY) process.stdout.write("\nstopping…\n");
    await children.stopAll();
    await world.close();
    rmSync(runDir, { recursive: true, force: true });
  }
  if (o.json) console.log(JSON.stringify({ summary }));
  else console.log(`stopped: ${summary ? `${(summary.load as { sent: number }).sent} requests sent, ${String(summary.retries)} retries; ` : ""}all processes ended, ${runDir} removed`);
  return 0;
}

export const command: Command = defineCommand({
  name: "demo",
  summary: "run local mode with a three-service demo and a live view (npm start)",
  usage: USAGE,
  run: (args) => run(parse(args)),
  // Stopped by the user before the mesh was up: not an error.
  exitCodeOf: (err) => (err instanceof DemoError && err.message === "stopped" ? 0 : undefined),
});
