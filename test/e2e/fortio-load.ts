// Fixed-rate load for the node e2e: fortio (built once by test/setup/fortio-binary.ts) in an
// image of its own, run as `fortio server` in a meshed pod whose REST API port is left out
// of capture, so the test drives it from the node's host at the pod IP while every request
// fortio sends to a Service goes through the pod's proxy. The REST API is reached directly
// (not through the apiserver), so a run survives an apiserver restart.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fortioPath, FORTIO_VERSION } from "../../bench/lib-proxy-fortio.ts";
import { cacheRoot } from "../cluster/binaries.ts";
import { buildOciImage } from "../cluster/oci-image.ts";
import { waitFor } from "../support/wait.ts";

export const FORTIO_IMAGE = `weft.test/fortio:${FORTIO_VERSION.replace(/^v/, "")}`;
/** Port of fortio's REST API and UI inside the load pod (left out of inbound capture). */
export const FORTIO_API_PORT = 8080;

/** The image archive (fortio is static: one file, and a folder for saved results), built once. */
export function fortioImageArchive(): string {
  const out = join(cacheRoot(), "images", `fortio-${FORTIO_VERSION}.tar`);
  if (existsSync(out)) return out;
  return buildOciImage(
    {
      name: FORTIO_IMAGE,
      files: [
        { path: "/usr/bin/fortio", from: fortioPath(), mode: 0o755 },
        { path: "/data/.keep", content: "" },
      ],
      entrypoint: ["/usr/bin/fortio"],
    },
    out,
  );
}

/** The load pod's container args: the REST API on FORTIO_API_PORT, results saved under /data. */
export const FORTIO_SERVER_ARGS = ["server", "-http-port", String(FORTIO_API_PORT), "-grpc-port", "disabled", "-redirect-port", "disabled", "-data-dir", "/data"];

/** The parts of fortio's JSON result a verdict needs. */
export interface FortioResult {
  ActualDuration: number;
  ActualQPS: number;
  RetCodes: Record<string, number>;
  DurationHistogram: { Count: number; Percentiles?: { Percentile: number; Value: number }[] };
  ErrorsDurationHistogram: { Count: number };
}

export interface LoadSummary {
  requests: number;
  /** Requests answered 2xx. */
  ok: number;
  /** Requests answered with another status. */
  non2xx: number;
  /** Requests that got no answer (fortio's code -1: connect, reset, timeout). */
  connectionErrors: number;
  p50Ms: number;
  p99Ms: number;
  seconds: number;
  qps: number;
  /** Every status fortio saw, for the failure message. */
  codes: Record<string, number>;
}

/** Pure: fortio's result as counts and milliseconds. */
export function summarize(r: FortioResult): LoadSummary {
  let ok = 0;
  let non2xx = 0;
  let connectionErrors = 0;
  for (const [code, n] of Object.entries(r.RetCodes)) {
    const c = Number(code);
    if (c >= 200 && c < 300) ok += n;
    else if (c <= 0) connectionErrors += n;
    else non2xx += n;
  }
  const pct = (p: number): number => 1000 * (r.DurationHistogram.Percentiles?.find((x) => x.Percentile === p)?.Value ?? Number.NaN);
  return {
    requests: r.DurationHistogram.Count,
    ok,
    non2xx,
    connectionErrors,
    p50Ms: pct(50),
    p99Ms: pct(99),
    seconds: r.ActualDuration / 1e9,
    qps: r.ActualQPS,
    codes: r.RetCodes,
  };
}

export interface LoadOptions {
  url: string;
  qps: number;
  connections: number;
}

function runQuery(o: LoadOptions, duration: string, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams({ url: o.url, qps: String(o.qps), c: String(o.connections), t: duration, p: "50,99", ...extra });
  return q.toString();
}

/** Drives one fortio server's REST API. */
export class FortioClient {
  readonly #base: string;
  constructor(podIP: string) {
    this.#base = `http://${podIP}:${FORTIO_API_PORT}/fortio`;
  }

  /** A run of `seconds`, waited for. */
  async run(o: LoadOptions, seconds: number): Promise<LoadSummary> {
    const res = await fetch(`${this.#base}/rest/run?${runQuery(o, `${seconds}s`)}`, { signal: AbortSignal.timeout((seconds + 60) * 1000) });
    if (!res.ok) throw new Error(`fortio run answered ${res.status}: ${await res.text()}`);
    return summarize((await res.json()) as FortioResult);
  }

  /** Starts a run that lasts until stop() (bounded by maxSeconds); returns the handle to stop it by. */
  async start(o: LoadOptions, maxSeconds = 900): Promise<{ runId: number; resultId: string }> {
    const res = await fetch(`${this.#base}/rest/run?${runQuery(o, `${maxSeconds}s`, { async: "on", save: "on" })}`, { signal: AbortSignal.timeout(30_000) });
    const body = (await res.json()) as { message: string; RunID: number; ResultID: string };
    if (!res.ok || body.message !== "started") throw new Error(`fortio did not start a run: ${res.status} ${JSON.stringify(body)}`);
    return { runId: body.RunID, resultId: body.ResultID };
  }

  /** Stops a started run and reads its saved result. */
  async stop(run: { runId: number; resultId: string }): Promise<LoadSummary> {
    const res = await fetch(`${this.#base}/rest/stop?runid=${run.runId}`, { signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new Error(`fortio stop answered ${res.status}: ${await res.text()}`);
    await res.body?.cancel();
    const result = await waitFor(`fortio's saved result ${run.resultId}`, async () => {
      const r = await fetch(`${this.#base}/data/${run.resultId}.json`, { signal: AbortSignal.timeout(10_000) });
      if (!r.ok) {
        await r.body?.cancel();
        return undefined;
      }
      return (await r.json()) as FortioResult;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    return summarize(result);
  }
}
