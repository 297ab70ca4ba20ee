// The admin port: liveness, readiness (a certificate and a first snapshot),
// Prometheus metrics, a JSON dump of the snapshot and certificate, and the
// app's kubelet probes the injector rewrote to /app-health/... (forwarded to
// the app on localhost so they work under inbound capture).
//
// Who may ask what: /live, /ready, /metrics and /app-health/ are open, since
// the kubelet and Prometheus reach them over the pod network. /config (the
// whole in-scope snapshot and certificate details) and anything else is served
// only to loopback peers, as Linkerd and Istio do for their admin endpoints;
// operators get there with kubectl port-forward, which arrives on loopback
// inside the pod. `weft check` reads only /metrics (through the apiserver).
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import { APP_HEALTH_PATH_PREFIX } from "../../../lib/proxy-contract.ts";
import type { CredentialsSource } from "../identity/credentials-source.ts";
import { trustReport } from "./trust-report.ts";
import type { MeshView } from "../discovery/mesh-view.ts";
import type { ProxyMetrics } from "./metrics.ts";
import type { AppProbe } from "./app-probe.ts";
import { PROXY_CONFIG_PREFIX, proxyConfigPage, type ProxyConfigSources } from "./proxy-config-routes.ts";

export interface AdminOptions {
  view: MeshView;
  credentials: CredentialsSource;
  metrics: ProxyMetrics;
  appProbes: Readonly<Record<string, AppProbe>>;
  appHost: string;
  isDraining: () => boolean;
  /** What /proxy-config/* reads beyond the view and the credentials (loopback only, like /config). */
  proxyConfig?: Omit<ProxyConfigSources, "view" | "credentials">;
}

function send(res: http.ServerResponse, status: number, body: string, type = "text/plain"): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** The kubelet's and Prometheus's paths: served to any peer. */
function isOpenPath(path: string): boolean {
  return path === "/live" || path === "/ready" || path === "/metrics" || path.startsWith(APP_HEALTH_PATH_PREFIX);
}

/** 127.0.0.0/8 and ::1, also as a dual-stack listener reports IPv4 peers (::ffff:127.x.x.x). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (net.isIPv4(v4)) return v4.startsWith("127.");
  return address === "::1";
}

export function isReady(options: Pick<AdminOptions, "view" | "credentials" | "isDraining">): boolean {
  return !options.isDraining() && options.credentials.current() !== undefined && options.view.state !== undefined;
}

function runProbe(probe: AppProbe, host: string, done: (ok: boolean, detail: string) => void): void {
  const timeoutMs = Math.max(1, probe.timeoutSeconds) * 1000;
  if ("tcpSocket" in probe) {
    const socket = net.connect({ host, port: probe.tcpSocket.port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error("timeout")));
    socket.once("connect", () => {
      socket.destroy();
      done(true, "connected");
    });
    socket.once("error", (err) => done(false, err.message));
    return;
  }
  const g = probe.httpGet;
  const headers: Record<string, string> = { "user-agent": "kube-probe/weft" };
  for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
  const mod = g.scheme === "HTTPS" ? https : http;
  const req = mod.request({ host, port: g.port, path: g.path, headers, timeout: timeoutMs, rejectUnauthorized: false, agent: false }, (res) => {
    res.resume();
    const status = res.statusCode ?? 0;
    done(status >= 200 && status < 400, `app answered ${status}`);
  });
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.on("error", (err) => done(false, err.message));
  req.end();
}

export function createAdminServer(options: AdminOptions): http.Server {
  return http.createServer({ noDelay: true, maxHeaderSize: 16 * 1024, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (!isOpenPath(path) && !isLoopbackAddress(req.socket.remoteAddress)) {
      return send(res, 403, `${path} is served only on loopback: use kubectl port-forward\n`);
    }
    if (path === "/live") return send(res, 200, "live\n");
    if (path === "/ready") return isReady(options) ? send(res, 200, "ready\n") : send(res, 503, "not ready\n");
    if (path === "/metrics") {
      options.metrics.registry
        .metrics()
        .then((text) => send(res, 200, text, options.metrics.registry.contentType))
        .catch((err: Error) => send(res, 500, err.message));
      return;
    }
    if (path === "/config") {
      const material = options.credentials.current();
      const state = options.view.state;
      const body = {
        // Sorted: the services map iterates in hash order, and people diff these dumps.
        snapshot: state ? { version: state.version, services: [...state.services.keys()].sort().map((k) => state.services.get(k)), policy: state.policy, routes: [...state.routes.keys()].sort().map((k) => state.routes.get(k)) } : null,
        certificate: material ? { spiffeId: material.spiffeId, notAfter: material.notAfter.toISOString(), chainPem: material.credentials.certChainPem } : null,
        trust: material ? trustReport(material.credentials) : null,
      };
      return send(res, 200, JSON.stringify(body, null, 2), "application/json");
    }
    if (path.startsWith(PROXY_CONFIG_PREFIX)) {
      let page: unknown;
      try {
        page = proxyConfigPage(path, { ...options.proxyConfig, view: options.view, credentials: options.credentials });
      } catch (err) {
        // A diagnostics page must never take the proxy down.
        return send(res, 500, `${(err as Error).message}\n`);
      }
      return page === undefined ? send(res, 404, "not found\n") : send(res, 200, JSON.stringify(page, null, 2), "application/json");
    }
    if (path.startsWith(APP_HEALTH_PATH_PREFIX)) {
      const probe = options.appProbes[path];
      if (!probe) return send(res, 404, "unknown probe\n");
      runProbe(probe, options.appHost, (ok, detail) => send(res, ok ? 200 : 503, `${detail}\n`));
      return;
    }
    send(res, 404, "not found\n");
  });
}
