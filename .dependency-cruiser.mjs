// Import rules for Weft's product code, checked by `npm run lint` (through
// `npm run lint:imports`: depcruise over api/, lib/, control-plane/src,
// sidecar/src, webhook/src and cli/src; tests and benchmarks are not cruised).
// docs/architecture.md, "Import rules", explains them for a newcomer.
//
// Type-only imports count (tsPreCompilationDeps): a cycle through types
// alone still means two modules that cannot be read, moved or tested apart.
//
// The sidecar is grouped by concern under sidecar/src/<group>/, and its root
// (main.ts, proxy.ts, proxy-config.ts, control-plane-mode.ts, init-main.ts,
// main-flags.ts, node-flags.ts) wires the groups together. Each group below
// lists the other groups it may import; anything else under sidecar/src is
// refused, the root included. Allowed today:
//
//   root      -> every group
//   outbound  -> http, http1, identity, discovery, routing, admin/metrics.ts
//   inbound   -> http, http1, identity, discovery, authz, admin/metrics.ts
//   authz     -> admin/metrics.ts
//   routing   -> http
//   tracing   -> http
//   tap       -> http
//   admin     -> discovery, identity
//   http      -> admin/metrics.ts
//   http1     -> http
//   discovery, identity, capture -> no other group
//
// A new group starts as a leaf (sidecar-new-group-is-a-leaf): give it a rule
// here, with its reason, when it needs another group.

