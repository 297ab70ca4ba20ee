// `npm run bench -- authz [--runs N] [--parts evaluation,proxy] [--rounds N
// --seconds N --warmup N --qps N --connections N --proxy-cpus L --load-cpus L]`:
// what authorization costs.
//
// Part 1, evaluation: evaluate() per request, in-process, with 1, 100 and
// 1,000 rules in scope for the port, on policies shaped like real ones (callers
// named by ServiceAccount, id, namespace, id wildcard and exclusion; methods,
// paths, hosts and gRPC calls; a few DENYs and an AUDIT) and a request mix of
// allowed and refused calls, mesh and plaintext. Target: < 2 µs per evaluation
// with 1,000 rules (docs/authorization.md).
//
// Part 2, proxy CPU (bench/lib-authz-proxy.ts): the server proxy's CPU per
// request at 1,000 rps with a realistic policy, and with 1,000 rules, against
// none, in the same run. Target: < 5 % more.
//
// Each part is a function returning a Section; run() appends them in order, so
// a further part is one more function and one more line in PARTS.
import { availableParallelism, loadavg } from "node:os";
import type { Authorization__Output } from "../api/gen/weft/discovery/v1/Authorization.ts";
import type { AuthorizationPolicy__Output } from "../api/gen/weft/discovery/v1/AuthorizationPolicy.ts";
import type { AuthorizationRule__Output } from "../api/gen/weft/discovery/v1/AuthorizationRule.ts";
import type { AuthorizationSource__Output } from "../api/gen/weft/discovery/v1/AuthorizationSource.ts";
import type { AuthorizationOperation__Output } from "../api/gen/weft/discovery/v1/AuthorizationOperation.ts";
import type { AuthzRequest } from "../lib/authz/decision.ts";
import { compileAuthorization, evaluate, type CompiledAuthorization } from "../lib/authz/evaluate.ts";
import { proxyCpuSection, type ProxyLoadOptions } from "./lib-authz-proxy.ts";
import type { BenchReport } from "./report.ts";
import { seededRandom } from "../test/support/random.ts";
import { benchArgs } from "./lib-args.ts";

/** One part of the suite: its rows (in the suite's columns), targets and raw figures. */
export interface Section {
  name: string;
  /** One line on what this part measured and how. */
  description: string;
  rows: (string | number)[][];
  targets: NonNullable<BenchReport["targets"]>;
  data: Record<string, unknown>;
}

export interface SuiteOptions {
  /** Runs per case of the evaluation part. */
  runs: number;
  /** The parts to run, by Section name (default: all). */
  parts: Set<string>;
  proxy: ProxyLoadOptions;
}

const COLUMNS = ["part", "case", "median", "min-max", "detail"];

// ------------------------------------------------- part 1: evaluate() per request

const TD = "cluster.local";
const NAMESPACES = Array.from({ length: 40 }, (_, i) => `team-${i}`);
const ACCOUNTS = ["web", "api", "worker", "batch", "gateway"];
const METHODS = ["GET", "POST", "PUT", "DELETE"];
const PATHS = ["/api/v1/orders", "/api/v1/users", "/api/v2/", "/charge", "/refund", "/internal/", "/static/"];
const spiffe = (ns: string, sa: string) => `spiffe://${TD}/ns/${ns}/sa/${sa}`;

function src(fields: Partial<AuthorizationSource__Output>): AuthorizationSource__Output {
  return { identities: [], notIdentities: [], namespaces: [], notNamespaces: [], serviceAccounts: [], notServiceAccounts: [], unauthenticated: false, ...fields };
}

function op(fields: Partial<AuthorizationOperation__Output>): AuthorizationOperation__Output {
  return { ports: [], notPorts: [], methods: [], notMethods: [], paths: [], notPaths: [], hosts: [], notHosts: [], grpc: [], ...fields };
}

