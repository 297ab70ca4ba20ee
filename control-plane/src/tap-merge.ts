// The tap component's fan-out: one mTLS connection per selected pod's proxy
// (ALPN weft.tap/1, the proxy's own SPIFFE id checked), merged into one stream
// of JSON lines at most the request's maxRps overall. A proxy that refuses the
// tap or cannot be reached is reported in the stream as a notice (never
// rate-limited away), so the user learns why a pod is silent instead of
// watching an empty stream.
import * as tls from "node:tls";
import type { Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/log.ts";
import { formatSpiffeId } from "../../lib/spiffe.ts";
import { ALPN_TAP, type TapEvent, type TapNotice, type TapRequest } from "../../lib/tap-contract.ts";
import { TLS_POLICY } from "../../lib/tls-policy.ts";

/** A pod whose proxy can be tapped. */
export interface TapPod {
  namespace: string;
  name: string;
  ip: string;
  serviceAccount: string;
  /** The proxy's inbound port (its mTLS listener). */
  port: number;
}

export interface TapMergeOptions {
  /** The component's current workload certificate, presented to the proxies. */
  tls: () => { keyPem: string; certChainPem: string; anchorsPem: string } | undefined;
  trustDomain: string;
  clock: Clock;
  logger: Logger;
  /** A proxy that has not finished its handshake by then is reported unreachable. */
  connectTimeoutMs?: number;
}

/** Where the merged lines go: the HTTP response, in the server. */
export interface TapSink {
  write(line: string): void;
  end(): void;
  /** Bytes written but not yet sent: events are dropped, never queued, past a bound. */
  backlog(): number;
  onClose(listener: () => void): void;
}

const MAX_BACKLOG_BYTES = 256 * 1024;

/** Streams every pod's events into `sink` until every proxy has closed or the sink does. */
export function mergeTapStreams(o: TapMergeOptions, pods: readonly TapPod[], request: TapRequest, sink: TapSink): void {
  let windowStart = o.clock.now();
  let inWindow = 0;
  const emit = (event: TapEvent): void => {
    const now = o.clock.now();
    if (now - windowStart >= 1000) {
      windowStart = now;
      inWindow = 0;
    }
    if (inWindow >= request.maxRps || sink.backlog() > MAX_BACKLOG_BYTES) return;
    inWindow++;
    sink.write(`${JSON.stringify(event)}\n`);
  };
  const notify = (notice: TapNotice): void => sink.write(`${JSON.stringify(notice)}\n`);
  const material = o.tls();
  if (!material) {
    notify({ notice: "no-certificate", message: "the tap component has no workload certificate yet; retry in a few seconds" });
    sink.end();
    return;
  }
  let open = pods.length;
  const sockets: tls.TLSSocket[] = [];
  let sinkClosed = false;
  for (const pod of pods) {
    const podName = `${pod.namespace}/${pod.name}`;
    const expected = formatSpiffeId({ trustDomain: o.trustDomain, namespace: pod.namespace, serviceAccount: pod.serviceAccount });
    const socket = tls.connect({
      host: pod.ip,
      port: pod.port,
      ALPNProtocols: [ALPN_TAP],
      key: material.keyPem,
      cert: material.certChainPem,
      ca: material.anchorsPem,
      ...TLS_POLICY,
      checkServerIdentity: (_host, cert) => (cert.subjectaltname?.split(", ").includes(`URI:${expected}`) ? undefined : new Error(`the proxy is not ${expected}`)),
    });
    sockets.push(socket);
    let reported = false;
    const report = (notice: TapNotice["notice"], message: string): void => {
      if (reported || sinkClosed) return;
      reported = true;
      notify({ notice, pod: podName, message });
    };
    // Only the connect is timed: a tapped proxy may rightly stay quiet for hours.
    socket.setTimeout(o.connectTimeoutMs ?? 10_000, () => {
      report("proxy-unreachable", `no TLS handshake with ${pod.ip}:${pod.port} within ${o.connectTimeoutMs ?? 10_000} ms`);
      socket.destroy();
    });
    socket.once("secureConnect", () => {
      socket.setTimeout(0);
      socket.write(`${JSON.stringify(request)}\n`);
    });
    let buf = "";
    socket.on("data", (chunk: Buffer) => {
      buf += chunk.toString("utf8");
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          continue;
        }
        if (typeof parsed === "object" && parsed !== null && "direction" in parsed) {
          emit({ ...(parsed as TapEvent), pod: podName });
          continue;
        }
        const refusal = parsed as { error?: unknown; message?: unknown };
        o.logger.warn({ pod: pod.name, answer: line.slice(0, 200) }, "proxy refused tap");
        report("proxy-refused", `${String(refusal.error ?? "refused")}: ${String(refusal.message ?? line.slice(0, 200))}`);
      }
    });
    socket.on("error", (err) => {
      o.logger.warn({ pod: pod.name, err: err.message }, "tap connection to proxy failed");
      report("proxy-unreachable", `${pod.ip}:${pod.port}: ${err.message}`);
    });
    socket.once("close", () => {
      if (--open === 0 && !sinkClosed) sink.end();
    });
  }
  sink.onClose(() => {
    sinkClosed = true;
    for (const s of sockets) s.destroy();
  });
}