const GROUPS = ["capture", "identity", "discovery", "http", "http1", "inbound", "outbound", "tracing", "admin", "authz", "routing", "tap"];

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: "no-circular",
      comment:
        "Product code has no import cycles, type-only imports included: a cycle means neither module can be " +
        "understood, tested or moved without the other, and ESM evaluation order inside a cycle is fragile. " +
        "Break one by moving the shared type or constant into the module that owns it or a small file of its " +
        "own (as cli/src/command.ts, control-plane/src/snapshot-compiled.ts and lib/tracing-handle.ts do).",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "not-to-unresolvable",
      comment:
        "An import the cruiser cannot resolve is an edge none of these rules can see; tsc reports the same " +
        "import, this keeps the checks here from passing on a partial graph.",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: "sidecar-groups-not-to-root",
      comment:
        "The sidecar's root files (main.ts, proxy.ts, proxy-config.ts, ...) build the proxy from the groups; " +
        "a group that imports them reaches back into the wiring and closes a cycle through proxy.ts. Pass " +
        "what a group needs (config values, callbacks) in through its constructor options instead.",
      severity: "error",
      from: { path: "^sidecar/src/[^/]+/" },
      to: { path: "^sidecar/src/[^/]+\\.ts$" },
    },
    {
      name: "sidecar-outbound-only-from-root",
      comment:
        "outbound/ (the client side: listener, retries, balancing, peer pools) is wired by the root alone, " +
        "so the two directions of traffic stay independent and nothing else can reach into a call's state.",
      severity: "error",
      from: { pathNot: "^sidecar/src/(outbound/|[^/]+\\.ts$)" },
      to: { path: "^sidecar/src/outbound/" },
    },
    {
      name: "sidecar-inbound-only-from-root",
      comment:
        "inbound/ (the server side: mTLS termination, the app forwarder) is wired by the root alone, for the " +
        "same reason as outbound/.",
      severity: "error",
      from: { pathNot: "^sidecar/src/(inbound/|[^/]+\\.ts$)" },
      to: { path: "^sidecar/src/inbound/" },
    },
    {
      name: "sidecar-outbound-deps",
      comment:
        "outbound/ builds on the shared HTTP plumbing (http, http1), mesh TLS (identity), the mesh view and " +
        "client policy (discovery), follows routes through routing/'s decision and filters, and counts into " +
        "the metrics registry (admin/metrics.ts). It does not " +
        "import tracing/: spans hang off http/request-observer.ts, which the root fills in.",
      severity: "error",
      from: { path: "^sidecar/src/outbound/" },
      to: { path: "^sidecar/src/", pathNot: "^sidecar/src/((outbound|http|http1|identity|discovery|routing)/|admin/metrics\\.ts$)" },
    },
    {
      name: "sidecar-inbound-deps",
      comment:
        "inbound/ builds on the same layers as outbound/ (http, http1, identity, discovery, " +
        "admin/metrics.ts), enforces authorization through authz/, and, like outbound/, reaches tracing only " +
        "through http/request-observer.ts.",
      severity: "error",
      from: { path: "^sidecar/src/inbound/" },
      to: { path: "^sidecar/src/", pathNot: "^sidecar/src/((inbound|http|http1|identity|discovery|authz)/|admin/metrics\\.ts$)" },
    },
    {
      name: "sidecar-authz-deps",
      comment:
        "authz/ (the compiled Authorization in force, its per-request decision, counters and rate-limited " +
        "logs) is the pure lib/authz evaluation plus bookkeeping: it counts into the metrics registry " +
        "(admin/metrics.ts) and nothing else. It takes plain attributes, not the listener's request types, " +
        "and is fed snapshots by the root, so discovery/ never imports it (the discovery client's validate " +
        "hook is wired in control-plane-mode.ts).",
      severity: "error",
      from: { path: "^sidecar/src/authz/" },
      to: { path: "^sidecar/src/", pathNot: "^sidecar/src/(authz/|admin/metrics\\.ts$)" },
    },
    {
      name: "sidecar-routing-deps",
      comment:
        "routing/ (route tables compiled per snapshot, the pure per-request decision, the filters) works on " +
        "the neutral request shape http/ defines and nothing else: the snapshot's routes reach it as plain " +
        "messages, from the root (the discovery client's validate hook) and from outbound/, which performs " +
        "its decisions, so discovery/ never imports it.",
      severity: "error",
      from: { path: "^sidecar/src/routing/" },
      to: { path: "^sidecar/src/", pathNot: "^sidecar/src/(routing|http)/" },
    },
    {
      name: "sidecar-tracing-deps",
      comment:
        "tracing/ implements the request observer that http/request-observer.ts defines; it knows nothing " +
        "of the listeners that call it.",
      severity: "error",
      from: { path: "^sidecar/src/tracing/" },
      to: { path: "^sidecar/src/", pathNot: "^sidecar/src/(tracing|http)/" },
    },
    {
      name: "sidecar-tap-deps",
      comment:
        "tap/ (the tap source: a request observer, its rate limit and the weft.tap/1 endpoint) implements " +
        "the observer http/request-observer.ts defines, like tracing/; the inbound listener hands it tap " +
        "connections through a callback the root wires, so neither direction imports it.",
      severity: "error",
      from: { path: "^sidecar/src/tap/" },
      to: { path: "^sidecar/src/", pathNot: "^sidecar/src/(tap|http)/" },
    },
    {
      name: "sidecar-admin-deps",
      comment:
        "admin/ (the admin server, metrics, app probes) reports the state of discovery and identity, so it " +
        "may read their types; it never reaches the listeners, which report to it through admin/metrics.ts.",
      severity: "error",
      from: { path: "^sidecar/src/admin/" },
      to: { path: "^sidecar/src/", pathNot: "^sidecar/src/(admin|discovery|identity)/" },
    },
    {
      name: "sidecar-http-deps",
      comment:
        "http/ is the plumbing both directions share (detection, headers, limits, relaying, the request " +
        "observer); it may count into the metrics registry (admin/metrics.ts, a leaf) and nothing else.",
      severity: "error",
      from: { path: "^sidecar/src/http/" },
      to: { path: "^sidecar/src/", pathNot: "^sidecar/src/(http/|admin/metrics\\.ts$)" },
    },
    {
      name: "sidecar-http1-deps",
      comment: "http1/ is the HTTP/1.1 wire (framer, client and server connections) under http/'s shared types.",
      severity: "error",
      from: { path: "^sidecar/src/http1/" },
      to: { path: "^sidecar/src/", pathNot: "^sidecar/src/(http1|http)/" },
    },
    {
      name: "sidecar-leaf-groups",
      comment:
        "discovery/ (the control-plane client and mesh view), identity/ (certificates, mesh TLS) and " +
        "capture/ (iptables, original destination) stand alone: the proxy's upper layers depend on them, " +
        "never the reverse, and capture/ also runs alone as weft-proxy-init.",
      severity: "error",
      from: { path: "^sidecar/src/(discovery|identity|capture)/" },
      to: { path: "^sidecar/src/", pathNot: "^sidecar/src/$1/" },
    },
    {
      name: "sidecar-new-group-is-a-leaf",
      comment:
        "A sidecar group with no rule of its own may import nothing else under sidecar/src: add a rule for " +
        "it here (with its reason) before it depends on another group.",
      severity: "error",
      from: { path: "^sidecar/src/([^/]+)/", pathNot: `^sidecar/src/(${GROUPS.join("|")})/` },
      to: { path: "^sidecar/src/", pathNot: "^sidecar/src/$1/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^dist/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".json"],
    },
  },
};
