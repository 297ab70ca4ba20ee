// `weft dashboard`: the chart's dashboard (dashboard.enabled) in the user's browser,
// reached only through the Kubernetes API: a local listener whose every connection is
// tunnelled to the dashboard's pod over pods/portforward (the user's own RBAC: list pods
// and create pods/portforward in the Weft namespace), one tunnel per request
// (dashboard-forward.ts says why). Runs until interrupted.
import { spawn } from "node:child_process";
import * as http from "node:http";
import * as net from "node:net";
import type { KubeConfig, V1Pod } from "@kubernetes/client-node";
import { CoreV1Api, PortForward } from "@kubernetes/client-node";
import { Writable, duplexPair } from "node:stream";
import { startForwarder, type Dial } from "./dashboard-forward.ts";
import { EXIT, UsageError } from "./exit-codes.ts";
import { runKubeCommand } from "./kube-command.ts";
import { NotFoundError, isRunning } from "./kube-pods.ts";

const USAGE = `usage: weft dashboard [--port 50750] [--address 127.0.0.1] [--no-browser] [-n weft-system] [--kubeconfig FILE] [--context NAME]
  Opens Weft's dashboard (installed with the chart's dashboard.enabled=true) through a port-forward to its pod.
  --port 0 picks a free port. Needs list pods and create pods/portforward in the Weft namespace.`;

const SELECTOR = "app.kubernetes.io/component=dashboard";
const CONTAINER_PORT_NAME = "http";

/** The pod to forward to: a Ready one, newest first; its port named http. Pure. */
export function pickDashboardPod(pods: readonly V1Pod[]): { name: string; port: number } | undefined {
  const ready = pods
    .filter((p) => isRunning(p) && p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true)
    .sort((a, b) => String(b.metadata?.creationTimestamp ?? "").localeCompare(String(a.metadata?.creationTimestamp ?? "")));
  const pod = ready[0];
  if (!pod) return undefined;
  const port = pod.spec?.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === CONTAINER_PORT_NAME)?.containerPort ?? 8084;
  return { name: pod.metadata?.name ?? "", port };
}

/** The command that opens a URL in the user's browser on this platform. Pure. */
export function browserCommand(platform: NodeJS.Platform): string {
  if (platform === "darwin") return "open";
  if (platform === "win32") return "explorer";
  return "xdg-open";
}

function openBrowser(url: string): void {
  const child = spawn(browserCommand(process.platform), [url], { stdio: "ignore", detached: true });
  child.on("error", () => console.error(`weft dashboard: could not open a browser; open ${url} yourself`));
  child.unref();
}

/** A GET through the tunnel: the dashboard answers before the URL is printed. */
function probe(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/live", agent: false, timeout: 15_000 }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`the dashboard answered ${res.statusCode ?? 0} on /live`))));
    });
    req.on("timeout", () => req.destroy(new Error("no answer from the dashboard through the port-forward in 15s")));
    req.on("error", reject);
  });
}

/**
 * One tunnel over pods/portforward, as a stream: what the pod sends comes out of it, what is
 * written to it goes to the pod. Destroying it closes the WebSocket; the WebSocket closing ends
 * it (after what already arrived is read). Errors the kubelet reports on the port's error
 * channel (a refused connection) destroy it with their text.
 */
export function portForwardDial(kc: KubeConfig, namespace: string, pod: { name: string; port: number }): Dial {
  const tunnel = new PortForward(kc, true);
  return async () => {
    const [local, remote] = duplexPair();
    let reported = "";
    const errors = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        // The channel opens with the port number, which the client strips, leaving an empty chunk.
        reported += chunk.toString("utf8");
        if (reported.trim() !== "") local.destroy(new Error(`port-forward to ${namespace}/${pod.name}: ${reported.trim()}`));
        callback();
      },
    });
    // Until the HTTP client takes the stream (and its errors), an error is only recorded here.
    local.on("error", () => {});
    const opened = await tunnel.portForward(namespace, pod.name, [pod.port], remote, errors, remote).catch((err: unknown) => {
      throw new Error(`port-forward to ${namespace}/${pod.name} failed: ${(err instanceof Error ? err.message : String(err)).split("\n")[0] ?? ""}`);
    });
    const ws = typeof opened === "function" ? opened() : opened;
    ws?.addEventListener("close", () => remote.end());
    local.on("close", () => ws?.close());
    return local;
  };
}

export const command = runKubeCommand({
  name: "dashboard",
  summary: "open Weft's dashboard through a port-forward to its pod",
  usage: USAGE,
  options: {
    port: { type: "string", default: "50750" },
    address: { type: "string", default: "127.0.0.1" },
    "no-browser": { type: "boolean", default: false },
  },
  async run(args, kc, out) {
    if (args.positionals.length > 0) throw new UsageError("takes no arguments");
    const port = Number(args.values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, not "${String(args.values.port)}"`);
    const address = String(args.values.address);
    if (net.isIP(address) === 0) throw new UsageError(`--address must be an IP address, not "${address}"`);
    const namespace = args.kube.namespace ?? "weft-system";
    const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector: SELECTOR });
    const pod = pickDashboardPod(pods.items);
    if (!pod) throw new NotFoundError(pods.items.length === 0 ? `no dashboard in ${namespace}: install the chart with dashboard.enabled=true` : `the dashboard in ${namespace} is not ready yet (${pods.items.length} pod(s), none Ready)`);
    let server: http.Server;
    const dial = portForwardDial(kc, namespace, pod);
    try {
      server = await startForwarder({ dial, address, port, onError: (err) => console.error(`weft dashboard: ${err.message}`) });
    } catch (err) {
      throw new Error(`cannot listen on ${address}:${port}: ${(err as Error).message}`);
    }
    const bound = (server.address() as net.AddressInfo).port;
    await probe(bound);
    const url = `http://${address.includes(":") ? `[${address}]` : address}:${bound}/`;
    out(`Weft dashboard at ${url} (port-forward to ${namespace}/${pod.name}; Ctrl-C stops)\n`);
    if (args.values["no-browser"] !== true) openBrowser(url);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        // The browser's keep-alive connections (and with them each open tunnel) end now, so the process exits.
        server.close();
        server.closeAllConnections();
        resolve();
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    return EXIT.ok;
  },
});
