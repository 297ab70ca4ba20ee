// The trace id a tap event carries in its opted-in headers (W3C traceparent or B3), for
// the link to the configured Jaeger UI. Pure; shared by the server and the browser app.
import type { TapEvent } from "../../lib/tap-contract.ts";

/** Header names the dashboard's tap opts in to. */
export const TRACE_HEADERS = ["traceparent", "x-b3-traceid", "b3"];

export function traceIdOf(event: TapEvent): string {
  const h = event.headers ?? {};
  const w3c = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(h.traceparent ?? "");
  if (w3c?.[1]) return w3c[1];
  const b3 = (h["x-b3-traceid"] ?? h.b3?.split("-")[0] ?? "").toLowerCase();
  return /^([0-9a-f]{16}|[0-9a-f]{32})$/.test(b3) ? b3 : "";
}

/** Jaeger's page for the event's trace, "" without a trace id or a configured UI. */
export function traceLinkOf(event: TapEvent, jaegerUrl: string): string {
  const id = traceIdOf(event);
  return id && jaegerUrl ? `${jaegerUrl}/trace/${id}` : "";
}
