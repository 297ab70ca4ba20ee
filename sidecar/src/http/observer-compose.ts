// Several request observers behind the one seam (tracing and tap): each gets
// every hook, in order. With one observer that is it, so a proxy with tracing
// off and tap on pays for tap alone, and with both off nothing.
import { NO_OBSERVER, type AttemptScope, type ObservedAttempt, type ObservedOutcome, type RequestObserver, type RequestScope } from "./request-observer.ts";

export function composeObservers(...observers: RequestObserver[]): RequestObserver {
  const live = observers.filter((o) => o !== NO_OBSERVER);
  if (live.length === 0) return NO_OBSERVER;
  if (live.length === 1) return live[0] as RequestObserver;
  return {
    onRequest(req) {
      let scopes: RequestScope[] | undefined;
      for (const o of live) {
        const s = o.onRequest(req);
        if (s) (scopes ??= []).push(s);
      }
      if (!scopes) return undefined;
      if (scopes.length === 1) return scopes[0];
      return combined(scopes);
    },
  };
}

function combined(scopes: RequestScope[]): RequestScope {
  return {
    onAttempt(a: ObservedAttempt): AttemptScope | undefined {
      let ends: AttemptScope[] | undefined;
      for (const s of scopes) {
        const e = s.onAttempt?.(a);
        if (e) (ends ??= []).push(e);
      }
      return ends ? { onEnd: (o: ObservedOutcome) => { for (const e of ends) e.onEnd?.(o); } } : undefined;
    },
    onEnd(o: ObservedOutcome) {
      for (const s of scopes) s.onEnd?.(o);
    },
  };
}
