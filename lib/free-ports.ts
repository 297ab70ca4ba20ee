// Loopback ports chosen up front, for what must be told its port before it
// starts (local mode's sidecars and apps, tests' flags and config files).
// A free port is free when picked, not when used: prefer binding port 0 and
// reporting what was bound wherever the code allows it.
import * as net from "node:net";

/**
 * `count` distinct ports that nothing listened on a moment ago. Every probe
 * listener stays bound until all are, so the kernel cannot hand out the same
 * port twice (which picking them one at a time, or concurrently, allows).
 */
export async function freePorts(count: number, host = "127.0.0.1"): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, host, () => resolve());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  }
}
