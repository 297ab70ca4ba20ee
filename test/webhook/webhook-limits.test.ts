// weft-webhook as a process under a flood: many connections each holding an
// unfinished large body keep its memory bounded (the in-flight byte budget
// refuses the excess at once) while a well-formed AdmissionReview is still
// answered; and a body that stops arriving is cut off by the request timeout.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type TLSSocket } from "node:tls";
import { fileURLToPath } from "node:url";
import { selfSignedCertificate } from "../cluster/self-signed.ts";
import { Processes, type TestProcess } from "../support/process.ts";
import { waitFor } from "../support/wait.ts";
import { podReview, post } from "./webhook-client.ts";

const MAIN = fileURLToPath(new URL("../../webhook/src/main.ts", import.meta.url));
const MiB = 1024 * 1024;
/** Connections in the flood, each declaring a 1 MiB body (the per-request cap) and sending all but its last byte. */
const FLOOD = 100;
/**
 * How far the webhook's resident memory may grow over its idle size (about
 * 170 MiB). The budget admits 28 MiB of large bodies (32 MiB less the eighth
 * kept for small ones), which with their TLS connections, the refused ones'
 * and garbage not yet collected came to 80-90 MiB; without the budget all
 * 100 MiB of bodies were held and it grew by about 200 MiB.
 */
const RSS_GROWTH_BOUND = 128 * MiB;

function statusKiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? NaN);
}

interface Held {
  socket: TLSSocket;
  /** The body so far is with the kernel. */
  sent: boolean;
  closed: boolean;
  response: string;
}

/** A client that declares `declared` bytes of body, sends `send` of them and then stalls. */
function holdBody(port: number, declared: number, send: number): Held {
  const held: Held = { socket: connect({ host: "127.0.0.1", port, rejectUnauthorized: false }), sent: false, closed: false, response: "" };
  held.socket.once("secureConnect", () => {
    held.socket.write(`POST /inject HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`);
    held.socket.write(Buffer.alloc(send, 0x20), () => (held.sent = true));
  });
  held.socket.setEncoding("utf8").on("data", (chunk: string) => (held.response += chunk));
  // A refused client's writes fail once the webhook closes: that is expected.
  held.socket.on("error", () => {});
  held.socket.once("close", () => (held.closed = true));
  return held;
}

