// Capture with real iptables in network namespaces: a "client pod" and a
// "server pod" joined by a veth, each with the rules weft-proxy-init writes,
// and stand-in listeners on the proxy's ports that report the original
// destination they recover with getOriginalDestination.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type LabProcess, type Link, NetnsLab, NODE, skipWithoutNetns } from "../netns/lab.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const agent = (name: string) => `${root}test/netns/agents/${name}.ts`;
const initMain = `${root}sidecar/src/init-main.ts`;

const PROXY_UID = 2102;
const PORTS = { inbound: 15006, outbound: 15001, admin: 15020 };
const APP_UID = 1000;

interface ProbeResult {
  data?: string;
  error?: string;
}

function stripComments(save: string): string {
  return save.split("\n").filter((l) => !l.startsWith("#")).join("\n");
}

describe("transparent capture in network namespaces", function () {
  this.timeout(60_000);
  const lab = new NetnsLab();
  let client = "";
  let server = "";
  let link: Link;
  const procs: LabProcess[] = [];

  function initFlags(extra: string[]): string[] {
    return [initMain, "--inbound-port", String(PORTS.inbound), "--outbound-port", String(PORTS.outbound), "--admin-port", String(PORTS.admin), "--proxy-uid", String(PROXY_UID), ...extra];
  }

  function probe(ns: string, host: string, port: number, uid = APP_UID): ProbeResult {
    const out = lab.exec(ns, NODE, [agent("tcp-probe"), host, String(port)], { uid, cwd: root });
    return JSON.parse(out.trim().split("\n").pop() ?? "{}") as ProbeResult;
  }

  function reply(result: ProbeResult): Record<string, unknown> {
    assert.ok(result.data, `no data: ${JSON.stringify(result)}`);
    return JSON.parse(result.data) as Record<string, unknown>;
  }

  before(async function () {
    skipWithoutNetns(this);
    client = lab.namespace("client");
    server = lab.namespace("server");
    link = lab.link(client, server);

    const start = (ns: string, file: string, args: string[]) => {
      const p = lab.spawn(ns, NODE, [agent(file), ...args], { cwd: root });
      procs.push(p);
      return p.waitForOutput(/listening/);
    };
    await Promise.all([
      start(server, "banner-server", ["--name", "server-app", "--port", "8080", "--port", "8081", "--port", "9001", "--port", String(PORTS.admin)]),
      start(client, "banner-server", ["--name", "client-local", "--port", "7000"]),
      start(client, "origdst-listener", ["--name", "client-outbound", "--port", String(PORTS.outbound)]),
      start(server, "origdst-listener", ["--name", "server-inbound", "--port", String(PORTS.inbound)]),
    ]);
    lab.exec(client, NODE, initFlags(["--exclude-outbound-ports", "8081"]), { cwd: root });
    lab.exec(server, NODE, initFlags(["--exclude-inbound-ports", "9001"]), { cwd: root });
  });

  after(async () => {
    await lab.cleanup();
  });

  it("redirects the app's outbound connection to the outbound port, which recovers the original destination", () => {
    const r = reply(probe(client, link.bAddr, 8080));
    assert.equal(r.who, "client-outbound");
    assert.deepEqual(r.dst, { ok: true, value: { address: link.bAddr, port: 8080 } });
  });

  it("redirects inbound connections to the inbound port, which recovers the port the peer dialled", () => {
    // The proxy's own connection leaves the client pod uncaptured and is captured on arrival.
    const r = reply(probe(client, link.bAddr, 8080, PROXY_UID));
    assert.equal(r.who, "server-inbound");
    assert.deepEqual(r.dst, { ok: true, value: { address: link.bAddr, port: 8080 } });
    assert.equal(r.peer, link.aAddr);
  });

  it("lets excluded outbound ports bypass the outbound proxy", () => {
    const r = reply(probe(client, link.bAddr, 8081));
    // Not the client's outbound listener: it reached the server pod (whose inbound capture took it).
    assert.equal(r.who, "server-inbound");
    assert.deepEqual(r.dst, { ok: true, value: { address: link.bAddr, port: 8081 } });
  });

  it("delivers excluded inbound ports and the admin port straight to the app", () => {
    assert.deepEqual(reply(probe(client, link.bAddr, 9001, PROXY_UID)), { who: "server-app", port: 9001, peer: link.aAddr });
    assert.deepEqual(reply(probe(client, link.bAddr, PORTS.admin, PROXY_UID)), { who: "server-app", port: PORTS.admin, peer: link.aAddr });
  });

  it("leaves the app's connections to localhost and to its own pod address alone", () => {
    assert.equal(reply(probe(client, "127.0.0.1", 7000)).who, "client-local");
    assert.equal(reply(probe(server, link.bAddr, 8080)).who, "server-app");
  });

  it("sends the proxy's connection to its own pod address through the inbound port", () => {
    const r = reply(probe(server, link.bAddr, 8080, PROXY_UID));
    assert.equal(r.who, "server-inbound");
    assert.deepEqual(r.dst, { ok: true, value: { address: link.bAddr, port: 8080 } });
  });

  it("reports not-redirected for a connection that reached the listener directly", () => {
    const r = reply(probe(client, "127.0.0.1", PORTS.outbound, PROXY_UID));
    assert.equal(r.who, "client-outbound");
    assert.equal((r.dst as { ok: boolean; code: string }).code, "not-redirected");
  });

  it("is idempotent, and --remove restores the nat table with others' rules intact", () => {
    const ns = lab.namespace("idem");
    // Someone else's rule that must survive both apply and remove.
    lab.exec(ns, "iptables", ["-t", "nat", "-A", "OUTPUT", "-p", "tcp", "--dport", "5555", "-j", "RETURN"]);
    const before = stripComments(lab.exec(ns, "iptables-save", ["-t", "nat"]));
    lab.exec(ns, NODE, initFlags(["--exclude-inbound-ports", "22"]), { cwd: root });
    const once = stripComments(lab.exec(ns, "iptables-save", ["-t", "nat"]));
    lab.exec(ns, NODE, initFlags(["--exclude-inbound-ports", "22"]), { cwd: root });
    const twice = stripComments(lab.exec(ns, "iptables-save", ["-t", "nat"]));
    assert.equal(twice, once);
    assert.match(once, /-A OUTPUT -p tcp -m tcp --dport 5555 -j RETURN/);
    assert.equal(once.match(/-j WEFT_OUTPUT/g)?.length, 1);
    assert.equal(once.match(/-j WEFT_INBOUND/g)?.length, 1);
    lab.exec(ns, NODE, initFlags(["--remove"]), { cwd: root });
    assert.equal(stripComments(lab.exec(ns, "iptables-save", ["-t", "nat"])), before);
    // Removing again is a no-op, not an error.
    lab.exec(ns, NODE, initFlags(["--remove"]), { cwd: root });
  });

  it("captures IPv6 too, and recovers the IPv6 original destination", async () => {
    const app = lab.namespace("v6app");
    const peer = lab.namespace("v6peer");
    const l6 = lab.link(app, peer);
    const listener = lab.spawn(app, NODE, [agent("origdst-listener"), "--name", "v6-outbound", "--port", String(PORTS.outbound), "--host", "::"], { cwd: root });
    procs.push(listener);
    await listener.waitForOutput(/listening/);
    lab.exec(app, NODE, initFlags(["--ipv6"]), { cwd: root });
    const r = reply(probe(app, l6.bAddr6, 8443));
    assert.equal(r.who, "v6-outbound");
    assert.deepEqual(r.dst, { ok: true, value: { address: l6.bAddr6, port: 8443 } });
  });
});
