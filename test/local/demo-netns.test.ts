// `weft demo` in network-namespace mode: traffic flows between three services
// in their own namespaces, over mTLS (a capture on the hub's bridge sees only
// TLS between the namespaces, and would have seen plaintext), retries are
// counted, and stopping leaves no namespaces, links, rules or processes.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { netnsUnavailable } from "../netns/lab.ts";
import { checkTls, reassemble, tcpFlows } from "../netns/pcap.ts";
import { alive, netnsNames, removeNamespacesOf, rootCaptureChains, rootLinks, rootLinksAddedSince, sh, startCli, stopCli, type CliChild } from "./netns-harness.ts";

interface Summary {
  mode: string;
  hub: string;
  namespaces: string[];
  addresses: Record<string, string>;
  load: { sent: number; ok: number; failed: number };
  edges: { to: string; requests: number; retries: number; mtls: boolean; clientId: string; serverId: string }[];
  pids: number[];
}

describe("weft demo in network-namespace mode", function () {
  this.timeout(300_000);
  let dir = "";
  let demo: CliChild | undefined;
  let tcpdump: ChildProcess | undefined;
  let tcpdumpErr = "";
  // Taken when the suite starts, not when mocha loads the file: suites that run
  // in between (a test cluster's pods) add and remove links of their own.
  let linksBefore: string[] = [];
  let chainsBefore = 0;

  before(function () {
    const why = netnsUnavailable();
    if (why) {
      console.warn(`  skipped: ${why}`);
      this.skip();
    }
    linksBefore = rootLinks();
    chainsBefore = rootCaptureChains();
    dir = mkdtempSync(join(tmpdir(), "weft-demo-netns-"));
  });
  after(async () => {
    if (tcpdump && tcpdump.exitCode === null) tcpdump.kill("SIGKILL");
    if (demo) {
      await stopCli(demo);
      removeNamespacesOf([demo.proc.pid ?? -1]);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed" && demo) console.error(`--- demo\n${demo.out}\n${demo.err}\n--- tcpdump\n${tcpdumpErr}`);
  });

  it("carries traffic over mTLS between namespaces (only TLS on the wire), counts retries, and leaves nothing behind", async () => {
    const pcap = join(dir, "hub.pcap");
    let hub = "";
    let control: { status: number | null } | undefined;
    let tcpdumpStopped: Promise<unknown> | undefined;
    demo = startCli("demo", ["demo", "--mode", "netns", "--duration", "10s", "--json", "--state-dir", dir], (c) => {
      const m = /^namespaces: (weft-\d+-hub) /m.exec(c.out);
      if (m && !tcpdump) {
        hub = m[1]!;
        // On the bridge: every frame between the namespaces (sidecars, control plane) crosses it.
        tcpdump = spawn("ip", ["netns", "exec", hub, "tcpdump", "-i", "weft0", "--immediate-mode", "-U", "-s", "0", "-w", pcap, "tcp"], { stdio: ["ignore", "ignore", "pipe"] });
        tcpdump.stderr!.on("data", (d: Buffer) => (tcpdumpErr += d.toString()));
      }
      if (!control && /^\[([5-9]|1\d)s /m.test(c.out)) {
        // Control: plaintext HTTP from the hub to a sidecar's admin port crosses the same bridge.
        control = sh("ip", ["netns", "exec", hub, "curl", "-sS", "--max-time", "5", "-o", "/dev/null", "http://10.203.0.10:4191/live"]);
      }
      if (!tcpdumpStopped && /^\[(8|9|1\d)s /m.test(c.out) && tcpdump) {
        tcpdumpStopped = new Promise((r) => tcpdump!.once("exit", r));
        tcpdump.kill("SIGTERM");
      }
    });
    const code = await demo.exited;
    assert.equal(code, 0, `${demo.out}\n${demo.err}`);
    assert.match(demo.out, /^network-namespace mode \(--mode netns\): /m);
    const { summary } = JSON.parse(demo.out.trim().split("\n").at(-1)!) as { summary: Summary };

    // Traffic flowed, over mTLS with the workloads' identities, and the injected 503s were retried.
    assert.equal(summary.mode, "netns");
    assert.ok(summary.load.sent > 30 && summary.load.ok / summary.load.sent > 0.8, JSON.stringify(summary.load));
    for (const to of ["catalog", "prices"]) {
      const edge = summary.edges.find((e) => e.to === to)!;
      assert.ok(edge.requests > 10, `${to}: ${edge.requests} requests`);
      assert.equal(edge.mtls, true);
      assert.equal(edge.clientId, "spiffe://cluster.local/ns/demo/sa/frontend");
      assert.equal(edge.serverId, `spiffe://cluster.local/ns/demo/sa/${to}`);
    }
    assert.ok(summary.edges.find((e) => e.to === "catalog")!.retries > 0, "retries of the injected 503s are counted");

    // The wire: only TLS between the namespaces; the control's plaintext was seen.
    if (tcpdumpStopped) await tcpdumpStopped;
    else if (tcpdump) await new Promise((r) => (tcpdump!.exitCode !== null ? r(null) : tcpdump!.once("exit", r)));
    assert.equal(control?.status, 0, "the plaintext control request ran");
    const flows = [...tcpFlows(readFileSync(pcap))]
      // Only connections whose start was captured can be read from their first byte.
      .filter(([, f]) => f.isn !== undefined)
      .map(([flow, f]) => ({ flow, ...checkTls(reassemble(f)), bytes: reassemble(f).length }))
      .filter((f) => f.bytes > 0);
    const isControl = (flow: string): boolean => flow.includes(`${summary.addresses.frontend}:4191`);
    const controlFlows = flows.filter((f) => isControl(f.flow));
    const meshed = flows.filter((f) => !isControl(f.flow));
    assert.ok(controlFlows.length > 0 && controlFlows.every((f) => !f.isTls), `the plaintext control was seen as plaintext: ${JSON.stringify(controlFlows)}`);
    // The frontend's sidecar dials each endpoint's own address and port (captured there by the callee's sidecar).
    const sidecarToSidecar = meshed.filter((f) => f.flow.startsWith(`${summary.addresses.frontend}:`) && [summary.addresses.catalog, summary.addresses.prices].some((a) => f.flow.includes(`> ${a}:`)));
    assert.ok(sidecarToSidecar.length >= 2, `sidecar-to-sidecar connections were captured: ${JSON.stringify(flows.map((f) => f.flow))}`);
    assert.deepEqual(meshed.filter((f) => !f.isTls), [], "every byte between the namespaces is a TLS record");
    assert.ok(sidecarToSidecar.some((f) => f.contentTypes.includes(23)), "application data crossed as TLS records");

    // Nothing left: namespaces, the root namespace's links and rules, processes, runtime files.
    const pid = demo.proc.pid!;
    assert.ok(summary.namespaces.length === 4 && summary.namespaces.every((n) => n.startsWith(`weft-${pid}-`)), JSON.stringify(summary.namespaces));
    assert.deepEqual(netnsNames().filter((n) => n.startsWith(`weft-${pid}-`)), [], "no namespaces left");
    assert.deepEqual(rootLinksAddedSince(linksBefore), [], "no veths or bridges in the root namespace");
    assert.ok(rootCaptureChains() <= chainsBefore, "no capture rules in the root namespace");
    for (const p of summary.pids) assert.equal(alive(p), false, `pid ${p} still running`);
    assert.deepEqual(readdirSync(tmpdir()).filter((f) => f.startsWith(`weft-${pid}-`)), [], "sidecar files removed");
    assert.equal(existsSync(join(dir, "run")), false);
  });
});
