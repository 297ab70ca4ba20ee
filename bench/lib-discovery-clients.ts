// Child process of the discovery benchmark: many simulated proxies, each a real
// DiscoveryClient with its own mTLS connection and stream, applying every
// snapshot into its own state. Reports when each change was applied.
import { createHash } from "node:crypto";
import { loadProto } from "../api/load.ts";
import type { ProtoGrpcType } from "../api/gen/discovery.ts";
import type { Snapshot__Output } from "../api/gen/weft/discovery/v1/Snapshot.ts";
import { DiscoveryClient, type ClientTls } from "../sidecar/src/discovery/client.ts";
import { changeIdOfZone } from "./lib-discovery-model.ts";

type Command =
  | { type: "start"; address: string; tlsByNamespace: Record<string, ClientTls>; proxies: { namespace: string; name: string }[]; expectServices: number }
  | { type: "collect" }
  | { type: "cpu" }
  | { type: "stop" };

const clients: DiscoveryClient[] = [];

// Proxies of one scope group receive byte-identical snapshots. Real proxies are separate processes;
// here hundreds share one heap, so identical bytes are decoded once and the (immutable) result
// shared. Every proxy still receives its own bytes on its own stream, validates and applies them
// into its own state, and ACKs. What this leaves out is each proxy's own decode of a delta: ~15 µs
// for a one-Service delta, timed alone (docs/benchmarks.md). Decoding per proxy here instead cost
// ~70 µs per proxy per change, likely (not profiled) collecting 250 proxies' garbage in one large
// heap, which no real proxy pays; sharing is the closer model.
const decodeOnce = proto().Discovery.service.Stream.responseDeserialize;
const decoded = new Map<string, Snapshot__Output>();
function sharedDecode(bytes: Buffer): Snapshot__Output {
  const key = createHash("sha1").update(bytes).digest("base64");
  let snapshot = decoded.get(key);
  if (!snapshot) {
    snapshot = decodeOnce(bytes);
    decoded.set(key, snapshot);
    if (decoded.size > 64) decoded.delete(decoded.keys().next().value ?? "");
  }
  return snapshot;
}
function proto() {
  return loadProto<ProtoGrpcType>("discovery.proto").weft.discovery.v1;
}
/** change id -> apply times (epoch ms, sub-ms precision), one per proxy. */
const applied = new Map<number, number[]>();
let updates = 0;
let nacks = 0;
const now = () => Date.now();
const cpuUs = () => {
  const u = process.resourceUsage();
  return u.userCPUTime + u.systemCPUTime;
};
const reply = (m: object): void => {
  process.send?.(m);
};

process.on("message", (raw: unknown) => {
  const cmd = raw as Command;
  switch (cmd.type) {
    case "start": {
      let synced = 0;
      for (const proxy of cmd.proxies) {
        const tls = cmd.tlsByNamespace[proxy.namespace];
        if (!tls) continue;
        const client = new DiscoveryClient({
          address: cmd.address,
          tls,
          hello: { workload: proxy.name },
          backoff: { baseMs: 200, maxMs: 2000 },
          channelOptions: { "grpc.use_local_subchannel_pool": 1 },
          decode: sharedDecode,
        });
        let done = false;
        const seen = new Set<number>();
        client.on("update", (state, snapshot) => {
          updates++;
          const at = now();
          if (!snapshot.full) {
            for (const svc of snapshot.services) {
              for (const e of svc.endpoints) {
                const id = changeIdOfZone(e.zone);
                if (id === null || seen.has(id)) continue;
                seen.add(id);
                const list = applied.get(id);
                if (list) list.push(at);
                else applied.set(id, [at]);
                // Tell the bench when every proxy of this process holds the change, so it can space changes.
                if ((list?.length ?? 1) === clients.length) reply({ type: "applied", id, at });
              }
            }
          }
          if (!done && state.services.size >= cmd.expectServices) {
            done = true;
            synced++;
            if (synced === cmd.proxies.length) reply({ type: "synced", at });
          }
        });
        client.on("nack", () => nacks++);
        clients.push(client);
        client.start();
      }
      return;
    }
    case "collect":
      reply({ type: "collected", applied: Object.fromEntries(applied), updates, nacks, rss: process.memoryUsage().rss, cpuUs: cpuUs(), at: now() });
      applied.clear();
      return;
    case "cpu":
      reply({ type: "cpu", cpuUs: cpuUs(), at: now() });
      return;
    case "stop":
      for (const c of clients) c.stop();
      process.exit(0);
  }
});