/** `rules` rules in scope, ten a policy, mostly ALLOW, with a few DENYs and one AUDIT. */
export function realisticAuthorization(rules: number, seed = 17): Authorization__Output {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const path = () => (rand() < 0.5 ? { exact: pick(PATHS) } : { prefix: pick(PATHS) });
  const from = (): AuthorizationSource__Output[] => {
    const r = rand();
    if (r < 0.35) return [src({ serviceAccounts: [`${pick(NAMESPACES)}/${pick(ACCOUNTS)}`, `${pick(NAMESPACES)}/${pick(ACCOUNTS)}`] })];
    if (r < 0.6) return [src({ identities: [spiffe(pick(NAMESPACES), pick(ACCOUNTS))] })];
    if (r < 0.75) return [src({ namespaces: [pick(NAMESPACES)], notServiceAccounts: [`${pick(NAMESPACES)}/batch`] })];
    if (r < 0.85) return [src({ identities: [spiffe(pick(NAMESPACES), "*")] })];
    if (r < 0.93) return [src({ notNamespaces: [pick(NAMESPACES), pick(NAMESPACES)] })];
    if (r < 0.97) return [src({ unauthenticated: true })];
    return [];
  };
  const to = (): AuthorizationOperation__Output[] => {
    const r = rand();
    if (r < 0.5) return [op({ methods: [pick(METHODS)], paths: [path(), path()] })];
    if (r < 0.7) return [op({ paths: [path()], notMethods: ["DELETE"] })];
    if (r < 0.8) return [op({ hosts: ["orders.example.com", "*.internal.example.com"], methods: ["GET"] })];
    if (r < 0.95) return [op({ grpc: [{ service: "weft.demo.v1.Payments", method: pick(["Charge", "Refund", ""]) }] })];
    return [];
  };
  // DENYs as operators write them: a namespace shut out, or internal paths closed to other namespaces.
  const deny = (): AuthorizationRule__Output =>
    rand() < 0.5
      ? { from: [src({ namespaces: [pick(NAMESPACES)] })], to: [op({ methods: ["DELETE"] })] }
      : { from: [src({ notNamespaces: [pick(NAMESPACES)] })], to: [op({ paths: [{ prefix: "/internal/" }] })] };
  const policies: AuthorizationPolicy__Output[] = [];
  if (rules === 1) {
    // One rule alone: half the mesh's namespaces, anything but DELETE.
    const rule = { from: [src({ namespaces: NAMESPACES.slice(0, NAMESPACES.length / 2) })], to: [op({ notMethods: ["DELETE"] })] };
    policies.push({ name: "team-0/allow-half", action: "ALLOW", ports: [], rules: [rule] });
  }
  for (let made = policies.length, p = 0; made < rules; p++) {
    const count = Math.min(10, rules - made);
    const action = p % 20 === 3 ? "DENY" : p % 20 === 7 ? "AUDIT" : "ALLOW";
    const list: AuthorizationRule__Output[] = Array.from({ length: count }, () => (action === "DENY" ? deny() : { from: from(), to: to() }));
    policies.push({ name: `${pick(NAMESPACES)}/policy-${p}`, action, ports: [], rules: list });
    made += count;
  }
  return { defaultPolicy: "DEFAULT_ALL_AUTHENTICATED", defaultDryRun: false, policies, trustDomain: TD };
}

/** Requests from the same callers the policies name (and some they do not), on the paths they name. */
export function realisticRequests(count: number, seed = 29): AuthzRequest[] {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  return Array.from({ length: count }, () => {
    const peer = rand() < 0.05 ? null : rand() < 0.05 ? spiffe("outsider", "web") : spiffe(pick(NAMESPACES), pick(ACCOUNTS));
    if (rand() < 0.1) return { port: 8080, peer };
    const grpc = rand() < 0.15;
    const path = grpc ? `/weft.demo.v1.Payments/${pick(["Charge", "Refund", "Status"])}` : `${pick(PATHS)}${rand() < 0.5 ? "" : "123"}`;
    return { port: 8080, peer, http: { method: grpc ? "POST" : pick(METHODS), path, host: pick(["orders.example.com", "a.internal.example.com", "shop.example.com"]), grpc } };
  });
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/**
 * CPU ns per evaluate() over the request mix, one run. CPU time, not wall
 * time: on a shared machine the wall clock also counts the time this process
 * waited for a core. The sink keeps the calls from being optimised away.
 */
function timeEvaluations(compiled: CompiledAuthorization, requests: readonly AuthzRequest[], evaluations: number): { ns: number; wallNs: number; allowed: number } {
  let allowed = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < evaluations; i++) if (evaluate(compiled, requests[i % requests.length]!).allowed) allowed++;
  const wallNs = Number(process.hrtime.bigint() - t0) / evaluations;
  const cpu = process.cpuUsage(cpu0);
  return { ns: ((cpu.user + cpu.system) * 1000) / evaluations, wallNs, allowed: allowed / evaluations };
}

