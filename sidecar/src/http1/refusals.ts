// The requests the proxy refuses that node:http would take, and the status
// each gets. The framed path answers these itself instead of handing the
// connection to node:http, which would decode "gzip, chunked" as if chunked
// were all, keep the first of two Hosts, and pass an absolute-form target on;
// the requests node:http does parse (connections handed over) are checked
// against the same rules before they go anywhere.
import { originForm } from "../http/request-target.ts";
import { transferCodingError, type FrameError } from "./framer.ts";

/** Refusals with an answer of their own; every other FrameError goes to node:http, which answers 400 or 431. */
const STATUS: Partial<Record<FrameError, number>> = {
  "unsupported-transfer-encoding": 501,
  "chunked-not-final": 400,
  "missing-host": 400,
  "duplicate-host": 400,
  "bad-target": 400,
};

const REASON: Record<number, string> = { 400: "Bad Request", 501: "Not Implemented" };

/** The status a refused request head gets on the framed path, if it answers it there. */
export function refusalStatus(reason: FrameError): number | undefined {
  return STATUS[reason];
}

/** The whole response for a request head the framed path refuses itself (the connection then closes). */
export function frameRefusal(reason: FrameError): string | undefined {
  const status = STATUS[reason];
  return status === undefined ? undefined : `HTTP/1.1 ${status} ${REASON[status] ?? ""}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`;
}

/**
 * What node:http accepts but the framer refuses, in a request's target and
 * raw header list: more than one Host (RFC 9112 §3.2), a transfer coding
 * besides a single chunked (RFC 9112 §6.1, §6.3), an absolute-form target
 * naming no usable authority. A missing Host node:http refuses itself.
 */
export function fallbackRefusal(target: string, rawHeaders: readonly string[]): FrameError | undefined {
  let hosts = 0;
  let te: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    if (name === "host") hosts++;
    else if (name === "transfer-encoding") te = te === undefined ? (rawHeaders[i + 1] as string) : `${te}, ${rawHeaders[i + 1] as string}`;
  }
  if (hosts > 1) return "duplicate-host";
  if (te !== undefined && te.trim().toLowerCase() !== "chunked") return transferCodingError(te);
  return originForm(target) === "bad-target" ? "bad-target" : undefined;
}