describe("weft-webhook under a flood of unfinished bodies", function () {
  this.timeout(60_000);
  let dir = "";
  let ca = "";
  const processes = new Processes();
  const held: Held[] = [];

  const start = async (extra: string[]): Promise<{ p: TestProcess; port: number }> => {
    const p = processes.node("weft-webhook", [
      MAIN, "--tls-cert", join(dir, "tls.crt"), "--tls-key", join(dir, "tls.key"), "--kubeconfig", join(dir, "kubeconfig"),
      "--port", "0", "--metrics-port", "0", "--host", "127.0.0.1", "--log-level", "info", ...extra,
    ]);
    const port = Number((await p.waitForOutput(/"port":(\d+).*"webhook serving"/))[1]);
    return { p, port };
  };
  const review = JSON.stringify(podReview({ spec: { containers: [{ name: "c" }] } }, "shop"));

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "weft-webhook-limits-"));
    const tls = selfSignedCertificate("127.0.0.1");
    ca = tls.cert;
    writeFileSync(join(dir, "tls.crt"), tls.cert);
    writeFileSync(join(dir, "tls.key"), tls.key);
    // No apiserver listens: namespace lookups fail as values and pods are allowed untouched.
    writeFileSync(
      join(dir, "kubeconfig"),
      "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    );
  });
  afterEach(function () {
    for (const h of held.splice(0)) h.socket.destroy();
    if (this.currentTest?.state === "failed") console.error(processes.report());
    for (const p of processes.all) p.kill();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`keeps its memory within ${RSS_GROWTH_BOUND / MiB} MiB of idle and still answers admissions while ${FLOOD} clients each hold 1 MiB unfinished`, async () => {
    const { p, port } = await start([]);
    const pid = p.child.pid!;
    // Warm: the first admission loads what every later one uses.
    assert.equal((await post(port, ca, review)).status, 200);
    const idle = statusKiB(pid, "VmRSS") * 1024;

    for (let i = 0; i < FLOOD; i++) held.push(holdBody(port, MiB, MiB - 1));
    await waitFor(`all ${FLOOD} flood clients to have sent their bodies or been refused`, () => held.every((h) => h.sent || h.closed), { timeoutMs: 30_000 });

    const during = await post(port, ca, review);
    assert.equal(during.status, 200, "a well-formed review is answered during the flood");
    assert.equal(during.json.response.allowed, true);

    // The webhook reads what it admitted as it arrives; sample until its memory stops moving.
    const samples: number[] = [];
    await waitFor(
      "the webhook's RSS to settle (5 samples within 2 MiB)",
      () => {
        samples.push(statusKiB(pid, "VmRSS") * 1024);
        const last = samples.slice(-5);
        return last.length === 5 && Math.max(...last) - Math.min(...last) < 2 * MiB;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const peak = Math.max(...samples);
    const refused = held.filter((h) => h.response.startsWith("HTTP/1.1 503") || (h.closed && h.response === "")).length;
    const report = `idle ${(idle / MiB).toFixed(0)} MiB, peak during the flood ${(peak / MiB).toFixed(0)} MiB, ${refused} of ${FLOOD} refused`;
    assert.ok(peak - idle < RSS_GROWTH_BOUND, report);
    assert.ok(refused >= FLOOD - 32, `the clients over the budget are refused at once: ${report}`);
    const busy = held.find((h) => h.response.startsWith("HTTP/1.1 503"));
    if (busy) assert.match(busy.response, /"error":"server-busy".*bytes of request bodies in flight; retry/s);
    // Still in flight: the admitted clients' connections stay open until their bodies arrive or time out.
    assert.ok(held.some((h) => !h.closed), "the admitted clients are still held");
  });

  it("closes a connection whose body stops arriving once the request timeout passes, and a client slow with its headers too", async () => {
    const { port } = await start(["--request-timeout", "2s"]);
    const stalledBody = holdBody(port, 4096, 100);
    const stalledHeaders = connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
    let headersClosed = false;
    stalledHeaders.on("error", () => {});
    // Read what comes (a 408): an unread stream never reports the close.
    stalledHeaders.resume();
    stalledHeaders.once("secureConnect", () => stalledHeaders.write("POST /inject HTTP/1.1\r\nHost: webhook\r\n"));
    stalledHeaders.once("close", () => (headersClosed = true));
    held.push(stalledBody);
    await waitFor("the stalled body's connection to be closed", () => stalledBody.closed, { timeoutMs: 15_000 });
    await waitFor("the stalled headers' connection to be closed", () => headersClosed, { timeoutMs: 15_000 });
    stalledHeaders.destroy();
    // Node answers a timed-out request 408 before closing, when it can.
    assert.ok(stalledBody.response === "" || stalledBody.response.startsWith("HTTP/1.1 408"), stalledBody.response);
    assert.equal((await post(port, ca, review)).status, 200);
  });

  it("refuses bad limit flags", async () => {
    const small = processes.node("weft-webhook", [MAIN, "--tls-cert", "x", "--tls-key", "y", "--max-inflight-bytes", "1000"]);
    assert.equal(await small.exited, 2);
    assert.match(small.output, /--max-inflight-bytes must be/);
    const timeout = processes.node("weft-webhook", [MAIN, "--tls-cert", "x", "--tls-key", "y", "--request-timeout", "soon"]);
    assert.equal(await timeout.exited, 2);
    assert.match(timeout.output, /--request-timeout/);
  });
});
