// Part 2 of `npm run bench -- authz`: what authorization costs the server
// proxy. Weft pairs as in the proxy suite (bench/lib-proxy-weft.ts: compiled
// proxies on one core, fortio and the nginx backend on the other) that differ
// only in the server proxy's snapshot: no authorization field (the legacy
// STRICT mode, nothing evaluated), a realistic policy (a DENY on path
// prefixes, ALLOWs naming ten ServiceAccounts with method and path rules, an
// AUDIT on writes, the default all-authenticated; the client's ServiceAccount
// is among the allowed, so every request is evaluated and allowed), and the
// evaluation part's 1,000 rules plus one that allows the client. Each carries
// the same fixed-rate load in rounds whose order alternates (none first, then
// last), so drift in the machine's other load falls on each alike. Figure: the
// server proxy's CPU (utime+stime from /proc) per request actually carried.
// Target (docs/authorization.md): the realistic policy costs < 5 % more.
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { Authorization, Authorization__Output } from "../api/gen/weft/discovery/v1/Authorization.ts";
import { createTestMesh, issueTestLeaf } from "../test/fixtures/mesh-pki.ts";
import { freePort, waitForPort } from "../test/support/ports.ts";
import type { Section, SuiteOptions } from "./authz.ts";
import { pairBenchMachine } from "./lib-proxy-fortio.ts";
import { FORTIO_RESOLUTION_SECONDS, ProcSampler, runLoad, type LoadResult } from "./lib-proxy-measure.ts";
import { backendConfig, startNginx, type NginxProcess } from "./lib-proxy-nginx.ts";
import { startWeftPair, type ProxyPair } from "./lib-proxy-weft.ts";

/** The proxy part's load; flags of the authz suite (bench/authz.ts). */
export interface ProxyLoadOptions {
  rounds: number;
  seconds: number;
  warmup: number;
  qps: number;
  connections: number;
  proxyCpus?: string;
  loadCpus?: string;
}

const fmt = (n: number, digits = 3) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const pct = (n: number) => (Number.isFinite(n) ? `${n >= 0 ? "+" : ""}${(n * 100).toFixed(1)} %` : "n/a");

function median(values: number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/**
 * A policy as a payments-like service would carry: callers named by
 * ServiceAccount (the bench client among ten), method and path rules, a DENY
 * that closes admin and internal paths, an AUDIT on writes. Fortio's `GET /`
 * passes the DENY's paths, matches the ALLOW and not the AUDIT.
 */
export function benchPolicy(trustDomain: string, clientServiceAccount: string): Authorization {
  const accounts = [clientServiceAccount, "shop/checkout", "shop/cart", "shop/web", "orders/api", "orders/worker", "billing/invoicer", "ops/prober", "finance/refunds", "gateway/ingress"];
  return {
    defaultPolicy: "DEFAULT_ALL_AUTHENTICATED",
    trustDomain,
    policies: [
      {
        name: "bench/no-admin",
        action: "DENY",
        rules: [
          { to: [{ paths: [{ prefix: "/admin/" }, { prefix: "/debug/" }] }] },
          { from: [{ notNamespaces: ["bench", "ops"] }], to: [{ paths: [{ prefix: "/internal/" }] }] },
        ],
      },
      {
        name: "bench/payments-grpc",
        action: "ALLOW",
        rules: [{ from: [{ namespaces: ["finance", "billing"] }], to: [{ grpc: [{ service: "weft.demo.v1.Payments", method: "Refund" }, { service: "weft.demo.v1.Payments", method: "Status" }] }] }],
      },
      {
        name: "bench/health",
        action: "ALLOW",
        rules: [{ from: [{}], to: [{ methods: ["GET"], paths: [{ exact: "/healthz" }, { exact: "/ready" }] }] }],
      },
      {
        name: "bench/callers",
        action: "ALLOW",
        rules: [
          { from: [{ serviceAccounts: accounts }], to: [{ methods: ["GET", "HEAD"], paths: [{ prefix: "/" }] }] },
          { from: [{ serviceAccounts: ["shop/checkout"] }], to: [{ methods: ["POST"], paths: [{ exact: "/charge" }] }] },
          { from: [{ serviceAccounts: ["finance/refunds"] }], to: [{ methods: ["POST"], paths: [{ exact: "/refund" }, { prefix: "/refunds/" }] }] },
          { from: [{ identities: [`spiffe://${trustDomain}/ns/orders/sa/*`] }], to: [{ methods: ["PUT", "POST"], paths: [{ prefix: "/api/v1/orders" }], hosts: ["payments.bench.svc.cluster.local", "*.internal.example.com"] }] },
        ],
      },
      { name: "bench/audit-writes", action: "AUDIT", rules: [{ to: [{ methods: ["POST", "PUT", "DELETE", "PATCH"] }] }] },
    ],
  };
}

/** `base` (the evaluation part's 1,000 rules) plus one ALLOW for the bench client, last. */
export function withClientAllowed(base: Authorization__Output, trustDomain: string, clientServiceAccount: string): Authorization {
  return {
    ...base,
    trustDomain,
    policies: [...base.policies, { name: "bench/allow-bench-client", action: "ALLOW", rules: [{ from: [{ serviceAccounts: [clientServiceAccount] }], to: [{ methods: ["GET"], paths: [{ prefix: "/" }] }] }] }],
  };
}

interface Variant {
  name: string;
  authorization?: Authorization;
}

interface Round {
  load: LoadResult;
  serverVcpu: number;
  clientVcpu: number;
  /** CPU µs per request carried. */
  serverUs: number;
  clientUs: number;
}

/** The server proxy's weft_proxy_authz_total, summed by decision. */
async function decisions(adminPort: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^weft_proxy_authz_total\{([^}]*)\} (\S+)$/gm)) {
    const decision = /decision="([^"]*)"/.exec(m[1] ?? "")?.[1] ?? "?";
    out[decision] = (out[decision] ?? 0) + Number(m[2]);
  }
  return out;
}

