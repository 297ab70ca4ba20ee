// The proxy's tap endpoint: a mutual-TLS connection the inbound listener hands
// over when the caller asked for ALPN weft.tap/1 (lib/tap-contract.ts), with
// the caller's verified SPIFFE id. Only the tap component's id is served; any
// other gets one error line and the connection closed. Then one request line
// (JSON, TapRequest), and the events as JSON lines until either side closes.
// Never the plaintext admin port.
import type * as net from "node:net";
import type { Logger } from "../../../lib/log.ts";
import { MAX_TAP_REQUEST_BYTES, parseTapRequest } from "../../../lib/tap-contract.ts";
import type { TapHub } from "./hub.ts";

/** Bytes of events a slow reader may leave queued before further events are dropped. */
const MAX_QUEUED_BYTES = 256 * 1024;

export interface TapEndpointOptions {
  hub: TapHub;
  /** The SPIFFE ids allowed to tap this proxy (the tap component's). */
  allowed: readonly string[];
  logger: Logger;
}

function refuse(socket: net.Socket, code: string, message: string): void {
  socket.end(`${JSON.stringify({ error: code, message })}\n`);
  socket.destroySoon();
}

export function serveTap(socket: net.Socket, peerIdentity: string, o: TapEndpointOptions): void {
  socket.on("error", () => {});
  if (!o.allowed.includes(peerIdentity)) {
    o.logger.warn({ peer: peerIdentity }, "tap refused: not the tap component's identity");
    refuse(socket, "forbidden", `${peerIdentity} may not tap this proxy`);
    return;
  }
  let buffered = "";
  const onData = (chunk: Buffer): void => {
    buffered += chunk.toString("utf8");
    const nl = buffered.indexOf("\n");
    if (nl < 0) {
      if (buffered.length > MAX_TAP_REQUEST_BYTES) {
        socket.off("data", onData);
        refuse(socket, "bad-tap-request", "tap request too long");
      }
      return;
    }
    socket.off("data", onData);
    let json: unknown;
    try {
      json = JSON.parse(buffered.slice(0, nl));
    } catch {
      refuse(socket, "bad-tap-request", "the tap request is not JSON");
      return;
    }
    const request = parseTapRequest(json);
    if (!request.ok) {
      refuse(socket, request.code, request.message);
      return;
    }
    const stop = o.hub.subscribe(request.value, {
      send(event) {
        if (socket.writableLength > MAX_QUEUED_BYTES || socket.destroyed) return false;
        socket.write(`${JSON.stringify(event)}\n`);
        return true;
      },
    });
    if (!stop) {
      refuse(socket, "too-many-taps", "this proxy already serves its maximum of concurrent taps");
      return;
    }
    socket.once("close", stop);
    // Nothing more is read: the caller ends the tap by closing.
    socket.resume();
  };
  socket.on("data", onData);
}
