// A loopback TCP relay in front of a real server that can make its open
// connections go silent, neither forwarding nor closing: what a peer sees when
// the host at the other end vanishes without a FIN (a pod force-deleted, a node
// lost). New connections through the relay keep working, and can be sent to
// another server while the open ones stay where they are (a Service whose
// endpoint moved to another replica).
import * as net from "node:net";

export interface TcpRelay {
  address: string;
  /** Connections open right now. */
  open(): number;
  /** Every connection open now stops carrying bytes, both ways, and is never closed by the relay. */
  silenceOpen(): void;
  /** New connections go to `target` from now on; open ones keep theirs. */
  retarget(target: { host: string; port: number }): void;
  close(): Promise<void>;
}

export async function startTcpRelay(initialTarget: { host: string; port: number }): Promise<TcpRelay> {
  let target = initialTarget;
  const pairs = new Set<{ a: net.Socket; b: net.Socket }>();
  const silenced: net.Socket[] = [];
  const server = net.createServer((a) => {
    const b = net.connect(target);
    const pair = { a, b };
    pairs.add(pair);
    a.pipe(b);
    b.pipe(a);
    const drop = (): void => {
      pairs.delete(pair);
      a.destroy();
      b.destroy();
    };
    a.on("error", drop).on("close", drop);
    b.on("error", drop).on("close", drop);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    open: () => pairs.size,
    silenceOpen() {
      for (const pair of pairs) {
        pair.a.unpipe(pair.b);
        pair.b.unpipe(pair.a);
        // Read and discard, so neither side ever sees back-pressure or an end either.
        pair.a.removeAllListeners("close").removeAllListeners("end").on("data", () => {}).on("error", () => {});
        pair.b.removeAllListeners("close").removeAllListeners("end").on("data", () => {}).on("error", () => {});
        silenced.push(pair.a, pair.b);
      }
      pairs.clear();
    },
    retarget(next) {
      target = next;
    },
    async close() {
      for (const s of silenced) s.destroy();
      for (const { a, b } of pairs) {
        a.destroy();
        b.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
