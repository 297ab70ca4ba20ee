// A request's authorization attributes (lib/authz/decision.ts) from what the
// inbound listener has in hand: the request line and two header values. Pure
// (hostOf keeps a one-entry memo, invisible to callers), and kept apart from
// the listener so that `weft authz check`, the tests and the proxy read a
// request the same way.
import type { AuthzHttp } from "../../../lib/authz/decision.ts";

/**
 * `target` is the request target as sent (origin-form, or absolute-form from a
 * caller that spoke to the proxy as to a forward proxy); `authority` is
 * :authority or Host; `contentType` is the request's content-type, if any.
 */
export function httpAttributes(method: string, target: string, authority: string, contentType: string | undefined): AuthzHttp {
  return {
    method: method.toUpperCase(),
    path: pathOf(target),
    host: hostOf(authority),
    grpc: contentType !== undefined && contentType.toLowerCase().startsWith("application/grpc"),
  };
}

/** The path without its query; an absolute-form target is read as the origin-form it stands for. */
export function pathOf(target: string): string {
  let path = target;
  if (!path.startsWith("/") && path !== "*") {
    const scheme = path.indexOf("://");
    if (scheme > 0) {
      const slash = path.indexOf("/", scheme + 3);
      const query = path.indexOf("?", scheme + 3);
      // "http://a?x" has no path at all: it means "/".
      path = slash < 0 || (query >= 0 && query < slash) ? `/${query >= 0 ? path.slice(query) : ""}` : path.slice(slash);
    }
  }
  const q = path.indexOf("?");
  return q < 0 ? path : path.slice(0, q);
}

// The last authority read and its host: a connection's requests, and most of a
// server's, name the same one, so the common case is one string comparison and
// no new string. A memo, not state: the result is the same either way.
let lastAuthority = "";
let lastHost = "";

/** Lower-case, port stripped; an IPv6 literal keeps its brackets. */
export function hostOf(authority: string): string {
  if (authority === lastAuthority) return lastHost;
  const host = readHost(authority);
  lastAuthority = authority;
  lastHost = host;
  return host;
}

function readHost(authority: string): string {
  const a = authority.trim().toLowerCase();
  // userinfo is not allowed in :authority (RFC 9113 §8.3.1), but a Host written by hand may carry it.
  const at = a.lastIndexOf("@");
  const host = at >= 0 ? a.slice(at + 1) : a;
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    return close < 0 ? host : host.slice(0, close + 1);
  }
  const colon = host.indexOf(":");
  return colon < 0 ? host : host.slice(0, colon);
}
