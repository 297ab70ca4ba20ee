// AuthorizationPolicy specs that must be accepted, and malformed ones that must be
// refused, shared by the parser's unit tests (test/lib/authz-spec-parse.test.ts)
// and the CRD's tests against a real apiserver (test/cluster/authz-crd.test.ts),
// so both verdicts are checked on the very same objects.

export type Json = Record<string, unknown>;

export interface AcceptedCase {
  name: string;
  spec: Json;
}

export interface RefusedCase {
  name: string;
  spec: Json;
  /** The one problem's field path and message, as parseAuthorizationPolicy words it. */
  path: string;
  message: string;
  /**
   * What the apiserver's message must match. Unset: the same path and message
   * (a CEL rule of the CRD, whose message the parser repeats word for word).
   */
  apiserver?: RegExp;
}

export const policyObject = (name: string, namespace: string, spec: Json): Json => ({
  apiVersion: "policy.weft.io/v1alpha1",
  kind: "AuthorizationPolicy",
  metadata: { name, namespace },
  spec,
});

const oneSource = (source: Json): Json => ({ rules: [{ from: [{ namespaces: ["shop"] }, source] }] });
const oneOperation = (operation: Json): Json => ({ rules: [{ to: [operation] }] });

export const ACCEPTED: AcceptedCase[] = [
  {
    name: "the documented example: a Service port, service accounts, a method and an exact path",
    spec: {
      targetRefs: [{ kind: "Service", name: "payments", port: 8080 }],
      action: "ALLOW",
      rules: [{ from: [{ serviceAccounts: ["checkout/checkout"] }], to: [{ methods: ["POST"], paths: [{ exact: "/charge" }] }] }],
    },
  },
  {
    name: "several Services, group \"\" spelt out, no action (ALLOW by default)",
    spec: { targetRefs: [{ group: "", kind: "Service", name: "web" }, { kind: "Service", name: "api", port: 443 }], rules: [{}] },
  },
  {
    name: "a label selector with every operator",
    spec: {
      selector: {
        matchLabels: { app: "payments", "app.kubernetes.io/part-of": "shop" },
        matchExpressions: [
          { key: "tier", operator: "In", values: ["gold", "silver"] },
          { key: "canary", operator: "NotIn", values: ["true"] },
          { key: "team", operator: "Exists" },
          { key: "legacy", operator: "DoesNotExist" },
        ],
      },
      action: "DENY",
      rules: [{ from: [{ notNamespaces: ["shop"] }] }],
    },
  },
  {
    name: "the whole namespace, with every source and operation field",
    spec: {
      action: "AUDIT",
      rules: [
        {
          from: [
            {
              identities: ["spiffe://cluster.local/ns/shop/sa/*", "*", "spiffe://example.org/workloads/batch-1.v2"],
              notIdentities: ["spiffe://cluster.local/ns/shop/sa/legacy"],
              namespaces: ["shop", "billing"],
              notNamespaces: ["kube-system"],
              serviceAccounts: ["shop/web", "billing/worker.v1"],
              notServiceAccounts: ["shop/debug"],
            },
            { unauthenticated: true },
            {},
          ],
          to: [
            {
              ports: [8080, 1, 65535],
              notPorts: [9090],
              methods: ["GET", "POST", "M-SEARCH"],
              notMethods: ["DELETE"],
              paths: [{ exact: "/charge" }, { prefix: "/api/" }],
              notPaths: [{ prefix: "/admin" }],
              hosts: ["payments.shop.svc", "*.example.com", "10.0.0.1"],
              notHosts: ["internal.example.com"],
              grpc: [{ service: "weft.demo.v1.Payments", method: "Charge" }, { service: "grpc.health.v1.Health" }],
            },
          ],
        },
      ],
    },
  },
  { name: "no rules at all (an ALLOW that allows nothing)", spec: { rules: [] } },
  { name: "an empty spec", spec: {} },
  { name: "unauthenticated: false beside identities", spec: oneSource({ unauthenticated: false, identities: ["*"] }) },
];

const SOURCE_LISTS = ["identities", "notIdentities", "namespaces", "notNamespaces", "serviceAccounts", "notServiceAccounts"];
const SOURCE_VALUE: Record<string, string> = {
  identities: "*",
  notIdentities: "spiffe://cluster.local/ns/a/sa/b",
  namespaces: "shop",
  notNamespaces: "shop",
  serviceAccounts: "shop/web",
  notServiceAccounts: "shop/web",
};

const IDENTITY = 'must be "*" or a spiffe://<trust-domain>/<path> id, with "*" only as a whole path segment';

