// A TCP listener in front of a grpc-js server that admits a bounded number of
// connections, in total and per peer address. grpc-js accepts every connection
// its own listener sees and has no cap; here a connection over the limit is
// closed on accept, before it costs a TLS handshake or an HTTP/2 session, and
// the admitted ones are handed to the server through its connection injector.
import type * as grpc from "@grpc/grpc-js";
import { createServer, type Server, type Socket } from "node:net";

export interface ConnectionLimits {
  /** Connections open at once, from every peer together. */
  maxConnections: number;
  /** Connections open at once from one peer address. */
  maxConnectionsPerPeer: number;
}

export type ConnectionRefusal = "connection-limit" | "peer-connection-limit";

export interface LimitedListener {
  port: number;
  /** Connections admitted and still open. */
  open(): number;
  /** Stops accepting; admitted connections stay with the gRPC server, which closes them. */
  close(): void;
  /** Resolves once no admitted connection is open (at once if none is). */
  allClosed(): Promise<void>;
}

export interface LimitedListenerOptions {
  host: string;
  port: number;
  credentials: grpc.ServerCredentials;
  limits: ConnectionLimits;
  refused(reason: ConnectionRefusal, peer: string): void;
}

export async function listenLimited(server: grpc.Server, options: LimitedListenerOptions): Promise<LimitedListener> {
  const injector = server.createConnectionInjector(options.credentials);
  const { maxConnections, maxConnectionsPerPeer } = options.limits;
  const perPeer = new Map<string, number>();
  let total = 0;
  const whenAllClosed: (() => void)[] = [];
  const admit = (socket: Socket) => {
    // The TLS and HTTP/2 layers report their own errors; this one keeps an
    // error on the bare socket (a reset before the handshake) from being uncaught.
    socket.on("error", () => {});
    const peer = socket.remoteAddress ?? "unknown";
    const fromPeer = perPeer.get(peer) ?? 0;
    const refusal: ConnectionRefusal | null = total >= maxConnections ? "connection-limit" : fromPeer >= maxConnectionsPerPeer ? "peer-connection-limit" : null;
    if (refusal) {
      socket.destroy();
      options.refused(refusal, peer);
      return;
    }
    total++;
    perPeer.set(peer, fromPeer + 1);
    socket.once("close", () => {
      total--;
      const left = (perPeer.get(peer) ?? 1) - 1;
      if (left === 0) perPeer.delete(peer);
      else perPeer.set(peer, left);
      if (total === 0) for (const resolve of whenAllClosed.splice(0)) resolve();
    });
    injector.injectConnection(socket);
  };
  const listener: Server = createServer({ noDelay: true }, admit);
  const port = await new Promise<number>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen({ host: options.host, port: options.port }, () => {
      listener.off("error", reject);
      const address = listener.address();
      resolve(typeof address === "object" && address ? address.port : options.port);
    });
  });
  return {
    port,
    open: () => total,
    close: () => {
      listener.close();
    },
    allClosed: () => (total === 0 ? Promise.resolve() : new Promise<void>((resolve) => whenAllClosed.push(resolve))),
  };
}
