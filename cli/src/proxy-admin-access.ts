// How the CLI reaches a proxy's admin data, always through the apiserver with
// the user's own credentials and RBAC, never through a port opened to the
// network:
// - /proxy-config/* and /config are served on loopback only, so they are read
//   over pods/portforward (the apiserver's tunnel arrives on the pod's
//   loopback), which needs `create pods/portforward`;
// - /metrics is open to the pod network, so it is read over pods/proxy, which
//   needs `get pods/proxy`, as `weft check` does.
import * as http from "node:http";
import * as net from "node:net";
import type { KubeConfig } from "@kubernetes/client-node";
import { CoreV1Api, PortForward } from "@kubernetes/client-node";

/** The whole exchange is bounded: a stuck tunnel must not hang the CLI. */
const TIMEOUT_MS = 15_000;

export interface AdminReader {
  /** A loopback-only admin path, over pods/portforward. */
  loopbackGet(namespace: string, pod: string, port: number, path: string): Promise<string>;
  /** An open admin path (/metrics), over pods/proxy. */
  proxyGet(namespace: string, pod: string, port: number, path: string): Promise<string>;
}

function firstLine(err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  return new Error(e.message.split("\n")[0]?.slice(0, 300) ?? "");
}

/**
 * One HTTP GET through a port-forward: a listener on 127.0.0.1:0 whose one
 * connection is piped into the apiserver's tunnel, closed once answered.
 */
async function portForwardGet(kc: KubeConfig, namespace: string, pod: string, port: number, path: string): Promise<string> {
  const forward = new PortForward(kc, true);
  const server = net.createServer((socket) => {
    forward.portForward(namespace, pod, [port], socket, null, socket).catch((err: unknown) => socket.destroy(firstLine(err)));
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const local = (server.address() as net.AddressInfo).port;
  try {
    return await new Promise<string>((resolve, reject) => {
      const req = http.get({ host: "127.0.0.1", port: local, path, agent: false, timeout: TIMEOUT_MS }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode === 200) resolve(body);
          else reject(new Error(`${path} answered ${res.statusCode ?? 0}: ${body.trim().slice(0, 200)}`));
        });
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error(`no answer from ${pod}:${port} through the port-forward in ${TIMEOUT_MS / 1000}s`)));
      req.on("error", (err) => reject(firstLine(err)));
    });
  } finally {
    server.close();
  }
}

export function kubeAdminReader(kc: KubeConfig): AdminReader {
  const core = kc.makeApiClient(CoreV1Api);
  return {
    loopbackGet: (namespace, pod, port, path) => portForwardGet(kc, namespace, pod, port, path),
    async proxyGet(namespace, pod, port, path) {
      try {
        return await core.connectGetNamespacedPodProxyWithPath({ name: `${pod}:${port}`, namespace, path: path.replace(/^\//, "") });
      } catch (err) {
        throw firstLine(err);
      }
    },
  };
}
