// The proxy's Prometheus metrics, one registry per proxy instance (tests run
// several proxies in one process). Names are weft_proxy_*.
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { parseSpiffeId } from "../../../lib/spiffe.ts";
import { RequestDurationHistogram, RequestSeriesTable, type RequestCounterLabel, type RequestKey } from "./request-series.ts";

/**
 * The identity labels of a request's series: who called (src_*) and who answered (dst_*), as the
 * namespace and ServiceAccount of their SPIFFE ids ("" when unknown: a plaintext caller, an
 * endpoint without identity, the proxy's own answer), and whether the hop was mTLS. Bounded by
 * the mesh's ServiceAccounts, never by requests: no paths, no pod names.
 */
export type IdentityLabel = "src_namespace" | "src_service_account" | "dst_namespace" | "dst_service_account" | "tls";
const IDENTITY_LABELS: readonly IdentityLabel[] = ["src_namespace", "src_service_account", "dst_namespace", "dst_service_account", "tls"];

export interface ProxyMetrics {
  registry: Registry;
  requests: Counter<RequestCounterLabel>;
  requestSeconds: RequestDurationHistogram;
  /** What recordRequest counts into; the two families above read it at scrape time. */
  requestSeries: RequestSeriesTable;
  retries: Counter<"peer_service" | "reason">;
  retryBudgetRefusals: Counter<"peer_service">;
  tcpConnections: Counter<"direction" | "protocol">;
  tcpOpen: Gauge<"direction">;
  tcpBytes: Counter<"direction" | "flow">;
  tlsHandshakeFailures: Counter<"direction" | "reason">;
  ejections: Counter<"peer_service">;
  inputErrors: Counter<"direction" | "reason">;
  plaintextRefused: Counter<"reason">;
  serverFirstLearned: Counter<"direction">;
  detectionSkipped: Counter<"direction">;
  authz: Counter<"decision" | "policy" | "kind">;
  authzLogsSuppressed: Counter<"policy">;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): ProxyMetrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "weft_proxy_" });
  const registers = [registry];
  const requestSeries = new RequestSeriesTable([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  return {
    registry,
    requestSeries,
    requests: new Counter({
      name: "weft_proxy_requests_total",
      // route: the HTTPRoute/GRPCRoute ("namespace/name") an outbound request followed, or "". Bounded by the
      // routes the control plane sends this proxy (Accepted routes on Services in its scope), never by requests.
      // src_*/dst_*: inbound, the verified caller and this proxy; outbound, this proxy and the endpoint's identity.
      help: "HTTP requests completed, by direction, peer Service, status class, gRPC status, route, both identities and mTLS",
      labelNames: ["direction", "peer_service", "status_class", "grpc_status", "route", ...IDENTITY_LABELS],
      registers,
      collect() {
        requestSeries.addCountsTo(this);
      },
    }),
    requestSeconds: new RequestDurationHistogram({
      name: "weft_proxy_request_duration_seconds",
      help: "Time from request headers to the end of the response, retries included",
      registers,
    }, requestSeries),
    retries: new Counter({ name: "weft_proxy_retries_total", help: "Retried attempts, by the outcome that caused them", labelNames: ["peer_service", "reason"], registers }),
    retryBudgetRefusals: new Counter({ name: "weft_proxy_retry_budget_exhausted_total", help: "Retries refused because the retry budget was spent", labelNames: ["peer_service"], registers }),
    tcpConnections: new Counter({ name: "weft_proxy_tcp_connections_total", help: "Accepted connections, by direction and detected protocol", labelNames: ["direction", "protocol"], registers }),
    tcpOpen: new Gauge({ name: "weft_proxy_tcp_connections_open", help: "Open accepted connections", labelNames: ["direction"], registers }),
    tcpBytes: new Counter({ name: "weft_proxy_tcp_bytes_total", help: "Bytes of opaque TCP streams, by direction and flow (read from client / written to client)", labelNames: ["direction", "flow"], registers }),
    tlsHandshakeFailures: new Counter({ name: "weft_proxy_tls_handshake_failures_total", help: "Failed TLS handshakes (untrusted peer, wrong identity, garbage)", labelNames: ["direction", "reason"], registers }),
    ejections: new Counter({ name: "weft_proxy_endpoint_ejections_total", help: "Endpoints ejected by the circuit breaker", labelNames: ["peer_service"], registers }),
    inputErrors: new Counter({ name: "weft_proxy_input_errors_total", help: "Connections or requests refused for bad input (malformed HTTP, oversized headers, timeouts)", labelNames: ["direction", "reason"], registers }),
    plaintextRefused: new Counter({ name: "weft_proxy_inbound_plaintext_refused_total", help: "Plaintext inbound connections or requests refused in strict mode", labelNames: ["reason"], registers }),
    serverFirstLearned: new Counter({ name: "weft_proxy_server_first_learned_total", help: "Destinations learned as server-speaks-first (the client sent nothing within the detection window)", labelNames: ["direction"], registers }),
    detectionSkipped: new Counter({ name: "weft_proxy_detection_skipped_total", help: "Connections to a destination remembered as server-speaks-first, taken without waiting out protocol detection", labelNames: ["direction"], registers }),
    // policy is bounded twice: the control plane sends only the policies that select this pod, and the proxy
    // counts past 256 distinct names as "other" (sidecar/src/authz/inbound-authz.ts).
    authz: new Counter({
      name: "weft_proxy_authz_total",
      help: "Authorization decisions on inbound requests and opaque connections: allow, deny, audit (an AUDIT policy matched), dry-run-deny (a dry-run default would have refused); kind says what decided",
      labelNames: ["decision", "policy", "kind"],
      registers,
    }),
    authzLogsSuppressed: new Counter({ name: "weft_proxy_authz_logs_suppressed_total", help: "Authorization log lines held back by the per-policy rate limit", labelNames: ["policy"], registers }),
  };
}

const STATUS_CLASSES = ["error", "1xx", "2xx", "3xx", "4xx", "5xx"] as const;

/** "2xx" for 200 (one of six constant strings: no string is built per request); "error" for anything not a status. */
export function statusClass(status: number): string {
  return STATUS_CLASSES[status >= 100 && status < 600 ? Math.floor(status / 100) : 0] as string;
}

const NO_IDENTITY: readonly [string, string] = ["", ""];
// Parsed once per distinct SPIFFE id; capped so a flood of distinct ids cannot grow it (they count as unknown).
const identityParts = new Map<string, readonly [string, string]>();
const IDENTITY_CACHE_LIMIT = 4096;

/** The namespace and ServiceAccount of a workload SPIFFE id; ["", ""] for "" or anything else. */
export function identityLabels(spiffeId: string): readonly [string, string] {
  if (spiffeId === "") return NO_IDENTITY;
  const cached = identityParts.get(spiffeId);
  if (cached) return cached;
  const parsed = parseSpiffeId(spiffeId);
  const parts: readonly [string, string] = parsed.ok ? [parsed.value.namespace, parsed.value.serviceAccount] : NO_IDENTITY;
  if (identityParts.size < IDENTITY_CACHE_LIMIT) identityParts.set(spiffeId, parts);
  return parts;
}

const SCRATCH_KEY: RequestKey = { direction: "", peerService: "", statusClass: "", grpcStatus: undefined, route: "", src: "", dst: "", tls: false };

function requestLabels(k: RequestKey): Record<RequestCounterLabel, string> {
  const [srcNs, srcSa] = identityLabels(k.src);
  const [dstNs, dstSa] = identityLabels(k.dst);
  return {
    direction: k.direction,
    peer_service: k.peerService,
    status_class: k.statusClass,
    grpc_status: k.grpcStatus === undefined ? "" : String(k.grpcStatus),
    route: k.route,
    src_namespace: srcNs,
    src_service_account: srcSa,
    dst_namespace: dstNs,
    dst_service_account: dstSa,
    tls: k.tls ? "true" : "false",
  };
}

/**
 * Counts one finished request and observes its duration; `route` is the route it followed ("namespace/name")
 * or "", `src` and `dst` the SPIFFE ids of caller and callee ("" when unknown), `tls` whether the hop was mTLS.
 */
export function recordRequest(
  metrics: ProxyMetrics,
  direction: string,
  peerService: string,
  statusClassLabel: string,
  grpcStatus: number | undefined,
  seconds: number,
  route = "",
  src = "",
  dst = "",
  tls = false,
): void {
  const table = metrics.requestSeries;
  // One key object for every call (calls never overlap: one thread); find() copies what it keeps.
  const k = SCRATCH_KEY;
  k.direction = direction;
  k.peerService = peerService;
  k.statusClass = statusClassLabel;
  k.grpcStatus = grpcStatus;
  k.route = route;
  k.src = src;
  k.dst = dst;
  k.tls = tls;
  const series = table.find(k, requestLabels);
  table.record(series, seconds);
}
