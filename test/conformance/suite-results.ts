// What a run of the Gateway API conformance suite says, read from its two outputs: the
// `go test -v` lines (every test and subtest with PASS, FAIL or SKIP and its time) and
// the conformance report YAML it writes (per profile: the core and extended results,
// the features claimed). Pure functions, so the verdict is testable without a cluster.
import { parse } from "yaml";

export type Outcome = "PASS" | "FAIL" | "SKIP";

export interface TestOutcome {
  /** The test's path below the top-level test, e.g. "MeshBasic" or "MeshHTTPRouteMatching/0_request_to_'/'". */
  name: string;
  outcome: Outcome;
  seconds: number;
}

/** Every `--- PASS|FAIL|SKIP: TestMesh/...` line, in the order printed (subtests before their parent). */
export function parseGoTestOutput(output: string, topLevel = "TestMesh"): TestOutcome[] {
  const results: TestOutcome[] = [];
  for (const m of output.matchAll(/^\s*--- (PASS|FAIL|SKIP): (\S+) \(([\d.]+)s\)/gm)) {
    const [, outcome, path, seconds] = m;
    if (path === undefined || !path.startsWith(`${topLevel}/`)) continue;
    results.push({ name: path.slice(topLevel.length + 1), outcome: outcome as Outcome, seconds: Number(seconds) });
  }
  return results;
}

/** The suite's tests themselves (one level below the top-level test), without their subtests. */
export function suiteTests(outcomes: readonly TestOutcome[]): TestOutcome[] {
  return outcomes.filter((o) => !o.name.includes("/"));
}

export interface ReportStatus {
  result: string;
  statistics: { Passed: number; Failed: number; Skipped: number };
  skippedTests?: string[];
  failedTests?: string[];
}

export interface ProfileReport {
  name: string;
  summary: string;
  core: ReportStatus;
  extended?: ReportStatus & { supportedFeatures?: string[]; unsupportedFeatures?: string[] };
}

export interface ConformanceReport {
  implementation: { organization: string; project: string; version: string };
  gatewayAPIVersion: string;
  gatewayAPIChannel: string;
  mode: string;
  profiles: ProfileReport[];
}

export function parseReport(text: string): ConformanceReport {
  const report = parse(text) as ConformanceReport | null;
  if (report === null || !Array.isArray(report.profiles)) throw new Error("not a conformance report: no profiles");
  return report;
}

/**
 * Why the run does not prove conformance, one line a reason; empty when it does: every
 * requested profile is in the report, its core tests all passed, and no test of a
 * claimed extended feature failed.
 */
export function reportProblems(report: ConformanceReport, profiles: readonly string[]): string[] {
  const problems: string[] = [];
  for (const name of profiles) {
    const p = report.profiles.find((x) => x.name === name);
    if (p === undefined) {
      problems.push(`${name}: not in the report`);
      continue;
    }
    if (p.core.result !== "success") {
      problems.push(`${name} core: ${p.core.result} (failed: ${(p.core.failedTests ?? []).join(", ") || "none"}; skipped: ${(p.core.skippedTests ?? []).join(", ") || "none"})`);
    }
    const failedExtended = p.extended?.failedTests ?? [];
    if (failedExtended.length > 0 || p.extended?.result === "failure") {
      problems.push(`${name} extended (claims ${(p.extended?.supportedFeatures ?? []).join(", ")}): failed ${failedExtended.join(", ")}`);
    }
  }
  return problems;
}

/**
 * One line a test that ran, for the log: outcome, name and time (a test whose subtests
 * run in parallel reports about none itself, so its slowest subtest's time counts), its
 * failed subtests indented below it; skipped tests (features not claimed, or outside the
 * profiles) only counted. The last line has the counts.
 */
export function summaryLines(outcomes: readonly TestOutcome[]): string[] {
  const lines: string[] = [];
  const tests = suiteTests(outcomes);
  for (const test of tests.filter((t) => t.outcome !== "SKIP")) {
    const subtests = outcomes.filter((o) => o.name.startsWith(`${test.name}/`));
    const seconds = Math.max(test.seconds, ...subtests.map((o) => o.seconds));
    lines.push(`${test.outcome === "PASS" ? "✔" : "✘"} ${test.outcome} ${test.name} (${seconds.toFixed(1)} s)`);
    for (const sub of subtests) if (sub.outcome === "FAIL") lines.push(`    ✘ ${sub.name.slice(test.name.length + 1)}`);
  }
  const count = (o: Outcome): number => tests.filter((t) => t.outcome === o).length;
  lines.push(`${count("PASS")} passed, ${count("FAIL")} failed, ${count("SKIP")} skipped (features not claimed or not mesh)`);
  return lines;
}
