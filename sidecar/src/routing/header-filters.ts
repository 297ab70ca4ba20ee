// The RequestHeaderModifier and ResponseHeaderModifier filters, as pure
// functions: a request's field list ([name, value, ...], names lower-case;
// http/request.ts) or a response's header object in, a new one out. Gateway
// API's order: set replaces every value of a name, add appends one, remove
// drops every value; names are case-insensitive.
import type { OutgoingHttpHeaders } from "node:http";
import type { HeaderModifier__Output } from "../../../api/gen/weft/discovery/v1/HeaderModifier.ts";

export function modifyRequestFields(fields: readonly string[], m: HeaderModifier__Output): string[] {
  const drop = new Set<string>();
  for (const h of m.set) drop.add(h.name.toLowerCase());
  for (const name of m.remove) drop.add(name.toLowerCase());
  const out: string[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    if (!drop.has(name)) out.push(name, fields[i + 1] as string);
  }
  const removed = new Set(m.remove.map((n) => n.toLowerCase()));
  for (const h of m.set) {
    const name = h.name.toLowerCase();
    if (!removed.has(name)) out.push(name, h.value);
  }
  for (const h of m.add) {
    const name = h.name.toLowerCase();
    if (!removed.has(name)) out.push(name, h.value);
  }
  return out;
}

/** The response head's headers with the modifier applied (a copy: the upstream's object may be shared). */
export function modifyResponseHeaders(headers: OutgoingHttpHeaders, m: HeaderModifier__Output): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) out[name.toLowerCase()] = headers[name];
  for (const h of m.set) out[h.name.toLowerCase()] = h.value;
  for (const h of m.add) {
    const name = h.name.toLowerCase();
    const prev = out[name];
    if (prev === undefined) out[name] = h.value;
    else if (Array.isArray(prev)) out[name] = [...prev, h.value];
    else out[name] = [String(prev), h.value];
  }
  for (const name of m.remove) delete out[name.toLowerCase()];
  return out;
}
