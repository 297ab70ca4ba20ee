// Which protocol an app port speaks, when the request's own protocol does not
// settle it (a non-gRPC HTTP/2 request: the app may speak HTTP/2 with prior
// knowledge, or only HTTP/1.1). Asked once per port on a connection of its
// own, so no request is ever sent in a protocol the app then refuses: the
// HTTP/2 client preface goes out, and the answer's first bytes tell. An
// HTTP/2 server's first frame is SETTINGS (RFC 9113 §3.4); an HTTP/1.1 server
// answers the preface with a status line (node:http sends 400) or hangs up.
import * as net from "node:net";

export type AppProtocol = "h1" | "h2";

const PREFACE = Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);
const FRAME_HEADER_BYTES = 9;
const SETTINGS = 4;

/**
 * What the first bytes the app answered to the HTTP/2 preface say it speaks:
 * undefined while too few have arrived to tell. Pure.
 */
export function answerProtocol(answer: Buffer): AppProtocol | undefined {
  if (answer.length > 0 && answer[0] !== 0) return "h1";
  if (answer.length < FRAME_HEADER_BYTES) return undefined;
  return answer[3] === SETTINGS ? "h2" : "h1";
}

/**
 * Sends the HTTP/2 preface to the app's `port` and reports what it speaks;
 * undefined when nothing can be told (the port refused the connection), so
 * the caller asks again later instead of remembering a wrong answer. An app
 * that says nothing within `timeoutMs` is waiting for an HTTP/1.1 head.
 */
export function probeAppProtocol(host: string, port: number, timeoutMs: number, done: (protocol: AppProtocol | undefined) => void): void {
  const socket = net.connect({ host, port, noDelay: true });
  let answer = Buffer.alloc(0);
  let connected = false;
  let over = false;
  const settle = (protocol: AppProtocol | undefined): void => {
    if (over) return;
    over = true;
    socket.destroy();
    done(protocol);
  };
  socket.setTimeout(timeoutMs, () => settle(connected ? "h1" : undefined));
  socket.on("connect", () => {
    connected = true;
    socket.write(PREFACE);
  });
  socket.on("data", (chunk: Buffer) => {
    answer = Buffer.concat([answer, chunk]);
    const protocol = answerProtocol(answer);
    if (protocol) settle(protocol);
  });
  socket.on("error", () => {});
  // Hung up on the preface without a frame: whatever it speaks, it is not HTTP/2.
  socket.on("close", () => settle(connected ? "h1" : undefined));
}
