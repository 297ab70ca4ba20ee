// The mesh graph from `weft edges`'s own rows: workloads as nodes, calls as edges with
// their rate, success rate and mTLS. Pure: the rows of every edge and of the same edges
// counting successful requests only (edgeRows over edgeQueries(window, true)) in, the
// graph out, so the dashboard never tells a different story from the CLI.
import type { EdgeRow } from "../../cli/src/prom-rows.ts";
import type { GraphEdge, GraphNode, GraphView } from "./contract.ts";

const round = (v: number, digits: number): number => Math.round(v * 10 ** digits) / 10 ** digits;

function edgeKey(r: EdgeRow): string {
  return [r.src, r.dst, r.srcIdentity, r.dstIdentity].join("\u0000");
}

/** An end `weft edges` leaves blank: a plaintext caller, or a callee whose proxy Prometheus does not scrape. */
function nodeOf(id: string, side: "src" | "dst", identity: string): GraphNode {
  if (id !== "") {
    const slash = id.indexOf("/");
    return { id, namespace: id.slice(0, slash), name: id.slice(slash + 1) };
  }
  const ns = /\/ns\/([^/]+)\/sa\//.exec(identity)?.[1] ?? "";
  const name = side === "src" ? "(plaintext)" : "(unscraped)";
  return { id: `${ns}/${name}`, namespace: ns, name };
}

/** `namespaces` non-empty: only edges with an end in one of them (the page's filter). */
export function graphOf(window: string, all: readonly EdgeRow[], succeeded: readonly EdgeRow[], namespaces: readonly string[] = []): GraphView {
  const ok = new Map(succeeded.map((r) => [edgeKey(r), r.rps]));
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge & { okRps: number }>();
  const seenNamespaces = new Set<string>();
  for (const r of all) {
    const src = nodeOf(r.src, "src", r.srcIdentity);
    const dst = nodeOf(r.dst, "dst", r.dstIdentity);
    for (const n of [src, dst]) if (n.namespace) seenNamespaces.add(n.namespace);
    if (namespaces.length > 0 && !namespaces.includes(src.namespace) && !namespaces.includes(dst.namespace)) continue;
    nodes.set(src.id, src);
    nodes.set(dst.id, dst);
    // Two identity pairs between the same workloads (two ServiceAccounts) are one arrow.
    const id = `${src.id}->${dst.id}`;
    const e = edges.get(id) ?? { id, source: src.id, target: dst.id, rps: 0, successRate: null, mtls: true, okRps: 0 };
    e.rps += r.rps;
    e.okRps += ok.get(edgeKey(r)) ?? 0;
    e.mtls &&= r.mtls;
    edges.set(id, e);
  }
  return {
    window,
    namespaces: [...seenNamespaces].sort(),
    nodes: [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id)),
    edges: [...edges.values()]
      .map(({ okRps, ...e }) => ({ ...e, rps: round(e.rps, 3), successRate: e.rps > 0 ? round(Math.min(1, okRps / e.rps), 4) : null }))
      .sort((a, b) => a.id.localeCompare(b.id)),
  };
}
