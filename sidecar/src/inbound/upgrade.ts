// An HTTP/1.1 Upgrade request (a WebSocket, say) or CONNECT (the app is an
// HTTP forward proxy, squid say), to the app. Its head is HTTP like any other
// and is rewritten like any other: the caller's weft-* fields dropped, the
// verified identity added (none for a plaintext caller). The bytes after it
// become a tunnel only once the app has answered 101 (Upgrade) or 2xx
// (CONNECT, RFC 9110 §9.3.6); until then nothing more the caller sent reaches
// the app, and if the app declines, the connection ends after its answer,
// because what follows would be another HTTP request that nobody parsed.
import type * as http from "node:http";
import * as net from "node:net";
import { parseRequestHead, parseResponseHead, type RequestHead } from "../http1/framer.ts";
import { splice } from "../http/first-bytes.ts";
import { WEFT_CLIENT_ID } from "../http/headers.ts";

export interface UpgradeTarget {
  host: string;
  port: number;
  /** The peer's verified SPIFFE id; undefined for a plaintext caller, which gets none. */
  identity: string | undefined;
  maxHeaderBytes: number;
  /** Decides the head before the app sees it; a refusal is answered 403 and the connection closed (no tunnel follows). */
  authorize?: (head: RequestHead) => { policy: string } | null;
}

/** Held while the app has not answered: more than a head's worth pauses the peer. */
const MAX_HELD = 64 * 1024;
const SWITCHED = /^HTTP\/1\.1 101(?: |\r)/;
const CONNECTED = /^HTTP\/1\.[01] 2\d\d(?: |\r)/;

/** A tunnel the proxy relays: HTTP/1.1, an Upgrade or CONNECT, and no body to frame first. */
export function isRelayableUpgrade(head: RequestHead): boolean {
  const noBody = head.framing.kind === "none" || (head.framing.kind === "length" && head.framing.length === 0);
  if (head.minor !== 1 || !noBody) return false;
  return head.method === "CONNECT" || (head.unusual && hasField(head.fields, "upgrade"));
}

function hasField(fields: readonly string[], name: string): boolean {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return true;
  return false;
}

/**
 * The head the app gets: `head` as parsed, Weft's own fields replaced by the
 * proxy's (none without an identity). An offer of h2c is taken out: after a
 * 101 to it the caller's HTTP/2 requests would reach the app unparsed, each
 * free to carry weft-client-id (RFC 9113 §3.1 has dropped that upgrade anyway;
 * the caller gets its answer over HTTP/1.1).
 */
export function upgradeHead(head: RequestHead, identity: string | undefined): Buffer {
  let out = `${head.method} ${head.target} HTTP/1.${head.minor}\r\n`;
  for (let i = 0; i < head.fields.length; i += 2) {
    const name = head.fields[i] as string;
    if (name.startsWith("weft-") || name === "http2-settings") continue;
    let value = head.fields[i + 1] as string;
    if (name === "upgrade") {
      value = withoutH2c(value);
      if (value === "") continue;
    }
    out += `${name}: ${value}\r\n`;
  }
  if (identity !== undefined) out += `${WEFT_CLIENT_ID}: ${identity}\r\n`;
  return Buffer.from(`${out}\r\n`, "latin1");
}

function withoutH2c(upgrade: string): string {
  return upgrade
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "" && t.toLowerCase() !== "h2c")
    .join(", ");
}

/**
 * The head node:http parsed, as the bytes it was sent as, so that relayUpgrade
 * parses and checks it with the framer like any other (node:http has already
 * consumed them from the socket).
 */
