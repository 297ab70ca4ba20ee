// HTTP/2 conformance of the proxy's own listener, checked by h2spec (built by
// the set-up step, test/setup/h2spec-binary.ts) against the client-side
// proxy's fixed-destination listener, which takes HTTP/2 after detection. The
// same run against the HTTP/2 backend alone (plain node:http2) shows which
// failures are Node's and not the proxy's. The accepted exceptions and their
// reasons are in docs/protocols.md, "HTTP/2 conformance".
import { strict as assert } from "node:assert";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startH2Echo } from "../fixtures/apps/h2-echo.ts";
import { h2specPath, runH2specSettled, type H2specCase } from "../support/h2spec.ts";
import { startMesh } from "./mesh-harness.ts";

/**
 * Cases node:http2 fails on any server it runs (nghttp2 inside Node, or Node's
 * own session code), so the proxy fails them too. Each is explained in
 * docs/protocols.md; the test fails when one starts passing, so the list
 * cannot go stale.
 */
const ACCEPTED: Record<string, string> = {
  "http2/5.1/8": "nghttp2 keeps no state for closed streams and ignores DATA on them",
  "http2/5.1/9": "nghttp2 keeps no state for closed streams and ignores HEADERS on them",
  "http2/5.1/11": "nghttp2 keeps no state for closed streams and ignores DATA on them",
  "http2/5.1/12": "nghttp2 keeps no state for closed streams and ignores HEADERS on them",
  "http2/5.1.1/2": "nghttp2 ignores HEADERS whose stream id is at or below the last one it saw",
  "http2/5.3.1/2": "nghttp2 discards PRIORITY frames unchecked (RFC 7540 priorities removed)",
  "http2/6.3/1": "nghttp2 discards PRIORITY frames unchecked (RFC 7540 priorities removed)",
  "http2/6.7/2": "Node closes the session on a PING ACK it did not ask for",
  "http2/6.9.1/3": "Node turns nghttp2's stream flow-control error into a session error",
};

/** Seconds h2spec waits for each expected frame: the accepted failures each wait this long. */
const CASE_TIMEOUT_SECONDS = 2;

function failures(cases: H2specCase[]): H2specCase[] {
  return cases.filter((c) => c.outcome === "failed");
}

function describeCase(c: H2specCase): string {
  return `${c.id} ${c.description}\n    ${c.detail.replace(/\n/g, "\n    ")}`;
}

describe("HTTP/2 conformance of the proxy's listener (h2spec)", function () {
  this.timeout(120_000);
  const binary = h2specPath();
  let dir = "";
  const stops: (() => Promise<void> | void)[] = [];
  before(function () {
    if (!existsSync(binary)) {
      console.warn(`    h2spec is not built (${binary}); run \`node test/setup/prepare.ts\`: skipping`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), "weft-h2spec-"));
  });
  after(async () => {
    for (const stop of stops.reverse()) await stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("every accepted exception has its reason in docs/protocols.md", () => {
    const doc = readFileSync(new URL("../../docs/protocols.md", import.meta.url), "utf8");
    const section = doc.slice(doc.indexOf("## HTTP/2 conformance"));
    assert.ok(doc.includes("## HTTP/2 conformance"), "docs/protocols.md has no section \"HTTP/2 conformance\"");
    for (const id of Object.keys(ACCEPTED)) assert.ok(section.includes(`\`${id}\``), `docs/protocols.md does not explain ${id}`);
  });

  it("the client-side proxy's listener fails no case outside the accepted exceptions", async () => {
    const app = await startH2Echo();
    const mesh = await startMesh({ backends: [{ appPort: app.port }] });
    stops.push(() => void app.server.close(), () => mesh.stop());
    const { cases, retried } = await runH2specSettled(binary, mesh.port, join(dir, "proxy.xml"), CASE_TIMEOUT_SECONDS, new Set(Object.keys(ACCEPTED)));
    if (retried.length > 0) console.log(`      failed once and run again on their own: ${retried.join(", ")}`);
    assert.ok(cases.length >= 140, `h2spec's report holds ${cases.length} cases; expected its full suite (145)`);
    const unexpected = failures(cases).filter((c) => !(c.id in ACCEPTED));
    assert.deepEqual(unexpected.map(describeCase), [], "cases the proxy fails that are not accepted exceptions");
    const nowPassing = Object.keys(ACCEPTED).filter((id) => cases.find((c) => c.id === id)?.outcome !== "failed");
    assert.deepEqual(nowPassing, [], "accepted exceptions that no longer fail: remove them here and in docs/protocols.md");
    // Skipped only when the listener advertises no SETTINGS_MAX_CONCURRENT_STREAMS.
    assert.equal(cases.find((c) => c.id === "http2/5.1.2/1")?.outcome, "passed", "the stream concurrency limit is advertised and enforced");
  });

  it("node:http2 alone (the backend) fails exactly the accepted exceptions, so they are Node's", async () => {
    const app = await startH2Echo();
    stops.push(() => void app.server.close());
    const { cases, retried } = await runH2specSettled(binary, app.port, join(dir, "backend.xml"), CASE_TIMEOUT_SECONDS, new Set(Object.keys(ACCEPTED)));
    if (retried.length > 0) console.log(`      failed once and run again on their own: ${retried.join(", ")}`);
    assert.deepEqual(failures(cases).map((c) => c.id).sort(), Object.keys(ACCEPTED).sort());
  });
});