export function evaluationSection(options: SuiteOptions): Section {
  const requests = realisticRequests(4096);
  const rows: (string | number)[][] = [];
  const data: Record<string, unknown> = {};
  const targets: Section["targets"] = {};
  for (const rules of [1, 100, 1000]) {
    const authorization = realisticAuthorization(rules);
    const c0 = process.hrtime.bigint();
    const compiled = compileAuthorization(authorization);
    const compileMs = Number(process.hrtime.bigint() - c0) / 1e6;
    if (!compiled.ok) throw new Error(`bench policies do not compile: ${compiled.message}`);
    // A caller's first request builds its plan: timed apart, once per distinct caller.
    const firsts = [...new Map(requests.map((r) => [r.peer, r])).values()];
    const planCpu0 = process.cpuUsage();
    for (const r of firsts) evaluate(compiled.value, r);
    const planCpu = process.cpuUsage(planCpu0);
    const firstRequestUs = (planCpu.user + planCpu.system) / firsts.length;
    timeEvaluations(compiled.value, requests, 200_000); // warm-up: JIT
    const runs = Array.from({ length: options.runs }, () => timeEvaluations(compiled.value, requests, 500_000));
    const ns = runs.map((r) => r.ns);
    const med = median(ns);
    const wall = median(runs.map((r) => r.wallNs));
    const allowed = runs[0]?.allowed ?? NaN;
    // The same requests split by outcome: a refusal scans every candidate, an allow can stop early.
    const byOutcome = (want: boolean) => {
      const subset = requests.filter((r) => evaluate(compiled.value, r).allowed === want);
      return subset.length === 0 ? NaN : median(Array.from({ length: options.runs }, () => timeEvaluations(compiled.value, subset, 200_000).ns));
    };
    const allowedNs = byOutcome(true);
    const refusedNs = byOutcome(false);
    const policies = authorization.policies.length;
    rows.push([
      "evaluation",
      `${rules} rule${rules === 1 ? "" : "s"} in scope (${policies} polic${policies === 1 ? "y" : "ies"})`,
      `${med.toFixed(0)} ns`,
      `${Math.min(...ns).toFixed(0)}-${Math.max(...ns).toFixed(0)} ns`,
      `${(allowed * 100).toFixed(0)}% allowed; allowed only ${allowedNs.toFixed(0)} ns, refused only ${refusedNs.toFixed(0)} ns; wall ${wall.toFixed(0)} ns; compile ${compileMs.toFixed(1)} ms; a caller's first request ${firstRequestUs.toFixed(1)} µs`,
    ]);
    data[`rules${rules}`] = { rules, policies, cpuNsPerEvaluation: med, wallNsPerEvaluation: wall, runs: ns, allowedFraction: allowed, allowedNs, refusedNs, compileMs, firstRequestUs };
    if (rules === 1000) targets["evaluate() with 1,000 rules in scope"] = { target: "< 2 µs", measured: `${(med / 1000).toFixed(3)} µs`, met: med < 2000 };
  }
  return {
    name: "evaluation",
    description: `evaluation: evaluate() in-process over ${requests.length} pre-built requests (mesh and plaintext, HTTP, gRPC and TCP), CPU time per evaluation (process.cpuUsage), median of ${options.runs} runs of 500,000 after a 200,000 warm-up; each caller's first request (which builds its plan) is timed apart, before. Load average ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} CPUs.`,
    rows,
    targets,
    data,
  };
}

// ------------------------------------------------------------------- the suite

const PARTS: { name: string; run: (options: SuiteOptions) => Section | Promise<Section> }[] = [
  { name: "evaluation", run: evaluationSection },
  { name: "proxy", run: (o) => proxyCpuSection(o, realisticAuthorization(1000)) },
];

export async function run(args: string[]): Promise<BenchReport> {
  const { number: flag, text } = benchArgs(args);
  const options: SuiteOptions = {
    runs: flag("runs", 7),
    parts: new Set((text("parts") ?? PARTS.map((p) => p.name).join(",")).split(",")),
    proxy: { rounds: flag("rounds", 5), seconds: flag("seconds", 10), warmup: flag("warmup", 15), qps: flag("qps", 1000), connections: flag("connections", 16), proxyCpus: text("proxy-cpus"), loadCpus: text("load-cpus") },
  };
  const sections: Section[] = [];
  for (const part of PARTS) if (options.parts.has(part.name)) sections.push(await part.run(options));
  return {
    suite: "authz",
    description: `${sections.map((s) => s.description).join(" ")} Node ${process.version}.`,
    columns: COLUMNS,
    rows: sections.flatMap((s) => s.rows),
    targets: Object.assign({}, ...sections.map((s) => s.targets)) as NonNullable<BenchReport["targets"]>,
    data: Object.fromEntries(sections.map((s) => [s.name, s.data])),
  };
}
