// Route status: what status.parents becomes (pure), and the writer that sends
// it only when it changes, rate-limited, and survives a control plane without
// the RBAC to write it.
import assert from "node:assert/strict";
import { silentLogger } from "../../lib/log.ts";
import { desiredParents } from "../../control-plane/src/routes-status.ts";
import { RouteStatusWriter, type StatusWrite } from "../../control-plane/src/routes-status-writer.ts";
import type { RouteOutcome } from "../../control-plane/src/routes-translate.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { recordingLogger } from "./discovery-helpers.ts";
import { httpRoute, svcParent } from "./routes-helpers.ts";

const parentRef = svcParent("web");
const outcome = (accepted = true, generation = 1): RouteOutcome => ({
  kind: "HTTPRoute",
  namespace: "shop",
  name: "r",
  generation,
  parents: [
    {
      parentRef,
      accepted: accepted ? { status: true, reason: "Accepted", message: "ok" } : { status: false, reason: "NoMatchingParent", message: "gone" },
      resolvedRefs: { status: true, reason: "ResolvedRefs", message: "all" },
    },
  ],
});
const gatewayEntry = { parentRef: { name: "gw" }, controllerName: "example.com/gateway", conditions: [{ type: "Accepted", status: "True" }] };

describe("routes: status", () => {
  it("writes Accepted and ResolvedRefs per Service parentRef under weft.io/mesh-controller, keeping other controllers' entries", () => {
    const parents = desiredParents(httpRoute("shop", "r", {}, { status: { parents: [gatewayEntry] } }), outcome(), "2026-01-01T00:00:00Z");
    assert.deepEqual(parents, [
      gatewayEntry,
      {
        parentRef,
        controllerName: "weft.io/mesh-controller",
        conditions: [
          { type: "Accepted", status: "True", reason: "Accepted", message: "ok", observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z" },
          { type: "ResolvedRefs", status: "True", reason: "ResolvedRefs", message: "all", observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z" },
        ],
      },
    ]);
  });

  it("returns null (nothing to write) when the object already says it, whatever the time and key order", () => {
    const first = desiredParents(httpRoute("shop", "r", {}), outcome(), "2026-01-01T00:00:00Z");
    const reordered = (first ?? []).map((p) => Object.fromEntries(Object.entries(p as object).reverse()));
    assert.equal(desiredParents(httpRoute("shop", "r", {}, { status: { parents: reordered } }), outcome(), "2027-01-01T00:00:00Z"), null);
  });

  it("keeps lastTransitionTime while a condition's status holds, bumps it when it flips, and follows the generation", () => {
    const first = desiredParents(httpRoute("shop", "r", {}), outcome(), "2026-01-01T00:00:00Z");
    const next = desiredParents(httpRoute("shop", "r", {}, { status: { parents: first } }), outcome(true, 2), "2026-02-01T00:00:00Z") as { conditions: { lastTransitionTime: string; observedGeneration: number }[] }[];
    assert.deepEqual(next[0]!.conditions.map((c) => [c.lastTransitionTime, c.observedGeneration]), [["2026-01-01T00:00:00Z", 2], ["2026-01-01T00:00:00Z", 2]]);
    const flipped = desiredParents(httpRoute("shop", "r", {}, { status: { parents: first } }), outcome(false), "2026-03-01T00:00:00Z") as { conditions: { status: string; reason: string; lastTransitionTime: string }[] }[];
    assert.deepEqual(flipped[0]!.conditions.map((c) => [c.status, c.reason, c.lastTransitionTime]), [["False", "NoMatchingParent", "2026-03-01T00:00:00Z"], ["True", "ResolvedRefs", "2026-01-01T00:00:00Z"]]);
  });
});

describe("routes: status writer", () => {
  const flush = async () => {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  it("writes a changed status once (not again while the informer has not caught up), through the status body, rate-limited", async () => {
    const clock = new FakeClock();
    const writes: StatusWrite[] = [];
    const writer = new RouteStatusWriter({ write: async (w) => void writes.push(w), logger: silentLogger(), clock, perSecond: 2, now: () => "2026-01-01T00:00:00Z" });
    const a = httpRoute("shop", "a", {}, { resourceVersion: "5" });
    const b = httpRoute("shop", "b", {}, { resourceVersion: "6" });
    const items = [{ outcome: { ...outcome(), name: "a" }, object: a }, { outcome: { ...outcome(), name: "b" }, object: b }];
    writer.reconcile(items);
    await flush();
    assert.equal(writes.length, 1, "the second waits for the rate limit");
    writer.reconcile(items);
    clock.tick(500);
    await flush();
    assert.deepEqual(writes.map((w) => w.name), ["a", "b"]);
    assert.equal((writes[0]!.body.metadata as { resourceVersion: string }).resourceVersion, "5", "optimistic concurrency");
    clock.tick(500);
    writer.reconcile(items);
    clock.tick(1000);
    await flush();
    assert.equal(writes.length, 2, "same desired status against the same resourceVersion: not written again");
    // The informer now has our status: nothing to write.
    const withStatus = items.map((i, n) => ({ ...i, object: { ...i.object, status: writes[n]!.body.status } }));
    writer.reconcile(withStatus);
    clock.tick(1000);
    await flush();
    assert.equal(writes.length, 2);
    writer.stop();
  });

  it("without RBAC to write status: logs once, keeps going, retries a minute later", async () => {
    const clock = new FakeClock();
    let calls = 0;
    let allowed = false;
    const log = recordingLogger();
    const writer = new RouteStatusWriter({
      write: async () => {
        calls++;
        if (!allowed) throw Object.assign(new Error("forbidden"), { code: 403 });
      },
      logger: log.logger,
      clock,
    });
    const items = [{ outcome: outcome(), object: httpRoute("shop", "r", {}) }];
    writer.reconcile(items);
    await flush();
    writer.reconcile(items);
    await flush();
    assert.equal(calls, 1, "no hammering while forbidden");
    assert.equal(log.lines.filter((l) => /RBAC/.test(String(l.msg))).length, 1);
    allowed = true;
    clock.tick(60_000);
    await flush();
    assert.equal(calls, 2);
    writer.stop();
  });
});
