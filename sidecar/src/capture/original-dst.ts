// Where a captured connection was going before iptables REDIRECTed it to the
// proxy. The kernel keeps it in conntrack and hands it out through
// getsockopt(SO_ORIGINAL_DST); Node has no API for that, so we call libc's
// getsockopt through koffi (prebuilt FFI, no compiler; see docs/decisions.md).
import type { Socket } from "node:net";
import { isIPv4 } from "node:net";
import koffi from "koffi";
import { fail, ok, type Result } from "../../../lib/result.ts";

export interface OriginalDestination {
  address: string;
  port: number;
}

export type OriginalDstFailure = "no-fd" | "not-redirected" | "getsockopt-failed" | "ffi-unavailable";

const SOL_IP = 0;
const SOL_IPV6 = 41;
/** SO_ORIGINAL_DST (linux/netfilter_ipv4.h) and IP6T_SO_ORIGINAL_DST share the number. */
const SO_ORIGINAL_DST = 80;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCKADDR_IN6_SIZE = 28;
const ENOENT = 2;

type GetSockOpt = (fd: number, level: number, name: number, buf: Buffer, len: number[]) => number;

let getsockopt: GetSockOpt | undefined;
let loadError: string | undefined;

function libcGetsockopt(): GetSockOpt | undefined {
  if (getsockopt || loadError) return getsockopt;
  try {
    const libc = koffi.load("libc.so.6");
    getsockopt = libc.func("int getsockopt(int, int, int, _Out_ uint8_t *buf, _Inout_ uint32_t *len)") as GetSockOpt;
  } catch (error) {
    loadError = error instanceof Error ? error.message : String(error);
  }
  return getsockopt;
}

/**
 * The file descriptor behind a net.Socket. Node does not expose it; its libuv
 * handle (`_handle`, a TCPWrap) carries it as `fd` on Unix. This is the one
 * undocumented access in the proxy, checked at run time so a Node change
 * fails as a value, never a crash.
 */
interface HandleWithFd {
  _handle?: { fd?: unknown } | null;
}

export function socketFd(socket: Socket): number | undefined {
  const handle = (socket as unknown as HandleWithFd)._handle;
  const fd = handle?.fd;
  return typeof fd === "number" && Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}

/** Decodes a struct sockaddr_in / sockaddr_in6 as the kernel filled it. */
export function decodeSockaddr(buf: Buffer, length: number): Result<OriginalDestination> {
  if (length < 8) return fail("bad-sockaddr", `sockaddr too short (${length} bytes)`);
  const family = buf.readUInt16LE(0); // sa_family_t is host order; Linux on x86/arm is little-endian
  const port = buf.readUInt16BE(2);
  if (family === AF_INET) {
    return ok({ address: `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`, port });
  }
  if (family === AF_INET6 && length >= 24) {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(8 + i * 2).toString(16));
    return ok({ address: compressIpv6(groups), port });
  }
  return fail("bad-sockaddr", `unexpected address family ${family}`);
}

function compressIpv6(groups: string[]): string {
  // Longest run of zero groups becomes "::" (RFC 5952), so addresses compare equal to Node's.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== "0") { i++; continue; }
    let j = i;
    while (j < groups.length && groups[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  if (bestStart < 0) return groups.join(":");
  return `${groups.slice(0, bestStart).join(":")}::${groups.slice(bestStart + bestLen).join(":")}`;
}

function query(fn: GetSockOpt, fd: number, level: number): Result<OriginalDestination, OriginalDstFailure> {
  const buf = Buffer.alloc(SOCKADDR_IN6_SIZE);
  const len = [level === SOL_IP ? 16 : SOCKADDR_IN6_SIZE];
  if (fn(fd, level, SO_ORIGINAL_DST, buf, len) !== 0) {
    const errno = koffi.errno();
    return errno === ENOENT
      ? fail("not-redirected", "the connection has no NAT record (it was not redirected)")
      : fail("getsockopt-failed", `getsockopt(SO_ORIGINAL_DST) failed with errno ${errno}`);
  }
  const decoded = decodeSockaddr(buf, len[0] ?? 0);
  return decoded.ok ? decoded : fail("getsockopt-failed", decoded.message);
}

/**
 * The destination a redirected connection was addressed to. Fails with
 * `not-redirected` for a connection that reached the listener directly
 * (no NAT record, or a record whose destination is the listener itself).
 */
export function getOriginalDestination(socket: Socket): Result<OriginalDestination, OriginalDstFailure> {
  const fn = libcGetsockopt();
  if (!fn) return fail("ffi-unavailable", `cannot load libc getsockopt: ${loadError ?? "unknown"}`);
  const fd = socketFd(socket);
  if (fd === undefined) return fail("no-fd", "the socket has no file descriptor (closed, or not a TCP socket)");
  const local = socket.localAddress ?? "";
  // An IPv4 connection, even on a dual-stack IPv6 listener (::ffff:a.b.c.d), is tracked by IPv4 conntrack.
  const v4 = isIPv4(local) || local.startsWith("::ffff:");
  const found = query(fn, fd, v4 ? SOL_IP : SOL_IPV6);
  // With conntrack loaded, a connection that was not NATed reports its own
  // local address; dialling that would connect the proxy to itself.
  if (found.ok && found.value.port === socket.localPort && sameAddress(found.value.address, local)) {
    return fail("not-redirected", "the connection reached the listener directly (its original destination is the listener)");
  }
  return found;
}

function sameAddress(a: string, b: string): boolean {
  return a === b || `::ffff:${a}` === b;
}
