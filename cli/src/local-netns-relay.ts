#!/usr/bin/env node
// Runs inside a workload's network namespace and forwards each unix socket to
// a TCP address in that namespace: how the CLI, in the root namespace, reaches
// a sidecar's admin port or the app without any address or route outside
// Weft's namespaces. Its connections to 127.0.0.1 stay on lo, which capture
// leaves alone, so they reach the admin server or the app directly.
//   usage: local-netns-relay.ts SOCKET=HOST:PORT...
import { rmSync } from "node:fs";
import * as net from "node:net";

interface Route { socket: string; host: string; port: number }

function parse(args: string[]): Route[] | string {
  const routes: Route[] = [];
  for (const a of args) {
    const m = /^(\/[^=]+)=([^:]+):(\d{1,5})$/.exec(a);
    if (!m || Number(m[3]) > 65535) return `"${a}" is not SOCKET=HOST:PORT`;
    routes.push({ socket: m[1]!, host: m[2]!, port: Number(m[3]) });
  }
  return routes.length > 0 ? routes : "give at least one SOCKET=HOST:PORT";
}

const routes = parse(process.argv.slice(2));
if (typeof routes === "string") {
  console.error(`local-netns-relay: ${routes}`);
  process.exit(2);
}

const open = new Set<net.Socket>();
const servers = routes.map((r) => {
  rmSync(r.socket, { force: true });
  const server = net.createServer((down) => {
    const up = net.connect(r.port, r.host);
    open.add(down).add(up);
    const close = (): void => {
      down.destroy();
      up.destroy();
      open.delete(down);
      open.delete(up);
    };
    down.on("error", close).on("close", close);
    up.on("error", close).on("close", close);
    down.pipe(up).pipe(down);
  });
  server.on("error", (err) => {
    console.error(JSON.stringify({ level: "error", msg: "relay cannot listen", socket: r.socket, reason: err.message }));
    process.exit(1);
  });
  return new Promise<net.Server>((resolve) => server.listen(r.socket, () => resolve(server)));
});

const listening = await Promise.all(servers);
console.log(JSON.stringify({ level: "info", msg: "relay ready", sockets: routes.map((r) => r.socket) }));

for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.once(sig, () => {
    for (const s of listening) s.close();
    for (const s of open) s.destroy();
    for (const r of routes) rmSync(r.socket, { force: true });
    process.exit(0);
  });
}
