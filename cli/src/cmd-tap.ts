// `weft tap <resource>`: a live stream of the requests through the selected
// proxies. The CLI talks only to the Kubernetes API with the user's own
// credentials: POST to the aggregated tap.weft.io API, which the apiserver
// authenticates and the tap component authorizes by a SubjectAccessReview
// (docs/security.md, "Tap"). One line per request until interrupted.
import * as https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { fail, ok, type Result } from "../../lib/result.ts";
import { MAX_TAP_RPS, type TapEvent } from "../../lib/tap-contract.ts";
import { EXIT, UsageError } from "./exit-codes.ts";
import { runKubeCommand } from "./kube-command.ts";
import { KUBE_USAGE, namespaceOf, type ParsedArgs } from "./kube-flags.ts";
import { tapHeader, tapLine } from "./tap-format.ts";

const USAGE = `usage: weft tap <pod/NAME|deploy/NAME|svc/NAME|ns/NAME> [--to RESOURCE] [--method M] [--path PREFIX] [--max-rps N] [--header NAME ...] ${KUBE_USAGE}
  A live stream of the requests through the selected pods' proxies (needs watch on <kind>/tap in tap.weft.io).`;

const KINDS: Record<string, "pods" | "deployments" | "services" | "namespaces"> = {
  po: "pods", pod: "pods", pods: "pods",
  deploy: "deployments", deployment: "deployments", deployments: "deployments",
  svc: "services", service: "services", services: "services",
  ns: "namespaces", namespace: "namespaces", namespaces: "namespaces",
};
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export interface TapResource {
  kind: "pods" | "deployments" | "services" | "namespaces";
  name: string;
}

export function parseTapResource(text: string): Result<TapResource> {
  const slash = text.indexOf("/");
  const kind = KINDS[slash < 0 ? "pod" : text.slice(0, slash).toLowerCase()];
  const name = slash < 0 ? text : text.slice(slash + 1);
  if (!kind) return fail("usage", `"${text}": tap takes pod/NAME, deploy/NAME, svc/NAME or ns/NAME`);
  if (!NAME.test(name)) return fail("usage", `"${name}" is not a valid name`);
  return ok({ kind, name });
}

/** The aggregated API path of a tap (under watch/: the apiserver's RBAC then checks verb watch, as weft-tap-reader grants). Pure. */
export function tapApiPath(namespace: string, r: TapResource): string {
  const base = "/apis/tap.weft.io/v1alpha1/watch/namespaces";
  return r.kind === "namespaces" ? `${base}/${r.name}/tap` : `${base}/${namespace}/${r.kind}/${r.name}/tap`;
}

/** The tap request body from the flags; a usage error as a thrown UsageError. */
export function tapBody(values: ParsedArgs["values"], headers: readonly string[], namespace: string): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const maxRps = values["max-rps"] === undefined ? 100 : Number(values["max-rps"]);
  if (!Number.isFinite(maxRps) || maxRps <= 0 || maxRps > MAX_TAP_RPS) throw new UsageError(`--max-rps must be a number in (0, ${MAX_TAP_RPS}]`);
  body.maxRps = maxRps;
  if (typeof values.method === "string") body.method = values.method.toUpperCase();
  if (typeof values.path === "string") {
    if (!values.path.startsWith("/")) throw new UsageError("--path must start with /");
    body.pathPrefix = values.path;
  }
  if (typeof values.to === "string") {
    const to = parseTapResource(values.to);
    if (!to.ok || to.value.kind === "namespaces") throw new UsageError(`--to: ${to.ok ? "takes pod/, deploy/ or svc/" : to.message}`);
    body.to = { kind: to.value.kind, name: to.value.name, namespace };
  }
  if (headers.length > 0) body.headers = headers.map((h) => h.toLowerCase());
  return body;
}

async function stream(kc: KubeConfig, path: string, body: Record<string, unknown>, onLine: (line: string) => void): Promise<number> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  const url = new URL(path, cluster.server);
  const opts: https.RequestOptions = { method: "POST", hostname: url.hostname, port: url.port, path: url.pathname, headers: { "content-type": "application/json", accept: "application/json" } };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = https.request(opts, (res) => {
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        if (res.statusCode !== 200) return;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          onLine(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      });
      res.on("end", () => {
        if (res.statusCode === 200) return resolve(EXIT.ok);
        let message = buf.trim();
        try {
          message = (JSON.parse(buf) as { message?: string }).message ?? message;
        } catch {
          // Not a Status: the text as it came.
        }
        if (res.statusCode === 403) {
          const needs = /needs watch/.test(message) ? "" : " (needs watch on pods/tap, deployments/tap, services/tap or namespaces/tap in tap.weft.io)";
          console.error(`weft tap: forbidden: ${message}${needs}`);
          return resolve(EXIT.error);
        }
        if (res.statusCode === 404) {
          console.error(`weft tap: ${message || "not found"}`);
          return resolve(EXIT.notFound);
        }
        console.error(`weft tap: the apiserver answered ${res.statusCode}: ${message}`);
        resolve(EXIT.error);
      });
    });
    req.on("error", reject);
    process.once("SIGINT", () => {
      req.destroy();
      resolve(EXIT.ok);
    });
    req.end(JSON.stringify(body));
  });
}

export const command = runKubeCommand({
  name: "tap",
  summary: "a live stream of the requests through the selected proxies",
  usage: USAGE,
  options: {
    to: { type: "string" },
    method: { type: "string" },
    path: { type: "string" },
    "max-rps": { type: "string" },
    header: { type: "string", multiple: true },
  },
  async run(args, kc, out) {
    const [target, ...extra] = args.positionals;
    if (!target || extra.length > 0) throw new UsageError("name one resource to tap");
    const resource = parseTapResource(target);
    if (!resource.ok) throw new UsageError(resource.message);
    const namespace = namespaceOf(kc, args.kube);
    const headerValues = args.values.header as unknown;
    const headers = Array.isArray(headerValues) ? headerValues.filter((h): h is string => typeof h === "string") : [];
    const body = tapBody(args.values, headers, namespace);
    const format = args.kube.output;
    out(tapHeader(format));
    return stream(kc, tapApiPath(namespace, resource.value), body, (line) => {
      let event: TapEvent;
      try {
        event = JSON.parse(line) as TapEvent;
      } catch {
        return;
      }
      out(tapLine(event, format));
    });
  },
});
