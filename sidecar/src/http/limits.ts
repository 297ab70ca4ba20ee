// Bounds on what an HTTP/1.1 client may make the proxy hold: header size,
// header read time (slowloris), and the error a bad client gets.
import type * as http from "node:http";
import type * as net from "node:net";
import type { ProxyMetrics } from "../admin/metrics.ts";

/**
 * Node checks headersTimeout and requestTimeout only on servers that listen;
 * the proxy's HTTP servers take sockets handed over after detection, so start
 * that periodic check by hand (server.close() stops it).
 */
export function armHeaderTimeouts(server: http.Server): void {
  for (const listener of server.listeners("listening")) (listener as (this: http.Server) => void).call(server);
}

const RESPONSES: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, "Request Header Fields Too Large"],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "Request Timeout"],
};

function reasonOf(code: string | undefined): string {
  if (code === "HPE_HEADER_OVERFLOW") return "header-overflow";
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return "header-timeout";
  if (code === "ECONNRESET") return "client-reset";
  return "malformed";
}

/** The server's clientError handler: a short error response when the socket still takes one, then close. */
export function clientErrorResponse(err: Error & { code?: string }, socket: net.Socket, metrics: ProxyMetrics, direction: string): void {
  metrics.inputErrors.inc({ direction, reason: reasonOf(err.code) });
  if (err.code === "ECONNRESET" || !socket.writable || socket.destroyed) {
    socket.destroy();
    return;
  }
  const [status, text] = RESPONSES[err.code ?? ""] ?? [400, "Bad Request"];
  socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  socket.destroySoon();
}

/** Answers a request node:http parsed but the proxy refuses (counted as input), closing the connection after. */
export function refuseRequest(res: http.ServerResponse, status: number, reason: string, metrics: ProxyMetrics, direction: string): void {
  metrics.inputErrors.inc({ direction, reason });
  res.shouldKeepAlive = false;
  res.writeHead(status, { connection: "close", "content-length": 0 });
  res.end();
}
