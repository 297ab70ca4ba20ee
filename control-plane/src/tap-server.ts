// The tap component, in the control plane process (docs/decisions.md, "Tap"):
// the aggregated API tap.weft.io. Served over TLS with the control plane's own
// workload certificate; a request is served only on a connection whose client
// certificate chains to the apiserver's requestheader CA (the front proxy),
// and only after a SubjectAccessReview allows the user the apiserver names
// (tap-authorize.ts). It then finds the selected pods, dials each pod's proxy
// (mTLS with the same certificate, ALPN weft.tap/1, the proxy's own SPIFFE id
// checked), and streams the merged events back as JSON lines, at most the
// request's --max-rps overall.
import * as https from "node:https";
import type * as http from "node:http";
import type * as tls from "node:tls";
import { X509Certificate } from "node:crypto";
import type { Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/log.ts";
import { MAX_TAP_REQUEST_BYTES, parseTapRequest } from "../../lib/tap-contract.ts";
import { TLS_POLICY } from "../../lib/tls-policy.ts";
import { mergeTapStreams, type TapPod } from "./tap-merge.ts";
import { forbiddenMessage, parseTapPath, remoteUser, TAP_GROUP, TAP_VERSION, type TapReviewer, type TapTarget } from "./tap-authorize.ts";

export type { TapPod };

/** The cluster, as the component reads it (tap-kube.ts; fakes in tests). */
export interface TapCluster {
  pods(target: TapTarget): Promise<TapPod[]>;
  /** `--to`: the Services ("ns/name") and identities a resource stands for. */
  destinations(namespace: string, kind: string, name: string): Promise<{ services: string[]; identities: string[] }>;
}

export interface RequestHeaderAuth {
  /** PEM of the CA that signs the apiserver's front-proxy client certificate. */
  clientCaPem: string;
  /** CNs the front-proxy certificate may have; empty: any the CA signed. */
  allowedNames: string[];
  userHeaders: string[];
  groupHeaders: string[];
  extraHeaderPrefixes: string[];
}

export interface TapServerOptions {
  host: string;
  port: number;
  /** The control plane's current workload certificate, presented to proxies (and served when `serving` is absent). */
  tls: () => { keyPem: string; certChainPem: string; anchorsPem: string } | undefined;
  /** What the apiserver is served: the DNS-named certificate the APIService's caBundle verifies (tap-serving-tls.ts). */
  serving?: () => { keyPem: string; certChainPem: string } | undefined;
  requestHeader: () => RequestHeaderAuth | undefined;
  review: TapReviewer;
  cluster: TapCluster;
  trustDomain: string;
  clock: Clock;
  logger: Logger;
}

export interface TapServer {
  port: number;
  close(): Promise<void>;
}

const RESOURCES = ["pods", "deployments", "services", "namespaces"].map((r) => ({ name: `${r}/tap`, singularName: "", namespaced: r !== "namespaces", kind: "Tap", verbs: ["watch"] }));

function status(res: http.ServerResponse, code: number, reason: string, message: string): void {
  const body = JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code });
  res.writeHead(code, { "content-type": "application/json" }).end(body);
}

/** The front proxy's client certificate: signed by the requestheader CA, with an allowed CN. */
export function frontProxyRefusal(socket: tls.TLSSocket, auth: RequestHeaderAuth): string | undefined {
  const peer = socket.getPeerX509Certificate();
  if (!peer) return "no client certificate";
  try {
    const cas = auth.clientCaPem.split(/(?=-----BEGIN CERTIFICATE-----)/).filter((p) => p.includes("BEGIN")).map((p) => new X509Certificate(p));
    if (!cas.some((ca) => peer.checkIssued(ca) && peer.verify(ca.publicKey))) return "client certificate not signed by the requestheader CA";
  } catch {
    return "unreadable requestheader CA";
  }
  const validTo = Date.parse(peer.validTo);
  if (!(validTo > Date.now())) return "client certificate expired";
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(peer.subject)?.[1] ?? "";
  if (auth.allowedNames.length > 0 && !auth.allowedNames.includes(cn)) return `client certificate CN "${cn}" is not an allowed requestheader name`;
  return undefined;
}