export const REFUSED: RefusedCase[] = [
  {
    name: "targetRefs with a selector",
    spec: { targetRefs: [{ kind: "Service", name: "web" }], selector: { matchLabels: { app: "web" } } },
    path: "spec",
    message: "targetRefs and selector are mutually exclusive",
  },
  { name: "a target that is not a Service", spec: { targetRefs: [{ kind: "Deployment", name: "web" }] }, path: "spec.targetRefs[0].kind", message: "must be Service" },
  {
    name: "a target in another API group",
    spec: { targetRefs: [{ group: "apps", kind: "Service", name: "web" }] },
    path: "spec.targetRefs[0].group",
    message: 'must be "" (the core API group)',
  },
  {
    name: "a target without a kind",
    spec: { targetRefs: [{ name: "web" }] },
    path: "spec.targetRefs[0].kind",
    message: "required",
    apiserver: /spec\.targetRefs\[0\]\.kind: Required value/,
  },
  { name: "a Service name that is not one", spec: { targetRefs: [{ kind: "Service", name: "Web_1" }] }, path: "spec.targetRefs[0].name", message: "must be a Service name (a DNS-1035 label)" },
  {
    name: "a Service port out of range",
    spec: { targetRefs: [{ kind: "Service", name: "web", port: 70000 }] },
    path: "spec.targetRefs[0].port",
    message: "must be a port number 1..65535",
    apiserver: /spec\.targetRefs\[0\]\.port: Invalid value: 70000: .*less than or equal to 65535/,
  },
  {
    name: "an empty targetRefs",
    spec: { targetRefs: [] },
    path: "spec.targetRefs",
    message: "must not be empty (omit the field instead)",
    apiserver: /spec\.targetRefs: Invalid value: 0: .*at least 1 items/,
  },
  {
    name: "In without values",
    spec: { selector: { matchExpressions: [{ key: "tier", operator: "In" }] } },
    path: "spec.selector.matchExpressions[0]",
    message: "In and NotIn need values, Exists and DoesNotExist take none",
  },
  {
    name: "Exists with values",
    spec: { selector: { matchExpressions: [{ key: "tier", operator: "Exists", values: ["gold"] }] } },
    path: "spec.selector.matchExpressions[0]",
    message: "In and NotIn need values, Exists and DoesNotExist take none",
  },
  {
    name: "an unknown selector operator",
    spec: { selector: { matchExpressions: [{ key: "tier", operator: "Near", values: ["gold"] }] } },
    path: "spec.selector.matchExpressions[0].operator",
    message: "must be one of In, NotIn, Exists, DoesNotExist",
    apiserver: /spec\.selector\.matchExpressions\[0\]\.operator: Unsupported value: "Near"/,
  },
  {
    name: "an unknown action",
    spec: { action: "PERMIT" },
    path: "spec.action",
    message: "must be one of ALLOW, DENY, AUDIT",
    apiserver: /spec\.action: Unsupported value: "PERMIT": supported values: "ALLOW", "DENY", "AUDIT"/,
  },
  ...SOURCE_LISTS.map((field) => ({
    name: `unauthenticated with ${field}`,
    spec: oneSource({ unauthenticated: true, [field]: [SOURCE_VALUE[field]] }),
    path: "spec.rules[0].from[1]",
    message: `unauthenticated cannot be combined with ${field}`,
  })),
  { name: "an identity with a partial wildcard", spec: oneSource({ identities: ["spiffe://cluster.local/ns/shop/sa/web-*"] }), path: "spec.rules[0].from[1].identities[0]", message: IDENTITY },
  { name: "an identity without the scheme", spec: oneSource({ identities: ["cluster.local/ns/shop/sa/web"] }), path: "spec.rules[0].from[1].identities[0]", message: IDENTITY },
  { name: "a wildcard trust domain", spec: oneSource({ notIdentities: ["spiffe://*/ns/shop/sa/web"] }), path: "spec.rules[0].from[1].notIdentities[0]", message: IDENTITY },
  { name: "a trust domain alone", spec: oneSource({ identities: ["spiffe://cluster.local"] }), path: "spec.rules[0].from[1].identities[0]", message: IDENTITY },
  { name: "a namespace that is not a name", spec: oneSource({ namespaces: ["Shop"] }), path: "spec.rules[0].from[1].namespaces[0]", message: "must be a namespace name (a DNS-1123 label)" },
  { name: "a ServiceAccount without its namespace", spec: oneSource({ serviceAccounts: ["checkout"] }), path: "spec.rules[0].from[1].serviceAccounts[0]", message: "must be <namespace>/<serviceaccount>" },
  { name: "a ServiceAccount with a wildcard", spec: oneSource({ notServiceAccounts: ["shop/*"] }), path: "spec.rules[0].from[1].notServiceAccounts[0]", message: "must be <namespace>/<serviceaccount>" },
  {
    name: "an empty identities list",
    spec: oneSource({ identities: [] }),
    path: "spec.rules[0].from[1].identities",
    message: "must not be empty (omit the field instead)",
    apiserver: /spec\.rules\[0\]\.from\[1\]\.identities: Invalid value: 0: .*at least 1 items/,
  },
  {
    name: "a misspelt source field",
    spec: oneSource({ serviceAcounts: ["shop/web"] }),
    path: "spec.rules[0].from[1]",
    message: 'unknown field "serviceAcounts"',
    apiserver: /unknown field "spec\.rules\[0\]\.from\[1\]\.serviceAcounts"/,
  },
  {
    name: "unauthenticated that is not a boolean",
    spec: oneSource({ unauthenticated: "yes" }),
    path: "spec.rules[0].from[1].unauthenticated",
    message: "must be a boolean",
    apiserver: /spec\.rules\[0\]\.from\[1\]\.unauthenticated: Invalid value: "string": .*must be of type boolean/,
  },
  { name: "a lower-case method", spec: oneOperation({ methods: ["post"] }), path: "spec.rules[0].to[0].methods[0]", message: "must be an upper-case HTTP method such as GET" },
  { name: "a path match with both exact and prefix", spec: oneOperation({ paths: [{ exact: "/a", prefix: "/b" }] }), path: "spec.rules[0].to[0].paths[0]", message: "set exactly one of exact and prefix" },
  { name: "a path match with neither", spec: oneOperation({ notPaths: [{}] }), path: "spec.rules[0].to[0].notPaths[0]", message: "set exactly one of exact and prefix" },
  { name: "a relative path prefix", spec: oneOperation({ paths: [{ prefix: "api/" }] }), path: "spec.rules[0].to[0].paths[0].prefix", message: 'must start with "/"' },
  { name: "a host with a port", spec: oneOperation({ hosts: ["example.com:8080"] }), path: "spec.rules[0].to[0].hosts[0]", message: "must be a host name, or *.<suffix>, without a port" },
  { name: "a wildcard in the middle of a host", spec: oneOperation({ notHosts: ["api.*.example.com"] }), path: "spec.rules[0].to[0].notHosts[0]", message: "must be a host name, or *.<suffix>, without a port" },
  {
    name: "port 0",
    spec: oneOperation({ ports: [0] }),
    path: "spec.rules[0].to[0].ports[0]",
    message: "must be a port number 1..65535",
    apiserver: /spec\.rules\[0\]\.to\[0\]\.ports\[0\]: Invalid value: 0: .*greater than or equal to 1/,
  },
  {
    name: "a port above 65535",
    spec: oneOperation({ notPorts: [65536] }),
    path: "spec.rules[0].to[0].notPorts[0]",
    message: "must be a port number 1..65535",
    apiserver: /spec\.rules\[0\]\.to\[0\]\.notPorts\[0\]: Invalid value: 65536: .*less than or equal to 65535/,
  },
  { name: "an empty gRPC service", spec: oneOperation({ grpc: [{ service: "" }] }), path: "spec.rules[0].to[0].grpc[0].service", message: "must be a fully qualified gRPC service such as pkg.v1.Service" },
  {
    name: "a gRPC match without a service",
    spec: oneOperation({ grpc: [{ method: "Charge" }] }),
    path: "spec.rules[0].to[0].grpc[0].service",
    message: "required",
    apiserver: /spec\.rules\[0\]\.to\[0\]\.grpc\[0\]\.service: Required value/,
  },
  { name: "a gRPC method given as a path", spec: oneOperation({ grpc: [{ service: "pkg.Svc", method: "/pkg.Svc/Charge" }] }), path: "spec.rules[0].to[0].grpc[0].method", message: "must be a gRPC method name" },
  {
    name: "an empty from",
    spec: { rules: [{ from: [] }] },
    path: "spec.rules[0].from",
    message: "must not be empty (omit the field instead)",
    apiserver: /spec\.rules\[0\]\.from: Invalid value: 0: .*at least 1 items/,
  },
  {
    name: "more rules than the bound",
    spec: { rules: Array.from({ length: 17 }, () => ({})) },
    path: "spec.rules",
    message: "must have at most 16 entries",
    apiserver: /spec\.rules: Too many: 17: must have at most 16 items/,
  },
  {
    name: "an identity longer than the bound",
    spec: oneSource({ identities: [`spiffe://cluster.local/${"a".repeat(250)}`] }),
    path: "spec.rules[0].from[1].identities[0]",
    message: "must be at most 256 characters",
    apiserver: /spec\.rules\[0\]\.from\[1\]\.identities\[0\]: Too long: may not be (longer|more) than 256/,
  },
];
