// The dashboard's tap: the request `weft tap` makes (its path and body from
// cli/src/tap-request.ts), streamed by the CLI's own cli/src/tap-stream.ts with the
// dashboard's ServiceAccount (bound to weft-tap-reader by the chart), relayed event by
// event until the page goes away. A failure comes back as an Error with the CLI's message.
import type { KubeConfig } from "@kubernetes/client-node";
import { parseTapResource, tapApiPath, tapBody } from "../../cli/src/tap-request.ts";
import { streamTap as streamCliTap } from "../../cli/src/tap-stream.ts";
import type { TapEvent } from "../../lib/tap-contract.ts";
import type { TapQuery } from "./contract.ts";
import { TRACE_HEADERS } from "./trace-link.ts";

/** The request `weft tap` would send for the same flags; a bad filter as a thrown Error with the CLI's message. */
export function tapRequestOf(query: TapQuery): { path: string; body: Record<string, unknown> } {
  const resource = parseTapResource(query.resource);
  if (!resource.ok) throw new Error(resource.message);
  const values: Record<string, string | undefined> = { to: query.to, method: query.method, path: query.path, "max-rps": query.maxRps === undefined ? undefined : String(query.maxRps) };
  return { path: tapApiPath(query.namespace, resource.value), body: tapBody(values, TRACE_HEADERS, query.namespace) };
}

export async function streamTap(kc: KubeConfig, query: TapQuery, onEvent: (event: TapEvent) => void, signal: AbortSignal): Promise<void> {
  const { path, body } = tapRequestOf(query);
  const said: string[] = [];
  const outcome = await streamCliTap(kc, path, body, { event: onEvent, notice: () => undefined }, { command: "dashboard", signal, sigint: false, say: (text) => said.push(text) });
  if (outcome.code !== 0 && !signal.aborted) throw new Error(said.join("; ") || `the tap ended (exit code ${outcome.code})`);
}
