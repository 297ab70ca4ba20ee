// A pair of Weft proxies for the proxy benchmark, on loopback without
// iptables: the client-side proxy's fixed-destination listener
// (--outbound-bind) stands in for capture, its one endpoint is dialled at the
// server-side proxy's listener (--endpoint-dial), and the server-side proxy's
// listener for the backend's port (--inbound-app) forwards to nginx.
// The proxies run from compiled JavaScript (dist/, as the weft-proxy image
// does), built once per process: type stripping at start costs ~17 MB of RSS
// that production never pays.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestLeaf, TestMesh } from "../test/fixtures/mesh-pki.ts";
import { freePorts, waitForPort } from "../test/support/ports.ts";
import { pinned } from "./lib-proxy-measure.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const built = new Map<string, string>();

/**
 * `npm run build` once per benchmark process and tree; the compiled proxy's
 * entry point. `WEFT_BENCH_PROXY_SOURCE=1` runs sidecar/src/main.ts instead
 * (to compare). `root` is another checkout (a baseline revision, see
 * baselineTree) whose proxy runs in the same benchmark.
 */
export function proxyEntry(root = ROOT): string {
  if (process.env.WEFT_BENCH_PROXY_SOURCE === "1") return join(root, "sidecar/src/main.ts");
  const cached = built.get(root);
  if (cached) return cached;
  const distMain = join(root, "dist/sidecar/src/main.js");
  const started = Date.now();
  // The project's own build, not tsc alone: dist/ is shared with the images and `npm start`, and a
  // build without its copied .proto files left them a dist/ that looked complete but was not.
  const r = spawnSync("npm", ["run", "--silent", "build"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  // Type errors elsewhere in the tree do not stop tsc from emitting; a fresh main.js is what counts.
  if (!existsSync(distMain) || statSync(distMain).mtimeMs < started - 1000) {
    throw new Error(`npm run build did not produce ${distMain}:\n${r.stdout}${r.stderr}`);
  }
  if (r.status !== 0) console.error(`[bench proxy] npm run build in ${root} reported errors (the proxy was emitted anyway):\n${r.stdout.slice(0, 2000)}${r.stderr.slice(0, 2000)}`);
  built.set(root, distMain);
  return distMain;
}

/** The Service address in the snapshot: on loopback, so a misrouted connection can never leave the machine. */
const SERVICE_IP = "127.0.0.3";
const SERVICE_PORT = 80;
/** The endpoint's address in the snapshot; --endpoint-dial sends it to the server-side proxy on 127.0.0.1. */
const ENDPOINT_IP = "127.0.0.2";

export interface ProxyPair {
  /** What the load generator requests. */
  url: string;
  pids: { label: string; pid: number }[];
  /** Each proxy's admin port (/metrics, /ready). */
  adminPorts: { client: number; server: number };
  /** The server proxy's inbound mTLS listener (what the client proxy dials; tap connects there too). */
  serverInboundPort: number;
  /** The last output of each proxy (for diagnostics, e.g. with --trace-gc). */
  output(): Record<string, string>;
  stop(): Promise<void>;
}

export interface WeftPairOptions {
  dir: string;
  backendPort: number;
  proxyCpus: string;
  mesh: TestMesh;
  clientLeaf: TestLeaf;
  serverLeaf: TestLeaf;
  /** Extra Node flags for the proxies (e.g. --max-semi-space-size=16). */
  nodeFlags?: string[];
  /** Extra proxy flags for both proxies (e.g. --peer-transport h1). */
  proxyArgs?: string[];
  /** The checkout whose proxy runs (default: this one). */
  root?: string;
  /** An Authorization (the snapshot's JSON form) for the server proxy's policy.inbound; none: the legacy STRICT mode. */
  authorization?: unknown;
  /** Extra environment per proxy (e.g. WEFT_RUNTIME_STATS_FILE for the tail's attribution). */
  env?: (label: "client" | "server") => Record<string, string>;
  /** Rules of a route (GAMMA) on the client's calls to the backend (benchRoutes); 0 or none: no route. */
  routeRules?: number;
}

/**
 * A route of `rules` rules on bench/backend, as the control plane would send
 * it: every request of the benchmark (GET /) is checked against the first
 * rules' matches (prefixes with a header, a regex, a method) and taken by the
 * last, a prefix "/" to the backend itself, so the whole table is on its path.
 */
export function benchRoutes(rules: number): unknown[] {
  const rule = (i: number) => ({ route: "bench/canary", name: `r${i}`, kind: "HTTPRoute", backends: [{ service: "bench/backend", weight: 100 }] });
  const matches: unknown[] = [];
  for (let i = 0; i < rules - 1; i++) {
    if (i % 4 === 3) matches.push({ rule: i, path: { type: "REGEX", value: `/api/v${i}/items/[0-9]+` } });
    else if (i % 4 === 2) matches.push({ rule: i, path: { type: "PREFIX", value: `/svc-${i}` }, method: "POST" });
    else matches.push({ rule: i, path: { type: "PREFIX", value: `/svc-${i}` }, headers: [{ name: "x-tenant", value: `t${i}` }] });
  }
  matches.push({ rule: rules - 1, path: { type: "PREFIX", value: "/" } });
  return [{ service: "bench/backend", rules: Array.from({ length: rules }, (_, i) => rule(i)), matches }];
}

export function benchSnapshot(backendPort: number, serverIdentity: string, authorization?: unknown, routes?: unknown[]): unknown {
  return {
    ...(routes ? { routes } : {}),
    version: "bench",
    full: true,
    services: [
      {
        namespace: "bench",
        name: "backend",
        clusterIps: [SERVICE_IP],
        ports: [{ name: "http", port: SERVICE_PORT, protocol: "TCP", appProtocol: "http" }],
        endpoints: [{ address: ENDPOINT_IP, ports: { http: backendPort }, ready: true, serving: true, meshed: true, identity: serverIdentity, zone: "a", pod: "backend-0" }],
      },
    ],
    policy: { inbound: { mode: "STRICT", ...(authorization === undefined ? {} : { authorization }) }, clientDefaults: { retry: { enabled: false } } },
  };
}

function startProxy(label: string, entry: string, args: string[], cpus: string, nodeFlags: string[], env: Record<string, string> = {}): { child: ChildProcess; output: () => string } {
  const [command, argv] = pinned(cpus, [process.execPath, ...nodeFlags, entry, ...args]);
  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "";
  const keep = (d: string) => { out = (out + d).slice(-8000); };
  child.stdout?.setEncoding("utf8").on("data", keep);
  child.stderr?.setEncoding("utf8").on("data", keep);
  // WEFT_BENCH_PROXY_LOG=DIR keeps each proxy's whole output (with --weft-node-flags=--trace-gc, its GC log).
  const logDir = process.env["WEFT_BENCH_PROXY_LOG"];
  if (logDir) {
    const file = createWriteStream(join(logDir, `${label}-${child.pid ?? "x"}.log`));
    child.stdout?.on("data", (d: string) => file.write(`${Date.now()} ${d}`));
    child.stderr?.on("data", (d: string) => file.write(`${Date.now()} ${d}`));
    child.once("exit", () => file.end());
  }
  child.once("exit", (code) => { if (code !== null && code !== 0) console.error(`[bench proxy] weft ${label} exited ${code}:\n${out}`); });
  return { child, output: () => out };
}

export async function startWeftPair(o: WeftPairOptions): Promise<ProxyPair> {
  mkdirSync(o.dir, { recursive: true });
  const write = (name: string, text: string) => { const p = join(o.dir, name); writeFileSync(p, text, { mode: 0o600 }); return p; };
  const plain = write("snapshot.json", JSON.stringify(benchSnapshot(o.backendPort, o.serverLeaf.spiffeId)));
  const snapshot = o.routeRules ? write("client-snapshot.json", JSON.stringify(benchSnapshot(o.backendPort, o.serverLeaf.spiffeId, undefined, benchRoutes(o.routeRules)))) : plain;
  const serverSnapshot = o.authorization === undefined ? plain : write("server-snapshot.json", JSON.stringify(benchSnapshot(o.backendPort, o.serverLeaf.spiffeId, o.authorization)));
  const anchors = write("anchors.pem", o.mesh.anchorPem);
  const creds = (leaf: TestLeaf, who: string) => ["--cert", write(`${who}.pem`, leaf.certChainPem), "--key", write(`${who}.key`, leaf.keyPem), "--trust-anchors", anchors];
  const [serverIn, clientOut, serverAdmin, clientAdmin] = (await freePorts(4)) as [number, number, number, number];
  const common = ["--log-level", "warn", "--inbound-port", "0", "--outbound-port", "0", "--listen-host", "127.0.0.1", ...(o.proxyArgs ?? [])];
  const nodeFlags = o.nodeFlags ?? [];
  const entry = proxyEntry(o.root);
  const server = startProxy("server", entry, ["--static-snapshot", serverSnapshot, ...common, ...creds(o.serverLeaf, "server"), "--admin-port", String(serverAdmin), "--inbound-app", `${serverIn}=${o.backendPort}`], o.proxyCpus, nodeFlags, o.env?.("server"));
  const client = startProxy("client", entry, ["--static-snapshot", snapshot, ...common, ...creds(o.clientLeaf, "client"), "--admin-port", String(clientAdmin), "--outbound-bind", `${clientOut}=${SERVICE_IP}:${SERVICE_PORT}`, "--endpoint-dial", `${ENDPOINT_IP}:${o.backendPort}=127.0.0.1:${serverIn}`], o.proxyCpus, nodeFlags, o.env?.("client"));
  const stop = async () => {
    for (const p of [client, server]) {
      if (p.child.exitCode !== null) continue;
      const exited = new Promise((r) => p.child.once("exit", r));
      p.child.kill("SIGTERM");
      const t = setTimeout(() => p.child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    }
  };
  try {
    await Promise.all([waitForPort(serverIn), waitForPort(clientOut)]);
  } catch (err) {
    await stop();
    throw new Error(`weft pair did not start: ${(err as Error).message}\nserver: ${server.output()}\nclient: ${client.output()}`);
  }
  if (server.child.pid === undefined || client.child.pid === undefined) throw new Error("weft pair did not start");
  return {
    url: `http://127.0.0.1:${clientOut}/`,
    pids: [{ label: "client", pid: client.child.pid }, { label: "server", pid: server.child.pid }],
    adminPorts: { client: clientAdmin, server: serverAdmin },
    serverInboundPort: serverIn,
    output: () => ({ client: client.output(), server: server.output() }),
    stop,
  };
}
