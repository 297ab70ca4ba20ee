// What a caller is told when authorization refuses its request: the policy's
// name and nothing else, in the caller's protocol, and without giving up a
// connection that can carry the next request.
import type { AuthzRefusal } from "../authz/inbound-authz.ts";
import type { Downstream } from "../http/downstream.ts";

/** Refusal body cap: a body up to this is read and dropped so the HTTP/1.1 connection can take the next request. */
const DRAIN_LIMIT = 64 * 1024;

/**
 * The answer to a refused request, naming the policy and nothing else: 403
 * with a short text body, or for gRPC a trailers-only PERMISSION_DENIED. An
 * HTTP/1.1 request's body is read first (up to DRAIN_LIMIT), since a response
 * sent mid-body would leave the connection unframeable and closed.
 */
export function refuseByPolicy(ds: Downstream, refusal: AuthzRefusal, grpc: boolean): void {
  const message = `forbidden by policy ${refusal.policy}`;
  const send = (): void => {
    if (ds.responded) return;
    if (grpc) {
      ds.respond(200, { "content-type": "application/grpc", "grpc-status": "7", "grpc-message": grpcMessage(message), "weft-error": "authz-denied" }, true);
      return;
    }
    const body = Buffer.from(`${message}\n`);
    ds.respond(403, { "content-type": "text/plain; charset=utf-8", "content-length": String(body.length), "weft-error": "authz-denied" }, false);
    ds.sink.write(body);
    ds.finish(undefined);
  };
  // An HTTP/2 stream can be answered mid-body; a caller waiting for 100 Continue has sent no body to drain.
  if (!ds.hasBody || ds.proto === "h2" || ds.expectsContinue) {
    if (ds.hasBody) ds.body.resume();
    send();
    return;
  }
  let read = 0;
  const body = ds.body;
  const onData = (chunk: Buffer): void => {
    read += chunk.length;
    if (read <= DRAIN_LIMIT) return;
    body.off("data", onData);
    send();
  };
  body.on("data", onData);
  body.once("end", send);
  body.once("error", () => undefined);
  body.resume();
}

/** grpc-message is percent-encoded (gRPC over HTTP/2): every byte outside printable ASCII, and '%' itself. */
function grpcMessage(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  return out;
}
