// `weft dashboard`'s local HTTP proxy, with real HTTP servers and clients on
// loopback. The tunnel stands in for pods/portforward with the one property that
// matters here: it never reports the pod's side closing.
import assert from "node:assert/strict";
import * as http from "node:http";
import * as net from "node:net";
import { duplexPair } from "node:stream";
import { endToEndHeaders, forwardingHandler, startForwarder, type Dial } from "../../cli/src/dashboard-forward.ts";
import { waitFor } from "../support/wait.ts";

interface Dashboard {
  port: number;
  closedByServer: () => number;
  stop(): Promise<void>;
}

/** A stand-in dashboard that, like express's default, closes idle keep-alive connections quickly. */
async function startDashboard(): Promise<Dashboard> {
  let closed = 0;
  const server = http.createServer((req, res) => {
    if (req.url === "/events") {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: first\n\n");
      return;
    }
    let body = "";
    req.setEncoding("utf8").on("data", (d: string) => (body += d)).on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "x-hop": "private", connection: "x-hop" });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
    });
  });
  server.keepAliveTimeout = 100;
  server.on("connection", (s: net.Socket) => s.on("close", () => closed++));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    closedByServer: () => closed,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Tunnels that carry bytes both ways but, as pods/portforward, never pass on the far side's close. */
function silentCloseDial(port: number): { dial: Dial; open: () => number } {
  let open = 0;
  return {
    open: () => open,
    dial: async () => {
      const [local, remote] = duplexPair();
      const socket = net.connect(port, "127.0.0.1");
      await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
      open++;
      remote.pipe(socket);
      socket.pipe(remote, { end: false });
      socket.on("error", () => {});
      local.on("close", () => {
        open--;
        socket.destroy();
      });
      return local;
    },
  };
}

function get(port: number, path: string, agent: http.Agent | false, init: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string } = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, agent, method: init.method ?? "GET", headers: init.headers ?? {}, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d)).on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, reused: req.reusedSocket }));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer to ${path} in 5 s`)));
    req.on("error", reject);
    req.end(init.body);
  });
}

describe("weft dashboard's local proxy", function () {
  let dashboard: Dashboard;
  let proxy: http.Server;
  let tunnels: ReturnType<typeof silentCloseDial>;
  let port = 0;
  const errors: Error[] = [];

  beforeEach(async () => {
    dashboard = await startDashboard();
    tunnels = silentCloseDial(dashboard.port);
    proxy = await startForwarder({ dial: tunnels.dial, address: "127.0.0.1", port: 0, onError: (e) => errors.push(e) });
    port = (proxy.address() as net.AddressInfo).port;
    errors.length = 0;
  });
  afterEach(async () => {
    proxy.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    await dashboard.stop();
  });

  it("answers on the browser's reused keep-alive connection after the dashboard closed its idle one", async () => {
    const browser = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(port, "/api/graph", browser);
      assert.equal(first.status, 200);
      await waitFor("the dashboard to close its idle connection", () => dashboard.closedByServer() >= 1);
      const second = await get(port, "/api/graph", browser);
      assert.equal(second.status, 200);
      assert.equal(second.reused, true, "the browser's connection to the proxy was reused");
      await waitFor("every tunnel closed with its answer", () => tunnels.open() === 0);
    } finally {
      browser.destroy();
    }
  });

  it("streams an event stream until the browser leaves, then closes its tunnel", async () => {
    const first = await new Promise<string>((resolve, reject) => {
      const req = http.get({ host: "127.0.0.1", port, path: "/events", agent: false }, (res) => {
        res.setEncoding("utf8").once("data", (d: string) => {
          resolve(d);
          req.destroy();
        });
      });
      req.on("error", (e) => (e.message.includes("aborted") || e.message.includes("socket hang up") ? undefined : reject(e)));
    });
    assert.equal(first, "data: first\n\n");
    await waitFor("the event stream's tunnel closed", () => tunnels.open() === 0);
  });

  it("carries the method and body, and passes no hop-by-hop header either way", async () => {
    const r = await get(port, "/api/tap?x=1", false, { method: "POST", headers: { connection: "keep-alive, x-private", "x-private": "1", "x-kept": "2", "content-type": "text/plain" }, body: "hello" });
    const seen = JSON.parse(r.body) as { method: string; url: string; headers: Record<string, string>; body: string };
    assert.deepEqual([seen.method, seen.url, seen.body], ["POST", "/api/tap?x=1", "hello"]);
    assert.equal(seen.headers["x-kept"], "2");
    assert.equal(seen.headers["x-private"], undefined, "a header the Connection header names stays on its hop");
    assert.equal(seen.headers.connection, "close", "one request per tunnel");
    assert.equal(r.headers["x-hop"], undefined, "and so does the dashboard's");
  });

  it("answers 502 with the reason when no tunnel opens, and keeps serving", async () => {
    proxy.removeAllListeners("request");
    let refuse = true;
    proxy.on("request", forwardingHandler({
      dial: () => (refuse ? Promise.reject(new Error("pods \"weft-dashboard-1\" is forbidden")) : tunnels.dial()),
      onError: (e) => errors.push(e),
    }));
    const refused = await get(port, "/", false);
    assert.equal(refused.status, 502);
    assert.match(refused.body, /no answer from the dashboard's pod: pods "weft-dashboard-1" is forbidden/);
    assert.equal(errors.length, 1);
    refuse = false;
    assert.equal((await get(port, "/", false)).status, 200);
  });

  it("drops the headers a Connection header names, and the standard hop-by-hop ones", () => {
    assert.deepEqual(endToEndHeaders({ connection: "close, X-Trace", "x-trace": "a", "keep-alive": "timeout=5", "transfer-encoding": "chunked", accept: "text/html" }), { accept: "text/html" });
  });
});
