// `weft authz <pod|deploy/x>`: the AuthorizationPolicies that apply to a
// workload and its default. `weft authz check --from ns/sa --to svc[:port]
// [--method M --path P | --grpc svc/method | --tcp]`: the decision each pod
// behind the Service would make, and the policy that makes it, computed with
// the proxy's own evaluation function from live cluster objects.
import { formatSpiffeId } from "../../lib/spiffe.ts";
import type { AuthzHttp } from "../../lib/authz/decision.ts";
import { formatCheck, formatWorkloadAuthz } from "./authz-format.ts";
import { gatherNamespace, podFacts, podsBehind } from "./authz-gather.ts";
import { checkService, workloadAuthz, type CheckRequest } from "./authz-view.ts";
import type { Command } from "./command.ts";
import { EXIT, UsageError } from "./exit-codes.ts";
import { runKubeCommand } from "./kube-command.ts";
import { KUBE_USAGE, namespaceOf } from "./kube-flags.ts";
import { resolvePod } from "./kube-pods.ts";
import { parseResource } from "./kube-resource.ts";

const USAGE = [
  `usage: weft authz <pod|deploy/NAME> ${KUBE_USAGE}`,
  `       weft authz check --from NS/SA|spiffe://...|unauthenticated --to [svc/]NAME[:PORT] [--method M] [--path P] [--host H] [--grpc SERVICE/METHOD] [--tcp] ${KUBE_USAGE}`,
  "  [--control-plane-namespace weft-system]",
  "  check exits 0 when every pod behind the Service allows the request, 5 when any refuses it",
].join("\n");

const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** --from as a caller: a ServiceAccount (ns/sa), a SPIFFE id, or "unauthenticated". */
export function callerOf(from: string, trustDomain: string): string | null {
  if (from === "unauthenticated") return null;
  if (from.startsWith("spiffe://")) return from;
  const [ns, sa, extra] = from.split("/");
  if (extra !== undefined || !ns || !sa || !NAME.test(ns) || !NAME.test(sa)) throw new UsageError(`--from "${from}" is not NAMESPACE/SERVICEACCOUNT, a spiffe:// id or "unauthenticated"`);
  return formatSpiffeId({ trustDomain, namespace: ns, serviceAccount: sa });
}

/** --to as a Service and an optional Service port. */
export function serviceOf(to: string): { service: string; port: number | undefined } {
  const bare = to.startsWith("svc/") ? to.slice(4) : to.startsWith("service/") ? to.slice(8) : to;
  const [service = "", portText, extra] = bare.split(":");
  const port = portText === undefined ? undefined : Number(portText);
  if (extra !== undefined || !NAME.test(service) || (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535))) {
    throw new UsageError(`--to "${to}" is not [svc/]NAME[:PORT]`);
  }
  return { service, port };
}

export function httpOf(values: Record<string, string | boolean | undefined>, defaultHost: string): AuthzHttp | undefined {
  const str = (k: string) => (typeof values[k] === "string" ? (values[k] as string) : undefined);
  const grpc = str("grpc");
  if (values.tcp === true) {
    if (grpc !== undefined || str("method") !== undefined || str("path") !== undefined) throw new UsageError("--tcp takes no --method, --path or --grpc: an opaque connection has only a port");
    return undefined;
  }
  const host = (str("host") ?? defaultHost).toLowerCase();
  if (grpc !== undefined) {
    if (str("method") !== undefined || str("path") !== undefined) throw new UsageError("--grpc names the call: it takes no --method or --path");
    const m = /^([\w.]+)\/(\w+)$/.exec(grpc);
    if (!m) throw new UsageError(`--grpc "${grpc}" is not SERVICE/METHOD (e.g. billing.v1.Billing/Refund)`);
    return { method: "POST", path: `/${m[1]}/${m[2]}`, host, grpc: true };
  }
  const path = str("path") ?? "/";
  if (!path.startsWith("/")) throw new UsageError(`--path "${path}" must start with /`);
  return { method: (str("method") ?? "GET").toUpperCase(), path: path.split("?")[0] ?? path, host, grpc: false };
}

export const command: Command = runKubeCommand({
  name: "authz",
  summary: "shows the authorization policies that apply to a workload, or checks what a caller may do",
  usage: USAGE,
  options: {
    from: { type: "string" },
    to: { type: "string" },
    method: { type: "string" },
    path: { type: "string" },
    host: { type: "string" },
    grpc: { type: "string" },
    tcp: { type: "boolean", default: false },
    "control-plane-namespace": { type: "string", default: "weft-system" },
  },
  async run({ kube, positionals, values }, kc, out) {
    const namespace = namespaceOf(kc, kube);
    const controlPlaneNamespace = String(values["control-plane-namespace"]);
    if (positionals[0] === "check") {
      if (positionals.length > 1) throw new UsageError("check takes no arguments, only flags");
      if (typeof values.from !== "string" || typeof values.to !== "string") throw new UsageError("check needs --from and --to");
      const to = serviceOf(values.to);
      const gathered = await gatherNamespace(kc, namespace, controlPlaneNamespace);
      const request: CheckRequest = {
        peer: callerOf(values.from, gathered.objects.mesh.trustDomain),
        servicePort: to.port,
        http: httpOf(values, `${to.service}.${namespace}.svc.cluster.local`),
      };
      const pods = await podsBehind(kc, gathered.objects, to.service);
      const rows = checkService(to.service, request, pods, gathered.objects);
      const what = request.http ? (request.http.grpc ? `gRPC ${request.http.path.slice(1)}` : `${request.http.method} ${request.http.path} (host ${request.http.host})`) : "opaque TCP";
      out(formatCheck({ from: request.peer ?? "unauthenticated", to: `svc/${to.service}${to.port !== undefined ? `:${to.port}` : ""} in ${namespace}`, what }, rows, gathered.notes, kube.output));
      return rows.length > 0 && rows.every((r) => r.allowed) ? EXIT.ok : EXIT.refused;
    }
    if (positionals.length !== 1) throw new UsageError("takes one pod or deploy/NAME, or check");
    const ref = parseResource(positionals[0] as string);
    if (!ref.ok) throw new UsageError(ref.message);
    const pod = podFacts(await resolvePod(kc, namespace, ref.value));
    const gathered = await gatherNamespace(kc, namespace, controlPlaneNamespace);
    out(formatWorkloadAuthz(workloadAuthz(pod, gathered.objects), gathered.notes, kube.output));
    return EXIT.ok;
  },
});
