// The URLRewrite and RequestRedirect filters, as pure functions of the
// request's target and authority and the match that chose the rule (a
// ReplacePrefixMatch replaces what the path prefix matched). The query is
// kept through both. Slash rules per Gateway API's HTTPPathModifier: the
// matched prefix and the replacement are compared without their trailing
// slash, and the result is never empty ("/foo" -> "" on "/foo" gives "/").
import type { PathModifier__Output } from "../../../api/gen/weft/discovery/v1/PathModifier.ts";
import type { RequestRedirect__Output } from "../../../api/gen/weft/discovery/v1/RequestRedirect.ts";
import type { UrlRewrite__Output } from "../../../api/gen/weft/discovery/v1/UrlRewrite.ts";
import type { CompiledPathMatch } from "./route-table.ts";

export interface RewrittenTarget {
  readonly path: string;
  readonly authority: string;
}

/** The target after `modifier`: a full replacement, or the matched prefix replaced; unchanged when neither applies. */
export function modifyPath(target: string, modifier: PathModifier__Output | null, match: CompiledPathMatch): string {
  if (!modifier) return target;
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? "" : target.slice(q);
  switch (modifier.type) {
    case "REPLACE_FULL_PATH":
      return `${modifier.value || "/"}${query}`;
    case "REPLACE_PREFIX_MATCH":
      return `${replacePrefix(path, modifier.value, match)}${query}`;
    default:
      return target;
  }
}

/**
 * `path` with what `match` matched replaced by `replacement`. Only a prefix
 * match has a prefix to replace (the control plane accepts ReplacePrefixMatch
 * on PathPrefix rules only); an exact match counts as a prefix of itself.
 */
export function replacePrefix(path: string, replacement: string, match: CompiledPathMatch): string {
  let prefix: string;
  if (match.type === "prefix") prefix = match.value;
  else if (match.type === "exact") prefix = match.value.endsWith("/") ? match.value.slice(0, -1) : match.value;
  else return path;
  const rest = path.slice(prefix.length);
  const head = replacement.endsWith("/") ? replacement.slice(0, -1) : replacement;
  const out = head + rest;
  if (out === "") return "/";
  return out.charCodeAt(0) === 47 ? out : `/${out}`;
}

export function rewriteTarget(target: string, authority: string, rewrite: UrlRewrite__Output, match: CompiledPathMatch): RewrittenTarget {
  return { path: modifyPath(target, rewrite.path, match), authority: rewrite.hostname || authority };
}

export interface Redirect {
  readonly status: number;
  readonly location: string;
}

const WELL_KNOWN: Readonly<Record<string, number>> = { http: 80, https: 443 };

/**
 * The redirect's status and Location. `scheme` is the request's ("http" in
 * the mesh); `listenerPort` the Service port called, which stands for the
 * Gateway's listener port: the spec's port rules are, with no port in the
 * filter, the new scheme's well-known port when the filter changes the
 * scheme, else the listener port; and no port in Location when it is the
 * scheme's default.
 */
export function redirectFor(target: string, authority: string, scheme: string, listenerPort: number, redirect: RequestRedirect__Output, match: CompiledPathMatch): Redirect {
  const outScheme = redirect.scheme || scheme;
  const host = redirect.hostname || hostOf(authority);
  const port = redirect.port || (redirect.scheme ? (WELL_KNOWN[redirect.scheme] ?? listenerPort) : listenerPort);
  const showPort = WELL_KNOWN[outScheme] !== port;
  const bracketed = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  const path = modifyPath(target, redirect.path, match);
  const status = redirect.statusCode === 301 || redirect.statusCode === 302 || redirect.statusCode === 303 || redirect.statusCode === 307 || redirect.statusCode === 308 ? redirect.statusCode : 302;
  return { status, location: `${outScheme}://${bracketed}${showPort ? `:${port}` : ""}${path}` };
}

/** The host of an authority, without its port ("[::1]:80" -> "::1"). */
export function hostOf(authority: string): string {
  if (authority.startsWith("[")) {
    const end = authority.indexOf("]");
    return end < 0 ? authority : authority.slice(1, end);
  }
  const colon = authority.lastIndexOf(":");
  return colon < 0 ? authority : authority.slice(0, colon);
}
