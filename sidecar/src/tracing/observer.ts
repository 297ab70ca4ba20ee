// Tracing behind the proxy's request-observer seam: a server span per sampled
// request the proxy receives, a client span per attempt it sends (each retry
// its own), the attempt's context written into the headers it sends. With
// tracing disabled the proxy gets the no-op observer and headers pass untouched.
import { ROOT_CONTEXT } from "@opentelemetry/api";
import { newSpanId, newTraceId, readTraceContext, writeTraceContext, type WireContext } from "../../../lib/trace-context.ts";
import type { Tracing } from "../../../lib/tracing.ts";
import { withRemoteParent } from "../../../lib/tracing-propagator.ts";
import {
  endHttpSpan,
  startClientSpan,
  startServerSpan,
  type HttpSpan,
  type Outcome,
} from "./http.ts";
import {
  NO_OBSERVER,
  type AttemptScope,
  type ObservedAttempt,
  type ObservedOutcome,
  type ObservedRequest,
  type RequestObserver,
  type RequestScope,
} from "../http/request-observer.ts";

/**
 * Fields the data plane may add to the seam later; used when present so the
 * spans gain them without a change here.
 */
type AttemptExtras = { peerIdentity?: string };
type OutcomeExtras = { requestBytes?: number; responseBytes?: number; peerIdentity?: string };

const ATTR_SERVICE = "weft.service";
/** The HTTPRoute/GRPCRoute ("namespace/name") an outbound request followed. */
const ATTR_ROUTE = "weft.route";
const ATTR_GRPC_STATUS = "rpc.grpc.status_code";

/** "10.0.0.7:8080" or "[::1]:8080" -> address and port. */
export function splitEndpoint(endpoint: string): { address?: string; port?: number } {
  const i = endpoint.lastIndexOf(":");
  if (i <= 0) return endpoint ? { address: endpoint } : {};
  const port = Number(endpoint.slice(i + 1));
  const address = endpoint.slice(0, i).replace(/^\[(.*)\]$/, "$1");
  return Number.isInteger(port) && port > 0 ? { address, port } : { address: endpoint };
}

function outcomeOf(o: ObservedOutcome): Outcome {
  const extras = o as ObservedOutcome & OutcomeExtras;
  const out: Outcome = { statusCode: o.status };
  if (o.error !== undefined) out.error = o.error;
  if (extras.requestBytes !== undefined) out.requestBytes = extras.requestBytes;
  if (extras.responseBytes !== undefined) out.responseBytes = extras.responseBytes;
  if (extras.peerIdentity) out.peerIdentity = extras.peerIdentity;
  return out;
}

function end(h: HttpSpan, o: ObservedOutcome): void {
  if (o.grpcStatus !== undefined) h.span.setAttribute(ATTR_GRPC_STATUS, o.grpcStatus);
  endHttpSpan(h, outcomeOf(o));
}

/**
 * The observer for an enabled Tracing. The sampling decision comes first, from
 * the caller's headers (parent-based) or the ratio for a new trace; an
 * unsampled request (99 of 100 at the default ratio) then costs only the header
 * parse and, per attempt, a fresh span id written in the configured formats,
 * so the next hop joins the same trace and follows the same decision. Only a
 * sampled request creates SDK spans. `random` is injectable for tests.
 */
export function tracingObserver(tracing: Tracing, random: () => number = Math.random): RequestObserver {
  if (!tracing.enabled) return NO_OBSERVER;
  if (tracing.rootSampling !== "caller") {
    // With the SDK's own ratio sampler a new trace would be sampled twice (ratio squared).
    throw new Error("tracingObserver needs a Tracing created with rootSampling: \"caller\"");
  }
  const { samplingRatio, propagation } = tracing;
  const sampleNewTrace = (): boolean => samplingRatio >= 1 || (samplingRatio > 0 && random() < samplingRatio);

  return {
    onRequest(req: ObservedRequest): RequestScope | undefined {
      const incoming = readTraceContext(req.headers);
      const parent = incoming.kind === "context" ? incoming.context : undefined;
      const decided = parent ? parent.sampled : incoming.kind === "decision" ? incoming.sampled : undefined;
      if (decided ?? sampleNewTrace()) return recordedScope(tracing, req, parent);
      if (propagation.length === 0) return undefined;
      const traceId = parent?.traceId ?? newTraceId();
      const traceState = parent?.traceState;
      return {
        onAttempt(a: ObservedAttempt): undefined {
          writeTraceContext(a.headers, { traceId, spanId: newSpanId(), sampled: false, traceState }, propagation);
          return undefined;
        },
      };
    },
  };
}

/** A sampled request: a server span for it, a client span per attempt, each attempt's span id on the wire. */
function recordedScope(tracing: Tracing, req: ObservedRequest, parent: WireContext | undefined): RequestScope {
  const { tracer, propagation } = tracing;
  const path = req.path.split("?")[0] ?? req.path;
  const protocolVersion = req.protocol === "h2" ? "2" : "1.1";
  // A caller that deferred its decision (B3 without a sampling state) is joined as a sampled parent.
  const server = startServerSpan(tracer, parent ? withRemoteParent(parent, true) : ROOT_CONTEXT, {
    method: req.method,
    path,
    host: req.authority || undefined,
    peerIdentity: req.peerIdentity || undefined,
    protocolVersion,
    direction: req.direction,
  });
  if (req.service) server.span.setAttribute(ATTR_SERVICE, req.service);
  if (req.route) server.span.setAttribute(ATTR_ROUTE, req.route);
  // Attempts whose end the data plane does not report close with the request.
  const open = new Set<HttpSpan>();

  return {
    onAttempt(a: ObservedAttempt): AttemptScope {
      const peer = splitEndpoint(a.endpoint);
      const client = startClientSpan(tracer, server.ctx, {
        method: req.method,
        path,
        serverAddress: req.service || req.authority || undefined,
        peerAddress: peer.address,
        peerPort: peer.port,
        peerIdentity: (a as ObservedAttempt & AttemptExtras).peerIdentity,
        attempt: a.attempt,
        protocolVersion,
        direction: req.direction,
      });
      if (req.service) client.span.setAttribute(ATTR_SERVICE, req.service);
      if (req.route) client.span.setAttribute(ATTR_ROUTE, req.route);
      const sc = client.span.spanContext();
      writeTraceContext(a.headers, { traceId: sc.traceId, spanId: sc.spanId, sampled: true, traceState: parent?.traceState }, propagation);
      open.add(client);
      return {
        onEnd(o: ObservedOutcome) {
          if (open.delete(client)) end(client, o);
        },
      };
    },
    onEnd(o: ObservedOutcome) {
      for (const c of open) end(c, o);
      open.clear();
      end(server, o);
    },
  };
}
