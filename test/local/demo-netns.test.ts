// `weft demo` in network-namespace mode: traffic flows between three services
// in their own namespaces, over mTLS (a capture on the hub's bridge sees only
// TLS between the namespaces, and would have seen plaintext), retries are
// counted, and stopping leaves no namespaces, links, rules or processes.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { skipWithoutNetns } from "../netns/lab.ts";
import { checkTls, reassemble, tcpFlows } from "../netns/pcap.ts";
import { startProcess, type TestProcess } from "../support/process.ts";
import { NETNS_STARTUP, STOP_GRACE_MS, alive, netnsNames, removeNamespacesOf, rootCaptureChains, rootLinks, rootLinksAddedSince, sh, startCli } from "./netns-harness.ts";

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
  let demo: TestProcess | undefined;
  let tcpdump: TestProcess | undefined;
  // Taken when the suite starts, not when mocha loads the file: suites that run
  // in between (a test cluster's pods) add and remove links of their own.
  let linksBefore: string[] = [];
  let chainsBefore = 0;

  before(function () {
    skipWithoutNetns(this, { sweep: false });
    linksBefore = rootLinks();
    chainsBefore = rootCaptureChains();
    dir = mkdtempSync(join(tmpdir(), "weft-demo-netns-"));
  });
  after(async () => {
    tcpdump?.kill();
    if (demo) {
      await demo.stop(STOP_GRACE_MS);
      removeNamespacesOf([demo.pid ?? -1]);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed" && demo) console.error(`--- demo (${demo.state})\n${demo.stdout}\n${demo.stderr}\n--- tcpdump\n${tcpdump?.output ?? "(not started)"}`);
  });

  it("carries traffic over mTLS between namespaces (only TLS on the wire), counts retries, and leaves nothing behind", async () => {
    const pcap = join(dir, "hub.pcap");
    let hub = "";
    demo = startCli("demo", ["demo", "--mode", "netns", "--duration", "10s", "--json", "--state-dir", dir], (c) => {
      const m = /^namespaces: (weft-\d+-hub) /m.exec(c.stdout);
      if (m && !tcpdump) {
        hub = m[1]!;
        // On the bridge: every frame between the namespaces (sidecars, control plane) crosses it.
        // Started from the output callback, at once: the sidecars connect right after this line.
        tcpdump = startProcess("tcpdump", "ip", ["netns", "exec", hub, "tcpdump", "-i", "weft0", "--immediate-mode", "-U", "-s", "0", "-w", pcap, "tcp"]);
      }
    });
    await demo.waitForOutput(/^\[([5-9]|1\d)s /m, NETNS_STARTUP);
    assert.ok(tcpdump, "the demo named its hub namespace");
    await tcpdump.waitForOutput(/listening on weft0/);
    // Control: plaintext HTTP from the hub to a sidecar's admin port crosses the same bridge.
    const control = sh("ip", ["netns", "exec", hub, "curl", "-sS", "--max-time", "5", "-o", "/dev/null", "http://10.203.0.10:4191/live"]);
    // Stopped while the demo still runs: its teardown removes the bridge tcpdump listens on.
    await demo.waitForOutput(/^\[(8|9|1\d)s /m, NETNS_STARTUP);
    await tcpdump.stop();
    const code = await demo.exited;
    assert.equal(code, 0, `${demo.stdout}\n${demo.stderr}`);
    assert.match(demo.stdout, /^network-namespace mode \(--mode netns\): /m);
    const { summary } = JSON.parse(demo.stdout.trim().split("\n").at(-1)!) as { summary: Summary };

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
    assert.equal(control.status, 0, `the plaintext control request ran: ${control.stderr}`);
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
    const pid = demo.pid!;
    assert.ok(summary.namespaces.length === 4 && summary.namespaces.every((n) => n.startsWith(`weft-${pid}-`)), JSON.stringify(summary.namespaces));
    assert.deepEqual(netnsNames().filter((n) => n.startsWith(`weft-${pid}-`)), [], "no namespaces left");
    assert.deepEqual(rootLinksAddedSince(linksBefore), [], "no veths or bridges in the root namespace");
    assert.ok(rootCaptureChains() <= chainsBefore, "no capture rules in the root namespace");
    for (const p of summary.pids) assert.equal(alive(p), false, `pid ${p} still running`);
    assert.deepEqual(readdirSync(tmpdir()).filter((f) => f.startsWith(`weft-${pid}-`)), [], "sidecar files removed");
    assert.equal(existsSync(join(dir, "run")), false);
  });
});
