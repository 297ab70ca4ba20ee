// A request target in absolute-form (RFC 9112 §3.2.2), as a client talking to
// a proxy sends it, turned into the origin-form every hop after this one gets:
// the authority becomes the request's and Host is ignored. Shared by the
// framer and the requests node:http parses.

/**
 * An http or https absolute URI: the authority (no userinfo, which http URIs
 * may not carry: RFC 9110 §4.2.4) and what follows it, path and query. A
 * fragment is no part of a request target (RFC 9112 §3.2) and is refused.
 */
const ABSOLUTE_TARGET = /^https?:\/\/([^/?#@]+)([/?][^#]*)?$/i;

/**
 * An absolute-form target as its authority and origin-form target (an empty
 * path is "/", RFC 9112 §3.2.1); undefined for a target in any other form
 * (origin, asterisk, authority), and "bad-target" for an absolute one the
 * proxy cannot route. Origin-form, the common case, costs one comparison.
 */
export function originForm(target: string): { authority: string; target: string } | "bad-target" | undefined {
  if (target.charCodeAt(0) === 47 /* '/' */ || !target.includes("://")) return undefined;
  const a = ABSOLUTE_TARGET.exec(target);
  if (!a) return "bad-target";
  const rest = a[2] ?? "";
  return { authority: a[1] as string, target: rest.length === 0 ? "/" : rest.charCodeAt(0) === 63 /* '?' */ ? `/${rest}` : rest };
}