const rulesIn = (a: Authorization | undefined) => (a?.policies ?? []).reduce((n, p) => n + (p.rules?.length ?? 0), 0);

export async function proxyCpuSection(options: SuiteOptions, thousandRules: Authorization__Output): Promise<Section> {
  const o = options.proxy;
  const { fortio, cores, loadCpus, proxyCpus, loadBefore } = pairBenchMachine(o);
  const loadDuring: number[] = [];
  const dir = mkdtempSync(join(tmpdir(), "weft-bench-authz-"));
  let backend: NginxProcess | undefined;
  const pairs: { variant: Variant; pair: ProxyPair; requests: number }[] = [];
  const results = new Map<Variant, Round[]>();
  const counted = new Map<Variant, Record<string, number>>();
  try {
    const mesh = await createTestMesh();
    const clientLeaf = await issueTestLeaf(mesh, { namespace: "bench", serviceAccount: "client" });
    const serverLeaf = await issueTestLeaf(mesh, { namespace: "bench", serviceAccount: "server" });
    const variants: Variant[] = [
      { name: "no authorization" },
      { name: "realistic policy", authorization: benchPolicy(mesh.trustDomain, "bench/client") },
      { name: "1,000 rules + 1", authorization: withClientAllowed(thousandRules, mesh.trustDomain, "bench/client") },
    ];
    const backendPort = await freePort();
    backend = await startNginx("backend", join(dir, "backend"), backendConfig(join(dir, "backend"), backendPort), backendPort, loadCpus, (p) => waitForPort(p));
    for (const [i, variant] of variants.entries()) {
      const pair = await startWeftPair({ dir: join(dir, `weft-${i}`), backendPort, proxyCpus, mesh, clientLeaf, serverLeaf, authorization: variant.authorization });
      pairs.push({ variant, pair, requests: 0 });
      results.set(variant, []);
    }
    // Warm-up per pair (heap growth, optimisation; the proxy suite's rounds in its 10th to 15th second ran slow).
    for (const p of pairs) p.requests += (await runLoad({ fortio, url: p.pair.url, qps: o.qps, connections: o.connections, seconds: o.warmup, cpus: loadCpus })).requests;
    for (let round = 0; round < o.rounds; round++) {
      const order = round % 2 === 0 ? pairs : [...pairs].reverse();
      for (const p of order) {
        const [client, server] = [p.pair.pids.find((x) => x.label === "client")!.pid, p.pair.pids.find((x) => x.label === "server")!.pid];
        const sampler = new ProcSampler([client, server]);
        sampler.start();
        const load = await runLoad({ fortio, url: p.pair.url, qps: o.qps, connections: o.connections, seconds: o.seconds, cpus: loadCpus });
        const usage = sampler.stop();
        loadDuring.push(loadavg()[0] ?? NaN);
        p.requests += load.requests;
        const serverVcpu = usage.get(server)?.vcpu ?? NaN;
        const clientVcpu = usage.get(client)?.vcpu ?? NaN;
        const r: Round = { load, serverVcpu, clientVcpu, serverUs: (serverVcpu * 1e6) / load.qpsActual, clientUs: (clientVcpu * 1e6) / load.qpsActual };
        results.get(p.variant)?.push(r);
        console.error(`[bench authz] round ${round + 1} ${p.variant.name}: server ${fmt(r.serverUs, 1)} µs/request (${fmt(serverVcpu)} vCPU), client ${fmt(r.clientUs, 1)} µs, p99 ${fmt(load.p99Ms)} ms at ${fmt(load.qpsActual, 0)} rps, ${load.errors} errors; load ${fmt(loadavg()[0] ?? NaN, 2)}`);
      }
    }
    for (const p of pairs) counted.set(p.variant, await decisions(p.pair.adminPorts.server));
  } finally {
    for (const { pair } of pairs) await pair.stop().catch(() => {});
    backend?.child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }

  const summary = pairs.map(({ variant, requests }) => {
    const r = results.get(variant) ?? [];
    return {
      name: variant.name,
      policies: variant.authorization?.policies?.length ?? 0,
      rules: rulesIn(variant.authorization),
      serverUs: median(r.map((x) => x.serverUs)),
      clientUs: median(r.map((x) => x.clientUs)),
      serverVcpu: median(r.map((x) => x.serverVcpu)),
      clientVcpu: median(r.map((x) => x.clientVcpu)),
      rps: median(r.map((x) => x.load.qpsActual)),
      p50Ms: median(r.map((x) => x.load.p50Ms)),
      p99Ms: median(r.map((x) => x.load.p99Ms)),
      errors: r.reduce((n, x) => n + x.load.errors, 0),
      perRound: r.map((x) => x.serverUs),
      requests,
      decisions: counted.get(variant) ?? {},
    };
  });
  const none = summary[0]!;
  const rows = summary.map((s) => {
    const vsNone = (s.serverUs - none.serverUs) / none.serverUs;
    // Each round against the no-authorization pair's in the same round (measured within a minute of each other).
    const paired = s.perRound.map((x, i) => (x - (none.perRound[i] ?? NaN)) / (none.perRound[i] ?? NaN));
    const evaluated = Object.values(s.decisions).reduce((n, x) => n + x, 0);
    return [
      "proxy CPU",
      s === none ? s.name : `${s.name} (${s.policies} policies, ${s.rules} rules)`,
      `${fmt(s.serverUs, 1)} µs`,
      `${fmt(Math.min(...s.perRound), 1)}-${fmt(Math.max(...s.perRound), 1)} µs`,
      [
        `server ${fmt(s.serverVcpu)} vCPU${s === none ? "" : ` (${pct(vsNone)} vs none; per round ${paired.map((x) => pct(x)).join(", ")})`}`,
        `client ${fmt(s.clientVcpu)} vCPU (${fmt(s.clientUs, 1)} µs/request)`,
        `p50 ${fmt(s.p50Ms)} ms, p99 ${fmt(s.p99Ms)} ms`,
        `${fmt(s.rps, 0)} rps, ${s.errors} errors`,
        // Decisions include fortio's one call per connection before each run and the start-up port probe (a plaintext connection, refused).
        evaluated === 0 ? "nothing evaluated" : `${evaluated} decisions for ${s.requests} requests timed (${Object.entries(s.decisions).map(([d, n]) => `${d} ${n}`).join(", ")})`,
      ].join("; "),
    ];
  });
  const realistic = summary[1]!;
  const increase = (realistic.serverUs - none.serverUs) / none.serverUs;
  const carried = realistic.rps >= 0.95 * o.qps && none.rps >= 0.95 * o.qps && realistic.errors === 0;
  const load = `1-minute load average ${loadBefore.toFixed(1)} before, ${fmt(Math.min(...loadDuring), 1)}-${fmt(Math.max(...loadDuring), 1)} during the rounds`;
  return {
    name: "proxy",
    description: `proxy CPU: three Weft pairs (mTLS, compiled proxies on CPU ${proxyCpus} of ${cores}, fortio and the nginx backend on CPU ${loadCpus}) differing only in the server proxy's authorization, ${o.qps} rps fixed rate over ${o.connections} connections, ${o.warmup} s warm-up per pair, then ${o.rounds} rounds of ${o.seconds} s in alternating order (medians; fortio resolution ${FORTIO_RESOLUTION_SECONDS * 1e6} µs); "median" is the server proxy's CPU (utime+stime from /proc) per request carried; ${load}.`,
    rows,
    targets: {
      "server proxy CPU with a realistic policy <= none + 5 %": { target: `<= ${fmt(none.serverUs * 1.05, 1)} µs per request`, measured: `${fmt(realistic.serverUs, 1)} µs (${pct(increase)})${carried ? "" : " (the rate was not carried without errors)"}`, met: carried && increase <= 0.05 },
    },
    data: { options: o, loadBefore, loadDuring, summary },
  };
}
