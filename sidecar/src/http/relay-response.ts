// Relays an HTTP/2 response (from a peer proxy or a local h2 app) to the
// downstream client: head, streamed body with backpressure, then trailers.
import type * as http2 from "node:http2";
import type { Downstream } from "./downstream.ts";
import { grpcStatusOf, responseHeaders } from "./headers.ts";

export interface RelayResult {
  status: number;
  grpcStatus?: number;
  /** Set when the upstream broke off mid-response. */
  error?: string;
  /** Body bytes sent upstream and relayed back, where the path counts them (request spans). */
  requestBytes?: number;
  responseBytes?: number;
}

/** Where the relayed body's bytes are counted as they pass (the outbound attempt samples it for its idle timeout). */
export interface RelayCounter {
  responseBytes: number;
}

export function relayResponse(
  upstream: http2.ClientHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  endStream: boolean,
  downstream: Downstream,
  done: (result: RelayResult) => void,
  counter: RelayCounter = { responseBytes: 0 },
): void {
  const status = Number(headers[":status"] ?? 502);
  const headGrpc = grpcStatusOf(headers);
  downstream.respond(status, responseHeaders(headers), endStream);
  if (endStream) {
    done({ status, grpcStatus: headGrpc, responseBytes: 0 });
    return;
  }
  let trailers: http2.IncomingHttpHeaders | undefined;
  let finished = false;
  upstream.on("data", (chunk: Buffer) => {
    counter.responseBytes += chunk.length;
  });
  upstream.on("trailers", (t: http2.IncomingHttpHeaders) => {
    trailers = t;
  });
  upstream.pipe(downstream.sink, { end: false });
  upstream.on("end", () => {
    if (finished) return;
    finished = true;
    downstream.finish(trailers ? responseHeaders(trailers) : undefined);
    done({ status, grpcStatus: grpcStatusOf(trailers) ?? headGrpc, responseBytes: counter.responseBytes });
  });
  upstream.on("close", () => {
    if (finished) return;
    finished = true;
    upstream.unpipe(downstream.sink);
    downstream.abort();
    done({ status, error: "upstream-reset", responseBytes: counter.responseBytes });
  });
  downstream.onAbort(() => {
    if (!upstream.destroyed) upstream.close(8 /* NGHTTP2_CANCEL */);
  });
}
