// The CLI's end of a tap: POST to the aggregated tap.weft.io API with the
// user's own credentials, then one parsed line at a time until the user stops
// it (Ctrl-C, or the caller's AbortSignal) or the stream ends. A stream that
// ends by itself is not success: every tapped proxy went away, or none could
// be tapped, and the notices the component sent say why.
import * as https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { parseTapLine, type TapEvent, type TapNotice } from "../../lib/tap-contract.ts";
import { EXIT } from "./exit-codes.ts";

export interface TapHandlers {
  event(event: TapEvent): void;
  /** Printed to stderr by default. */
  notice?(notice: TapNotice): void;
}

export interface TapOutcome {
  code: number;
  events: number;
  notices: TapNotice[];
}

/** One line for stderr about a notice. Pure. */
export function noticeText(n: TapNotice): string {
  return n.pod ? `pod ${n.pod}: ${n.message}` : n.message;
}

/** Why a stream that ended by itself ended, for stderr. Pure. */
export function endedText(events: number, notices: readonly TapNotice[]): string {
  if (notices.length > 0 && events === 0) return `no proxy could be tapped (${notices.map(noticeText).join("; ")})`;
  if (notices.length > 0) return `the tap stream ended: ${notices.map(noticeText).join("; ")}`;
  return "the tap stream ended: every tapped proxy closed its connection (pods restarted or deleted?)";
}

function apiError(status: number, body: string): { code: number; message: string } {
  let message = body.trim();
  try {
    message = (JSON.parse(body) as { message?: string }).message ?? message;
  } catch {
    // Not a Status: the text as it came.
  }
  if (status === 403) {
    const needs = /needs watch/.test(message) ? "" : " (needs watch on pods/tap, deployments/tap, services/tap or namespaces/tap in tap.weft.io)";
    return { code: EXIT.error, message: `forbidden: ${message}${needs}` };
  }
  if (status === 404) return { code: EXIT.notFound, message: message || "not found" };
  return { code: EXIT.error, message: `the apiserver answered ${status}: ${message}` };
}

export interface TapStreamOptions {
  command: string;
  signal?: AbortSignal;
  /** Where errors and the reason for an unasked-for end go; stderr as `weft <command>: ...` by default (the dashboard keeps them for its page). */
  say?: (text: string) => void;
  /** Ctrl-C stops the stream (the CLI); false for a server, which stops it by `signal`. Default true. */
  sigint?: boolean;
}

/** Streams a tap; errors and the reason an unasked-for end happened go to stderr as `weft <command>: ...`. */
export async function streamTap(kc: KubeConfig, path: string, body: Record<string, unknown>, handlers: TapHandlers, o: TapStreamOptions): Promise<TapOutcome> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  const url = new URL(path, cluster.server);
  const opts: https.RequestOptions = { method: "POST", hostname: url.hostname, port: url.port, path: url.pathname, headers: { "content-type": "application/json", accept: "application/json" } };
  await kc.applyToHTTPSOptions(opts);
  const say = o.say ?? ((text: string): void => console.error(`weft ${o.command}: ${text}`));
  const onNotice = handlers.notice ?? ((n: TapNotice) => say(noticeText(n)));
  const outcome: TapOutcome = { code: EXIT.ok, events: 0, notices: [] };
  return new Promise((resolve, reject) => {
    let stopped = false;
    const stop = (): void => {
      stopped = true;
      req.destroy();
      resolve(outcome);
    };
    const req = https.request(opts, (res) => {
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        if (res.statusCode !== 200) return;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = parseTapLine(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          if (line === null) continue;
          if ("event" in line) {
            outcome.events++;
            handlers.event(line.event);
          } else {
            outcome.notices.push(line.notice);
            onNotice(line.notice);
          }
        }
      });
      res.on("end", () => {
        if (stopped) return;
        if (res.statusCode !== 200) {
          const e = apiError(res.statusCode ?? 0, buf);
          say(e.message);
          return resolve({ ...outcome, code: e.code });
        }
        say(endedText(outcome.events, outcome.notices));
        resolve({ ...outcome, code: EXIT.error });
      });
    });
    req.on("error", (err) => (stopped ? undefined : reject(err)));
    o.signal?.addEventListener("abort", stop, { once: true });
    if (o.sigint !== false) process.once("SIGINT", stop);
    req.end(JSON.stringify(body));
  });
}
