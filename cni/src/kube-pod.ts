// Reads one pod's labels and annotations from the apiserver with the
// kubeconfig the DaemonSet wrote (JSON, one cluster and one token user). The
// plugin runs once per sandbox, so a plain HTTPS GET with a deadline instead
// of a client library keeps its start fast and its import graph tiny.
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { fail, ok, type Result } from "../../lib/result.ts";
import type { PodMeta } from "./plugin.ts";

export interface PluginKubeconfig {
  server: string;
  caPem: string;
  token: string;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function first(doc: Json, key: string, inner: string): Json | undefined {
  const list = doc[key];
  const item: unknown = Array.isArray(list) ? list[0] : undefined;
  return isObject(item) && isObject(item[inner]) ? item[inner] : undefined;
}

/** The first cluster and user of a kubeconfig document (the DaemonSet writes exactly one of each). */
export function parsePluginKubeconfig(text: string): Result<PluginKubeconfig> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    return fail("bad-kubeconfig", `not JSON: ${(error as Error).message}`);
  }
  if (!isObject(doc)) return fail("bad-kubeconfig", "not a JSON object");
  const cluster = first(doc, "clusters", "cluster");
  const user = first(doc, "users", "user");
  if (!cluster || typeof cluster.server !== "string") return fail("bad-kubeconfig", "no cluster server");
  if (typeof cluster["certificate-authority-data"] !== "string") return fail("bad-kubeconfig", "no certificate-authority-data");
  if (!user || typeof user.token !== "string") return fail("bad-kubeconfig", "no user token");
  return ok({ server: cluster.server, caPem: Buffer.from(cluster["certificate-authority-data"], "base64").toString("utf8"), token: user.token });
}

function stringMap(v: unknown): Record<string, string> {
  if (!isObject(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string"));
}

export function readPod(kubeconfigPath: string, namespace: string, name: string, timeoutMs = 5000): Promise<Result<PodMeta>> {
  let config: Result<PluginKubeconfig>;
  try {
    config = parsePluginKubeconfig(readFileSync(kubeconfigPath, "utf8"));
  } catch (error) {
    return Promise.resolve(fail("bad-kubeconfig", `reading ${kubeconfigPath}: ${(error as Error).message}`));
  }
  if (!config.ok) return Promise.resolve(fail(config.code, `${kubeconfigPath}: ${config.message}`));
  const { server, caPem, token } = config.value;
  const url = new URL(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`, server);
  return new Promise((resolve) => {
    const req = request(url, { ca: caPem, headers: { authorization: `Bearer ${token}`, accept: "application/json" }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode !== 200) return resolve(fail("http", `GET ${url.pathname}: HTTP ${res.statusCode}: ${body.slice(0, 300)}`));
        try {
          const pod: unknown = JSON.parse(body);
          const meta = isObject(pod) && isObject(pod.metadata) ? pod.metadata : {};
          resolve(ok({ labels: stringMap(meta.labels), annotations: stringMap(meta.annotations) }));
        } catch (error) {
          resolve(fail("bad-response", `GET ${url.pathname}: ${(error as Error).message}`));
        }
      });
      res.on("error", (error) => resolve(fail("http", `GET ${url.pathname}: ${error.message}`)));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${server} within ${timeoutMs} ms`)));
    req.on("error", (error) => resolve(fail("http", `GET ${url.href}: ${error.message}`)));
    req.end();
  });
}
