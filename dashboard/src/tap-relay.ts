// The dashboard's tap: the same aggregated-API request `weft tap` makes (its path and
// body come from cmd-tap.ts), made with the dashboard's ServiceAccount (bound to
// weft-tap-reader by the chart) and relayed event by event until the page goes away.
import * as https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { parseTapResource, tapApiPath, tapBody } from "../../cli/src/cmd-tap.ts";
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
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  const url = new URL(path, cluster.server);
  const opts: https.RequestOptions = { method: "POST", hostname: url.hostname, port: url.port, path: url.pathname, headers: { "content-type": "application/json", accept: "application/json" }, signal };
  await kc.applyToHTTPSOptions(opts);
  await new Promise<void>((resolve, reject) => {
    const req = https.request(opts, (res) => {
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        if (res.statusCode !== 200) return;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          try {
            onEvent(JSON.parse(line) as TapEvent);
          } catch {
            // A line that is not an event (a partial write on close): skipped, as weft tap does.
          }
        }
      });
      res.on("end", () => {
        if (res.statusCode === 200) return resolve();
        let message = buf.trim();
        try {
          message = (JSON.parse(buf) as { message?: string }).message ?? message;
        } catch {
          // Not a Status: the text as it came.
        }
        reject(new Error(res.statusCode === 403 ? `forbidden: ${message}` : `the apiserver answered ${res.statusCode ?? 0}: ${message}`));
      });
      res.on("error", (err) => (signal.aborted ? resolve() : reject(err)));
    });
    req.on("error", (err) => (signal.aborted ? resolve() : reject(err)));
    req.end(JSON.stringify(body));
  });
}
