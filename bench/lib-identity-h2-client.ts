// A lean load generator for the identity benchmark: Certify calls as raw gRPC
// frames over node:http2 (TLS verified against the anchors), requests encoded
// once ahead of time. grpc-js's client costs more CPU per call than the server
// does, and on a 2-core machine it would otherwise be what the benchmark measures.
import * as http2 from "node:http2";

const PATH = "/weft.identity.v1.Identity/Certify";

/** A gRPC length-prefixed message frame (uncompressed). */
export function grpcFrame(message: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
}

export class RawCertifyClient {
  readonly #session: http2.ClientHttp2Session;

  constructor(address: string, anchorsPem: string) {
    this.#session = http2.connect(`https://${address}`, {
      ca: anchorsPem,
      servername: "identity.weft.invalid",
      // The chain is verified against the anchors; the SPIFFE id check is the product client's job.
      checkServerIdentity: () => undefined,
    });
    this.#session.on("error", () => undefined);
  }

  /** Sends one pre-framed request; resolves with the grpc-status and the response size. */
  call(frame: Buffer): Promise<{ status: number; message: string; bytes: number }> {
    return new Promise((resolve) => {
      const req = this.#session.request({ ":method": "POST", ":path": PATH, "content-type": "application/grpc", te: "trailers" });
      let status = -1;
      let message = "";
      let bytes = 0;
      const take = (headers: http2.IncomingHttpHeaders) => {
        if (headers["grpc-status"] !== undefined) {
          status = Number(headers["grpc-status"]);
          message = decodeURIComponent(String(headers["grpc-message"] ?? ""));
        }
      };
      req.on("response", take);
      req.on("trailers", take);
      req.on("data", (d: Buffer) => (bytes += d.length));
      req.on("error", (err) => resolve({ status: 14, message: err.message, bytes }));
      req.on("close", () => resolve({ status, message, bytes }));
      req.end(frame);
    });
  }

  close(): void {
    this.#session.close();
  }
}
