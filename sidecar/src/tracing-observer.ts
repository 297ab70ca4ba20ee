// Tracing behind the proxy's request-observer seam: a server span per request
// the proxy receives, a client span per attempt it sends (each retry its own),
// the attempt's context written into the headers it sends. With tracing
// disabled the proxy gets the no-op observer and headers pass untouched.
import type { Tracing } from "../../lib/tracing.ts";
import {
  endHttpSpan,
  extractContext,
  injectContext,
  startClientSpan,
  startServerSpan,
  type HttpSpan,
  type Outcome,
} from "./tracing-http.ts";
import {
  NO_OBSERVER,
  type AttemptScope,
  type ObservedAttempt,
  type ObservedOutcome,
  type ObservedRequest,
  type RequestObserver,
  type RequestScope,
} from "./request-observer.ts";

/**
 * Fields the data plane may add to the seam later; used when present so the
 * spans gain them without a change here.
 */
type AttemptExtras = { peerIdentity?: string };
type OutcomeExtras = { requestBytes?: number; responseBytes?: number; peerIdentity?: string };

const ATTR_SERVICE = "weft.service";
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

export function tracingObserver(tracing: Tracing): RequestObserver {
  if (!tracing.enabled) return NO_OBSERVER;
  const { tracer, propagator } = tracing;

  return {
    onRequest(req: ObservedRequest): RequestScope {
      const path = req.path.split("?")[0] ?? req.path;
      const protocolVersion = req.protocol === "h2" ? "2" : "1.1";
      const server = startServerSpan(tracer, extractContext(propagator, req.headers), {
        method: req.method,
        path,
        host: req.authority || undefined,
        peerIdentity: req.peerIdentity || undefined,
        protocolVersion,
        direction: req.direction,
      });
      if (req.service) server.span.setAttribute(ATTR_SERVICE, req.service);
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
          injectContext(propagator, client.ctx, a.headers);
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
    },
  };
}
