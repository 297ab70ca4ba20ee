// Kubelet probes under inbound capture. The kubelet connects from the node to the
// pod's IP, so with capture on an HTTP probe to the app's port would land in the
// proxy's inbound listener and a TCP probe would always succeed (the proxy
// accepts). Like Istio, the injector rewrites such probes to the proxy's admin
// port (never captured) at /app-health/<container>/<livez|readyz|startupz>, and
// hands the original targets to the proxy as JSON in WEFT_APP_PROBES; the proxy
// forwards each probe to the app on localhost. Contract: docs/decisions.md.
import type { V1Container, V1Probe } from "@kubernetes/client-node";
import { APP_HEALTH_PATH_PREFIX } from "../../lib/proxy-contract.ts";
import { portInList, type PortRange } from "../../lib/port-list.ts";

/** What the proxy does for one rewritten probe path (the WEFT_APP_PROBES values). */
export type AppProbe =
  | { httpGet: { port: number; path: string; scheme: "HTTP" | "HTTPS"; httpHeaders?: { name: string; value: string }[] }; timeoutSeconds: number }
  | { tcpSocket: { port: number }; timeoutSeconds: number };

export type AppProbes = Record<string, AppProbe>;

const KINDS = [
  ["livenessProbe", "livez"],
  ["readinessProbe", "readyz"],
  ["startupProbe", "startupz"],
] as const;

function resolvePort(port: number | string | undefined, container: V1Container): number | undefined {
  if (typeof port === "number") return port;
  if (typeof port !== "string") return undefined;
  if (/^[0-9]+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function rewriteOne(probe: V1Probe, container: V1Container, path: string, adminPort: number, skipInbound: PortRange[]): { probe: V1Probe; target: AppProbe } | undefined {
  const timeoutSeconds = probe.timeoutSeconds ?? 1;
  let target: AppProbe;
  if (probe.httpGet) {
    const port = resolvePort(probe.httpGet.port as number | string, container);
    // A probe to another host, or to a port capture skips, reaches the app directly.
    if (port === undefined || probe.httpGet.host || portInList(port, skipInbound)) return undefined;
    const scheme = probe.httpGet.scheme === "HTTPS" ? "HTTPS" : "HTTP";
    target = { httpGet: { port, path: probe.httpGet.path ?? "/", scheme, ...(probe.httpGet.httpHeaders?.length ? { httpHeaders: probe.httpGet.httpHeaders } : {}) }, timeoutSeconds };
  } else if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port as number | string, container);
    if (port === undefined || probe.tcpSocket.host || portInList(port, skipInbound)) return undefined;
    target = { tcpSocket: { port }, timeoutSeconds };
  } else {
    // exec probes run inside the container; gRPC probes are left as they are (docs/injection.md).
    return undefined;
  }
  const rewritten: V1Probe = { ...probe, httpGet: { path, port: adminPort, scheme: "HTTP" } };
  delete rewritten.tcpSocket;
  return { probe: rewritten, target };
}

/** The app containers with rewritten probes, and the targets for the proxy. */
export function rewriteProbes(containers: V1Container[], adminPort: number, skipInbound: PortRange[]): { containers: V1Container[]; probes: AppProbes } {
  const probes: AppProbes = {};
  const out = containers.map((container) => {
    let copy: V1Container | undefined;
    for (const [field, kind] of KINDS) {
      const probe = container[field];
      if (!probe) continue;
      const path = `${APP_HEALTH_PATH_PREFIX}${container.name}/${kind}`;
      const r = rewriteOne(probe, container, path, adminPort, skipInbound);
      if (!r) continue;
      copy ??= { ...container };
      copy[field] = r.probe;
      probes[path] = r.target;
    }
    return copy ?? container;
  });
  return { containers: out, probes };
}
