import assert from "node:assert/strict";
import { loadProto } from "../../api/load.ts";
import type { ProtoGrpcType } from "../../api/gen/discovery.ts";
import type { Snapshot } from "../../api/gen/weft/discovery/v1/Snapshot.ts";
import { buildView, compileMesh, diffViews } from "../../control-plane/src/snapshot-builder.ts";
import { encodePolicy, encodeService, encodeSnapshot } from "../../control-plane/src/snapshot-encode.ts";
import { SnapshotVersions } from "../../control-plane/src/snapshot-versions.ts";
import { mesh, meshedEndpoint, namespace, service } from "./discovery-helpers.ts";

const stream = loadProto<ProtoGrpcType>("discovery.proto").weft.discovery.v1.Discovery.service.Stream;
/** What a proxy decodes from bytes. */
const decode = (bytes: Buffer) => stream.responseDeserialize(bytes);
/** The reference: protobufjs encoding the whole message tree. */
const reference = (message: Snapshot) => decode(stream.responseSerialize(message));

describe("snapshot wire encoding from pre-encoded Services", () => {
  const many = (n: number, perService: number) =>
    mesh(
      Array.from({ length: n }, (_, s) =>
        service("shop", `svc-${s}`, Array.from({ length: perService }, (_, e) => meshedEndpoint(`10.1.${s % 250}.${e}`, "shop", `svc-${s}`, { zone: "zone-ä" })))),
      [namespace("shop", true)],
    );

  it("decodes to the same full snapshot as encoding the whole message", () => {
    const view = buildView(compileMesh(many(40, 30)), "shop");
    const delta = diffViews(null, view);
    const bytes = encodeSnapshot({ version: "e.1", full: true, baseVersion: "", services: delta.compiled.map((s) => s.encoded), removedServices: [], policy: delta.policy && encodePolicy(delta.policy) });
    const message: Snapshot = { version: "e.1", full: true, baseVersion: "", services: delta.services, removedServices: [], policy: delta.policy };
    assert.deepEqual(decode(bytes), reference(message));
  });

  it("decodes to the same delta, with removed Services, a non-ASCII version and no policy", () => {
    const svc = service("shop", "web", [meshedEndpoint("10.0.0.1", "shop", "web")]);
    const message: Snapshot = { version: "é.7", full: false, baseVersion: "é.6", services: [svc], removedServices: ["shop/old", "legacy/ü"], policy: null };
    const bytes = encodeSnapshot({ version: "é.7", full: false, baseVersion: "é.6", services: [encodeService(svc)], removedServices: ["shop/old", "legacy/ü"], policy: null });
    assert.deepEqual(decode(bytes), reference(message));
  });

  it("carries a Service of over 1 MiB (a 3-byte length)", () => {
    const big = diffViews(null, buildView(compileMesh(many(1, 12_000)), "shop"));
    assert.ok(big.compiled[0]!.encoded.length > 1024 * 1024);
    const bytes = encodeSnapshot({ version: "e.2", full: true, baseVersion: "", services: big.compiled.map((s) => s.encoded), removedServices: [], policy: encodePolicy(big.policy!) });
    assert.equal(decode(bytes).services[0]?.endpoints.length, 12_000);
  });

  it("keeps deltas for reuse only within a byte budget, and full snapshots always", () => {
    const v = new SnapshotVersions(many(3, 2), { epoch: "e", deltaCacheBytes: 1 });
    v.subscribe("shop");
    const first = v.prepare("shop", null);
    v.update(mesh([service("shop", "svc-0", [meshedEndpoint("10.9.9.9", "shop", "svc-0")])], [namespace("shop", true)]));
    const delta = v.prepare("shop", first.version);
    assert.notEqual(v.prepare("shop", first.version), delta, "over the budget: prepared again");
    assert.deepEqual(decode(v.prepare("shop", first.version).encoded), decode(delta.encoded));
    assert.equal(v.prepare("shop", null), v.prepare("shop", null));
  });

  it("prepares the bytes once per group and base: every stream writes the same Buffer", () => {
    const v = new SnapshotVersions(many(3, 2), { epoch: "e" });
    v.subscribe("shop");
    const first = v.prepare("shop", null);
    assert.equal(v.prepare("shop", null).encoded, first.encoded);
    assert.deepEqual(decode(first.encoded), reference(first.message));
  });
});
