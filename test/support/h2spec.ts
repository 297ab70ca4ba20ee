// h2spec (github.com/summerwind/h2spec), the HTTP/2 conformance checker: where
// its binary lives, how it is built, and how its JUnit report is read.
// Built once per version from the Go module proxy into the cache, like fortio.
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

// h2spec v2 has no go.mod, so the module proxy serves it only under the
// +incompatible suffix; "@v2.2.1" alone is refused.
// Without a go.mod its dependencies (golang.org/x/net, cobra, color) resolve
// to their newest versions when built: x/net v0.63.0 on 2026-12-07.
export const H2SPEC_VERSION = "v2.2.1+incompatible";

function cacheBinDir(): string {
  return join(process.env.WEFT_CACHE_DIR ?? join(homedir(), ".cache", "weft"), "bin");
}

export function h2specPath(): string {
  return join(cacheBinDir(), `h2spec-${H2SPEC_VERSION}`, "h2spec");
}

/** Builds h2spec if missing; returns its path, or null (with the reason logged) when it cannot be had. */
export function ensureH2spec(log: (line: string) => void = console.log): string | null {
  const path = h2specPath();
  if (existsSync(path)) return path;
  const go = spawnSync("sh", ["-c", "command -v go || ls /usr/local/go/bin/go"], { encoding: "utf8" });
  const goBin = go.status === 0 ? go.stdout.trim().split("\n")[0] : undefined;
  if (!goBin) {
    log("[h2spec] go is not installed; cannot build h2spec");
    return null;
  }
  // Installed into a scratch folder and renamed, so an interrupted build leaves
  // no half-written binary that a later run would take for a finished one.
  const partial = join(cacheBinDir(), `h2spec-${H2SPEC_VERSION}.partial`);
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  log(`[h2spec] building github.com/summerwind/h2spec/cmd/h2spec@${H2SPEC_VERSION} into ${path} (once)`);
  const started = Date.now();
  const r = spawnSync(goBin, ["install", `github.com/summerwind/h2spec/cmd/h2spec@${H2SPEC_VERSION}`], {
    stdio: "inherit",
    env: { ...process.env, GOBIN: partial, CGO_ENABLED: "0" },
    timeout: 600_000,
  });
  if (r.status !== 0 || !existsSync(join(partial, "h2spec"))) {
    log("[h2spec] build failed");
    return null;
  }
  mkdirSync(join(cacheBinDir(), `h2spec-${H2SPEC_VERSION}`), { recursive: true });
  renameSync(join(partial, "h2spec"), path);
  rmSync(partial, { recursive: true, force: true });
  log(`[h2spec] built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return path;
}

/** One h2spec case as its report names it: `http2/5.1/8` is the 8th case of section 5.1 in the http2 spec. */
export interface H2specCase {
  id: string;
  description: string;
  outcome: "passed" | "failed" | "skipped";
  /** What h2spec expected and what it saw, for a failed case. */
  detail: string;
}

const XML_ENTITIES: Record<string, string> = { "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&#34;": '"', "&apos;": "'", "&#39;": "'", "&#x9;": "\t", "&#xA;": "\n" };

function unescapeXml(text: string): string {
  return text.replace(/&(?:lt|gt|amp|quot|apos|#34|#39|#x9|#xA);/g, (e) => XML_ENTITIES[e] ?? e);
}

/**
 * The cases in h2spec's JUnit report (`-j`). The report carries no case
 * numbers, so a case's number is its position in its section, as h2spec's own
 * console output counts them (every case of a full run has a result, so none is
 * left out of the count). h2spec 2.2.1 writes every failure as `<error>`: its
 * report code never matches its own TestError type.
 */
export function parseH2specJunit(xml: string): H2specCase[] {
  const cases: H2specCase[] = [];
  for (const suite of xml.matchAll(/<testsuite\b[^>]*\bpackage="([^"]*)"[^>]*>([\s\S]*?)<\/testsuite>/g)) {
    const section = unescapeXml(suite[1] ?? "");
    let n = 0;
    for (const tc of (suite[2] ?? "").matchAll(/<testcase\b[^>]*\bclassname="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g)) {
      n += 1;
      const body = tc[2] ?? "";
      const failed = /<(failure|error)>([\s\S]*?)<\/\1>/.exec(body);
      cases.push({
        id: `${section}/${n}`,
        description: unescapeXml(tc[1] ?? ""),
        outcome: failed ? "failed" : /<skipped\b/.test(body) ? "skipped" : "passed",
        detail: failed ? unescapeXml(failed[2] ?? "").trim() : "",
      });
    }
  }
  return cases;
}

/**
 * Runs every h2spec case against a cleartext HTTP/2 (prior knowledge) listener
 * and returns the report's cases. Asynchronous, so a server in this very
 * process keeps answering while h2spec runs. `timeoutSeconds` is how long
 * h2spec waits for each expected frame (whole seconds, its `-o`).
 */
export async function runH2spec(binary: string, port: number, reportPath: string, timeoutSeconds: number, only: string[] = []): Promise<H2specCase[]> {
  rmSync(reportPath, { force: true });
  const output = await new Promise<string>((resolve) => {
    // h2spec exits 1 when any case fails; the report says which. Spec ids as arguments run those cases only.
    execFile(binary, ["-h", "127.0.0.1", "-p", String(port), "-o", String(timeoutSeconds), "-j", reportPath, ...only], { maxBuffer: 16 << 20, timeout: 300_000 }, (_err, stdout, stderr) => resolve(stdout + stderr));
  });
  if (!existsSync(reportPath)) throw new Error(`h2spec wrote no report; its output:\n${output.slice(-4000)}`);
  return parseH2specJunit(readFileSync(reportPath, "utf8"));
}

/**
 * The suite, then each failure outside `expected` once more on its own: h2spec gives each
 * expected frame a fixed time, which a loaded machine can miss. A case counts as failed when
 * it fails both times; the retried ones are returned so the test can say which they were.
 */
export async function runH2specSettled(binary: string, port: number, reportPath: string, timeoutSeconds: number, expected: ReadonlySet<string>): Promise<{ cases: H2specCase[]; retried: string[] }> {
  const cases = await runH2spec(binary, port, reportPath, timeoutSeconds);
  const retried = cases.filter((c) => c.outcome === "failed" && !expected.has(c.id)).map((c) => c.id);
  if (retried.length === 0) return { cases, retried };
  // A partial run's report numbers its cases from 1 in each section: they are matched by section and description.
  const key = (c: H2specCase): string => `${c.id.slice(0, c.id.lastIndexOf("/"))} ${c.description}`;
  const again = await runH2spec(binary, port, `${reportPath}.retry`, timeoutSeconds, retried);
  const second = new Map(again.map((c) => [key(c), c]));
  return { cases: cases.map((c) => (retried.includes(c.id) ? { ...(second.get(key(c)) ?? c), id: c.id } : c)), retried };
}