async function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  let body = "";
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > MAX_TAP_REQUEST_BYTES) return undefined;
  }
  return body;
}

export async function startTapServer(o: TapServerOptions): Promise<TapServer> {
  const server = https.createServer({ requestCert: true, rejectUnauthorized: false, ...TLS_POLICY });
  const servingNow = o.serving ?? o.tls;
  const current = servingNow();
  if (current) server.setSecureContext({ key: current.keyPem, cert: current.certChainPem, ...TLS_POLICY });
  let served = current?.certChainPem;
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    // A renewed certificate takes effect for the next connection.
    const now = servingNow();
    if (now && now.certChainPem !== served) {
      served = now.certChainPem;
      server.setSecureContext({ key: now.keyPem, cert: now.certChainPem, ...TLS_POLICY });
    }
    void handle(o, req, res).catch((err: unknown) => {
      o.logger.error({ err: String(err) }, "tap request failed");
      if (!res.headersSent) status(res, 500, "InternalError", "tap failed");
      else res.destroy();
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => resolve((server.address() as { port: number }).port));
  });
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function handle(o: TapServerOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const auth = o.requestHeader();
  if (!auth) return status(res, 503, "ServiceUnavailable", "the requestheader CA is not loaded yet");
  const refused = frontProxyRefusal(req.socket as tls.TLSSocket, auth);
  if (refused) return status(res, 401, "Unauthorized", `only the apiserver may call the tap API: ${refused}`);
  const path = req.url ?? "/";
  if (req.method === "GET" && (path === `/apis/${TAP_GROUP}/${TAP_VERSION}` || path === `/apis/${TAP_GROUP}/${TAP_VERSION}/`)) {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ kind: "APIResourceList", apiVersion: "v1", groupVersion: `${TAP_GROUP}/${TAP_VERSION}`, resources: RESOURCES }));
    return;
  }
  const target = parseTapPath(path);
  if (!target.ok) return status(res, 404, "NotFound", target.message);
  if (req.method !== "POST") return status(res, 405, "MethodNotAllowed", "tap is a POST with the tap request as its body");
  const who = remoteUser(req.headers, { user: auth.userHeaders, group: auth.groupHeaders, extraPrefix: auth.extraHeaderPrefixes });
  if (!who.ok) return status(res, 401, "Unauthorized", who.message);
  const decision = await o.review(who.value, target.value);
  if (!decision.allowed) return status(res, 403, "Forbidden", forbiddenMessage(who.value, target.value, decision.reason || undefined));
  const body = await readBody(req);
  let json: unknown;
  try {
    json = body === undefined ? undefined : JSON.parse(body || "{}");
  } catch {
    json = undefined;
  }
  const { to, ...rest } = (typeof json === "object" && json !== null ? json : {}) as { to?: unknown } & Record<string, unknown>;
  const tapRequest = parseTapRequest(rest);
  if (!tapRequest.ok) return status(res, 400, "BadRequest", tapRequest.message);
  if (to !== undefined) {
    const t = to as { kind?: unknown; name?: unknown; namespace?: unknown };
    if (typeof t.kind !== "string" || typeof t.name !== "string") return status(res, 400, "BadRequest", "to must name a kind and a name");
    tapRequest.value.to = await o.cluster.destinations(typeof t.namespace === "string" ? t.namespace : target.value.namespace, t.kind, t.name);
  }
  const pods = await o.cluster.pods(target.value);
  if (pods.length === 0) return status(res, 404, "NotFound", `no running meshed pod for ${target.value.kind}/${target.value.name} in namespace ${target.value.namespace}`);
  o.logger.info({ user: who.value.user, target: target.value, pods: pods.length }, "tap started");
  res.writeHead(200, { "content-type": "application/json", "cache-control": "no-cache" });
  res.flushHeaders();
  mergeTapStreams(o, pods, tapRequest.value, {
    write: (line) => res.write(line),
    end: () => {
      if (!res.writableEnded) res.end();
    },
    backlog: () => res.writableLength,
    onClose: (listener) => res.once("close", listener),
  });
}