export function sentHead(req: http.IncomingMessage): Buffer {
  let out = `${req.method ?? "GET"} ${req.url ?? "/"} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) out += `${raw[i] as string}: ${raw[i + 1] as string}\r\n`;
  return Buffer.from(`${out}\r\n`, "latin1");
}

/**
 * Takes a peer connection the framer handed over (paused, unread bytes put
 * back). Anything but a relayable upgrade ends it; `refused` says why.
 */
export function relayUpgrade(peer: net.Socket, target: UpgradeTarget, refused: (reason: string) => void): void {
  let buffered = Buffer.alloc(0);
  const onHeadData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    const parsed = parseRequestHead(buffered, target.maxHeaderBytes);
    if (parsed.kind === "incomplete") return;
    peer.off("data", onHeadData);
    if (parsed.kind === "error" || !isRelayableUpgrade(parsed.head)) {
      refused(parsed.kind === "error" ? parsed.reason : "not-an-upgrade");
      peer.destroy();
      return;
    }
    const refusal = target.authorize?.(parsed.head) ?? null;
    if (refusal) {
      const body = `forbidden by policy ${refusal.policy}\n`;
      peer.on("data", () => undefined);
      peer.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nweft-error: authz-denied\r\nconnection: close\r\n\r\n${body}`);
      peer.destroySoon();
      return;
    }
    connectApp(peer, target, upgradeHead(parsed.head, target.identity), buffered.subarray(parsed.consumed), parsed.head.method);
  };
  peer.on("data", onHeadData);
  peer.resume();
}

function connectApp(peer: net.Socket, target: UpgradeTarget, head: Buffer, rest: Buffer, method: string): void {
  const opened = method === "CONNECT" ? CONNECTED : SWITCHED;
  const app = net.connect({ host: target.host, port: target.port, noDelay: true, allowHalfOpen: true });
  const close = (): void => {
    peer.destroy();
    app.destroy();
  };
  app.on("error", close);
  peer.on("error", close);
  peer.once("close", close);
  app.once("close", close);
  app.write(head);
  let held = rest;
  const onPeerData = (chunk: Buffer): void => {
    held = Buffer.concat([held, chunk]);
    if (held.length > MAX_HELD) peer.pause();
  };
  peer.on("data", onPeerData);
  let answer = Buffer.alloc(0);
  const onAppData = (chunk: Buffer): void => {
    answer = Buffer.concat([answer, chunk]);
    const eol = answer.indexOf("\n");
    if (eol < 0 && answer.length < target.maxHeaderBytes) return;
    app.off("data", onAppData);
    peer.off("data", onPeerData);
    if (opened.test(answer.toString("latin1", 0, eol < 0 ? answer.length : eol + 1))) {
      // From here on the bytes are the app's protocol: the proxy does not touch them.
      peer.write(answer);
      if (held.length > 0) app.write(held);
      splice(peer, app);
      return;
    }
    // Declined: the app's answer goes back; the peer's further bytes are read and dropped.
    peer.on("data", () => undefined);
    peer.resume();
    app.end();
    relayRefusal(peer, app, answer, method, target.maxHeaderBytes);
  };
  app.on("data", onAppData);
}

/**
 * Relays the answer of an app that declined a tunnel, then ends the peer's
 * connection: as soon as the answer is complete when its head gives its
 * length (an app that keeps its connection alive after a 403 would otherwise
 * hold the peer's open), else when the app closes.
 */
function relayRefusal(peer: net.Socket, app: net.Socket, first: Buffer, method: string, maxHeaderBytes: number): void {
  let head: Buffer | undefined = Buffer.alloc(0);
  let end = Infinity;
  let sent = 0;
  const onData = (chunk: Buffer): void => {
    if (head !== undefined) {
      head = Buffer.concat([head, chunk]);
      const parsed = parseResponseHead(head, maxHeaderBytes, method);
      if (parsed.kind !== "incomplete") {
        head = undefined;
        if (parsed.kind === "head" && parsed.head.status >= 200) {
          const framing = parsed.head.framing;
          if (framing.kind === "none") end = parsed.consumed;
          else if (framing.kind === "length") end = parsed.consumed + framing.length;
        }
      }
    }
    const part = chunk.subarray(0, Math.max(0, end - sent));
    sent += part.length;
    if (part.length > 0) peer.write(part);
    if (sent >= end) {
      app.off("data", onData);
      // Ends once written; its close then closes the app's connection.
      peer.destroySoon();
    }
  };
  app.on("data", onData);
  onData(first);
}
