// An AuthorizationPolicy custom resource (metadata + spec, as the Kubernetes API
// or the local registry file holds it) into the mesh model's AuthzPolicySpec.
//
// Re-checks everything the CRD's schema and CEL rules check
// (charts/weft/templates/crds/authorizationpolicies.yaml), with the same bounds
// and the same messages under the same field paths: a policy from the registry
// file, or stored by an apiserver that predates a rule, must never reach a proxy
// malformed. test/cluster/authz-crd.test.ts holds the two to the same verdicts.
// Unknown fields are refused, as the apiserver does with strict field
// validation: a misspelt `serviceAcounts` silently dropped would turn its entry
// into "any mesh caller".
import type { AuthorizationOperation } from "../../api/gen/weft/discovery/v1/AuthorizationOperation.ts";
import type { AuthorizationRule } from "../../api/gen/weft/discovery/v1/AuthorizationRule.ts";
import type { AuthorizationSource } from "../../api/gen/weft/discovery/v1/AuthorizationSource.ts";
import type { GrpcMethodMatch } from "../../api/gen/weft/discovery/v1/GrpcMethodMatch.ts";
import type { PathMatch } from "../../api/gen/weft/discovery/v1/PathMatch.ts";
import { fail, ok, type Result } from "../result.ts";
import {
  AUTHZ_GROUP,
  AUTHZ_KIND,
  AUTHZ_VERSION,
  type AuthzAction,
  type AuthzPolicySpec,
  type AuthzTarget,
  type LabelSelector,
  type LabelSelectorRequirement,
  type ServiceTargetRef,
} from "./spec.ts";

export type SpecParseCode = "invalid-authorization-policy";

// The CRD's patterns, character for character (RE2 and JavaScript read them alike).
export const IDENTITY_PATTERN = /^spiffe:\/\/[a-z0-9._-]+(\/([A-Za-z0-9._-]+|\*))+$/;
const SERVICE_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SERVICE_ACCOUNT = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const METHOD = /^[A-Z][A-Z0-9_-]*$/;
const HOST = /^(\*\.)?[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$/;
const GRPC_SERVICE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const GRPC_METHOD = /^[A-Za-z_][A-Za-z0-9_]*$/;

const OPERATORS: readonly LabelSelectorRequirement["operator"][] = ["In", "NotIn", "Exists", "DoesNotExist"];
const ACTIONS: readonly AuthzAction[] = ["ALLOW", "DENY", "AUDIT"];
const SOURCE_LISTS = ["identities", "notIdentities", "namespaces", "notNamespaces", "serviceAccounts", "notServiceAccounts"] as const;

type Json = Record<string, unknown>;

/** Where the problems found so far go; parsing carries on past one, as the apiserver reports them all. */
class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }
}

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
// The apiserver counts characters, not UTF-16 units.
const length = (s: string): number => [...s].length;

/** The object's fields, with null read as absent (the apiserver prunes nulls of non-nullable fields). */
function fields(value: unknown, path: string, allowed: readonly string[], p: Problems): Json | undefined {
  if (!isObject(value)) {
    p.add(path, "must be an object");
    return undefined;
  }
  const out: Json = {};
  for (const [key, v] of Object.entries(value)) {
    if (!allowed.includes(key)) p.add(path, `unknown field "${key}"`);
    else if (v !== null && v !== undefined) out[key] = v;
  }
  return out;
}

interface StringRule {
  maxLength: number;
  minLength?: number;
  pattern?: RegExp;
  /** The CRD rule's message when the pattern does not match. */
  message?: string;
}

function str(value: unknown, path: string, rule: StringRule, p: Problems): string | undefined {
  if (typeof value !== "string") {
    p.add(path, "must be a string");
    return undefined;
  }
  const n = length(value);
  if (n > rule.maxLength) p.add(path, `must be at most ${rule.maxLength} characters`);
  else if (n < (rule.minLength ?? 0)) p.add(path, "must not be empty");
  else if (rule.pattern !== undefined && !rule.pattern.test(value)) p.add(path, rule.message ?? `must match ${String(rule.pattern)}`);
  else return value;
  return undefined;
}

function port(value: unknown, path: string, p: Problems): number | undefined {
  if (typeof value !== "number" || !Number.isInteger(value)) p.add(path, "must be an integer");
  else if (value < 1 || value > 65535) p.add(path, "must be a port number 1..65535");
  else return value;
  return undefined;
}

/** A list of 1..maxItems entries, each parsed by `item`; entries that fail are left out (the problem is recorded). */
function list<T>(value: unknown, path: string, maxItems: number, p: Problems, item: (v: unknown, path: string) => T | undefined): T[] {
  if (!Array.isArray(value)) {
    p.add(path, "must be a list");
    return [];
  }
  // An empty list would read as "no condition" on the wire: refused rather than guessed at.
  if (value.length === 0) p.add(path, "must not be empty (omit the field instead)");
  if (value.length > maxItems) p.add(path, `must have at most ${maxItems} entries`);
  const out: T[] = [];
  value.forEach((v: unknown, i) => {
    const parsed = item(v, `${path}[${i}]`);
    if (parsed !== undefined) out.push(parsed);
  });
  return out;
}

const strings = (value: unknown, path: string, maxItems: number, rule: StringRule, p: Problems): string[] =>
  list(value, path, maxItems, p, (v, at) => str(v, at, rule, p));

// ------------------------------------------------------------------ target

function targetRef(value: unknown, path: string, p: Problems): ServiceTargetRef | undefined {
  const o = fields(value, path, ["group", "kind", "name", "port"], p);
  if (o === undefined) return undefined;
  if (o.group !== undefined && str(o.group, `${path}.group`, { maxLength: 253 }, p) !== undefined && o.group !== "") {
    p.add(`${path}.group`, 'must be "" (the core API group)');
  }
  if (o.kind === undefined) p.add(`${path}.kind`, "required");
  else if (str(o.kind, `${path}.kind`, { maxLength: 63 }, p) !== undefined && o.kind !== "Service") p.add(`${path}.kind`, "must be Service");
  let name: string | undefined;
  if (o.name === undefined) p.add(`${path}.name`, "required");
  else name = str(o.name, `${path}.name`, { maxLength: 63, pattern: SERVICE_NAME, message: "must be a Service name (a DNS-1035 label)" }, p);
  const servicePort = o.port === undefined ? undefined : port(o.port, `${path}.port`, p);
  if (name === undefined) return undefined;
  return servicePort === undefined ? { name } : { name, port: servicePort };
}

function requirement(value: unknown, path: string, p: Problems): LabelSelectorRequirement | undefined {
  const o = fields(value, path, ["key", "operator", "values"], p);
  if (o === undefined) return undefined;
  let key: string | undefined;
  if (o.key === undefined) p.add(`${path}.key`, "required");
  else key = str(o.key, `${path}.key`, { minLength: 1, maxLength: 317 }, p);
  let operator: LabelSelectorRequirement["operator"] | undefined;
  if (o.operator === undefined) p.add(`${path}.operator`, "required");
  else if (!OPERATORS.includes(o.operator as LabelSelectorRequirement["operator"])) p.add(`${path}.operator`, `must be one of ${OPERATORS.join(", ")}`);
  else operator = o.operator as LabelSelectorRequirement["operator"];
  const values = o.values === undefined ? [] : strings(o.values, `${path}.values`, 64, { maxLength: 63 }, p);
  if (operator !== undefined && (operator === "In" || operator === "NotIn") !== (o.values !== undefined)) {
    p.add(path, "In and NotIn need values, Exists and DoesNotExist take none");
  }
  if (key === undefined || operator === undefined) return undefined;
  return { key, operator, values };
}

function selector(value: unknown, path: string, p: Problems): LabelSelector {
  const o = fields(value, path, ["matchLabels", "matchExpressions"], p) ?? {};
  const matchLabels: Record<string, string> = {};
  if (o.matchLabels !== undefined) {
    if (!isObject(o.matchLabels)) p.add(`${path}.matchLabels`, "must be an object");
    else {
      const entries = Object.entries(o.matchLabels);
      if (entries.length > 64) p.add(`${path}.matchLabels`, "must have at most 64 labels");
      for (const [k, v] of entries) {
        const parsed = str(v, `${path}.matchLabels.${k}`, { maxLength: 63 }, p);
        if (parsed !== undefined) matchLabels[k] = parsed;
      }
    }
  }
  const matchExpressions = o.matchExpressions === undefined ? [] : list(o.matchExpressions, `${path}.matchExpressions`, 32, p, (v, at) => requirement(v, at, p));
  return { matchLabels, matchExpressions };
}

// ------------------------------------------------------------------- rules

const IDENTITY_MESSAGE = 'must be "*" or a spiffe://<trust-domain>/<path> id, with "*" only as a whole path segment';
const NAMESPACE_RULE: StringRule = { maxLength: 63, pattern: NAMESPACE, message: "must be a namespace name (a DNS-1123 label)" };
const SERVICE_ACCOUNT_RULE: StringRule = { maxLength: 317, pattern: SERVICE_ACCOUNT, message: "must be <namespace>/<serviceaccount>" };
const METHOD_RULE: StringRule = { maxLength: 32, pattern: METHOD, message: "must be an upper-case HTTP method such as GET" };
const HOST_RULE: StringRule = { maxLength: 253, pattern: HOST, message: "must be a host name, or *.<suffix>, without a port" };
const PATH_RULE: StringRule = { maxLength: 1024, pattern: /^\//, message: 'must start with "/"' };

function identity(value: unknown, path: string, p: Problems): string | undefined {
  const s = str(value, path, { maxLength: 256 }, p);
  if (s === undefined) return undefined;
  // A lone "*" is any id; inside an id, "*" stands for one whole path segment.
  if (s === "*" || IDENTITY_PATTERN.test(s)) return s;
  p.add(path, IDENTITY_MESSAGE);
  return undefined;
}

function source(value: unknown, path: string, p: Problems): AuthorizationSource | undefined {
  const o = fields(value, path, [...SOURCE_LISTS, "unauthenticated"], p);
  if (o === undefined) return undefined;
  const out: AuthorizationSource = {};
  if (o.identities !== undefined) out.identities = list(o.identities, `${path}.identities`, 16, p, (v, at) => identity(v, at, p));
  if (o.notIdentities !== undefined) out.notIdentities = list(o.notIdentities, `${path}.notIdentities`, 16, p, (v, at) => identity(v, at, p));
  if (o.namespaces !== undefined) out.namespaces = strings(o.namespaces, `${path}.namespaces`, 16, NAMESPACE_RULE, p);
  if (o.notNamespaces !== undefined) out.notNamespaces = strings(o.notNamespaces, `${path}.notNamespaces`, 16, NAMESPACE_RULE, p);
  if (o.serviceAccounts !== undefined) out.serviceAccounts = strings(o.serviceAccounts, `${path}.serviceAccounts`, 16, SERVICE_ACCOUNT_RULE, p);
  if (o.notServiceAccounts !== undefined) {
    out.notServiceAccounts = strings(o.notServiceAccounts, `${path}.notServiceAccounts`, 16, SERVICE_ACCOUNT_RULE, p);
  }
  if (o.unauthenticated !== undefined) {
    if (typeof o.unauthenticated !== "boolean") p.add(`${path}.unauthenticated`, "must be a boolean");
    else if (o.unauthenticated) {
      out.unauthenticated = true;
      for (const f of SOURCE_LISTS) if (o[f] !== undefined) p.add(path, `unauthenticated cannot be combined with ${f}`);
    }
  }
  return out;
}

function pathMatch(value: unknown, path: string, p: Problems): PathMatch | undefined {
  const o = fields(value, path, ["exact", "prefix"], p);
  if (o === undefined) return undefined;
  if ((o.exact === undefined) === (o.prefix === undefined)) {
    p.add(path, "set exactly one of exact and prefix");
    return undefined;
  }
  if (o.exact !== undefined) {
    const exact = str(o.exact, `${path}.exact`, PATH_RULE, p);
    return exact === undefined ? undefined : { exact };
  }
  const prefix = str(o.prefix, `${path}.prefix`, PATH_RULE, p);
  return prefix === undefined ? undefined : { prefix };
}

function grpcMatch(value: unknown, path: string, p: Problems): GrpcMethodMatch | undefined {
  const o = fields(value, path, ["service", "method"], p);
  if (o === undefined) return undefined;
  let service: string | undefined;
  if (o.service === undefined) p.add(`${path}.service`, "required");
  else service = str(o.service, `${path}.service`, { maxLength: 256, pattern: GRPC_SERVICE, message: "must be a fully qualified gRPC service such as pkg.v1.Service" }, p);
  const method = o.method === undefined ? undefined : str(o.method, `${path}.method`, { maxLength: 128, pattern: GRPC_METHOD, message: "must be a gRPC method name" }, p);
  if (service === undefined) return undefined;
  return method === undefined ? { service } : { service, method };
}

function operation(value: unknown, path: string, p: Problems): AuthorizationOperation | undefined {
  const o = fields(value, path, ["ports", "notPorts", "methods", "notMethods", "paths", "notPaths", "hosts", "notHosts", "grpc"], p);
  if (o === undefined) return undefined;
  const out: AuthorizationOperation = {};
  if (o.ports !== undefined) out.ports = list(o.ports, `${path}.ports`, 32, p, (v, at) => port(v, at, p));
  if (o.notPorts !== undefined) out.notPorts = list(o.notPorts, `${path}.notPorts`, 32, p, (v, at) => port(v, at, p));
  if (o.methods !== undefined) out.methods = strings(o.methods, `${path}.methods`, 16, METHOD_RULE, p);
  if (o.notMethods !== undefined) out.notMethods = strings(o.notMethods, `${path}.notMethods`, 16, METHOD_RULE, p);
  if (o.paths !== undefined) out.paths = list(o.paths, `${path}.paths`, 32, p, (v, at) => pathMatch(v, at, p));
  if (o.notPaths !== undefined) out.notPaths = list(o.notPaths, `${path}.notPaths`, 32, p, (v, at) => pathMatch(v, at, p));
  if (o.hosts !== undefined) out.hosts = strings(o.hosts, `${path}.hosts`, 16, HOST_RULE, p);
  if (o.notHosts !== undefined) out.notHosts = strings(o.notHosts, `${path}.notHosts`, 16, HOST_RULE, p);
  if (o.grpc !== undefined) out.grpc = list(o.grpc, `${path}.grpc`, 16, p, (v, at) => grpcMatch(v, at, p));
  return out;
}

function rule(value: unknown, path: string, p: Problems): AuthorizationRule | undefined {
  const o = fields(value, path, ["from", "to"], p);
  if (o === undefined) return undefined;
  const out: AuthorizationRule = {};
  if (o.from !== undefined) out.from = list(o.from, `${path}.from`, 8, p, (v, at) => source(v, at, p));
  if (o.to !== undefined) out.to = list(o.to, `${path}.to`, 8, p, (v, at) => operation(v, at, p));
  return out;
}

// ------------------------------------------------------------------ policy

function metadataString(metadata: Json, key: "name" | "namespace", p: Problems): string {
  const v = metadata[key];
  if (typeof v !== "string" || v === "") {
    p.add(`metadata.${key}`, "required");
    return "";
  }
  return v;
}

/** The custom resource as the model holds it, or every problem found, each under its field path. */
export function parseAuthorizationPolicy(object: unknown): Result<AuthzPolicySpec, SpecParseCode> {
  const p = new Problems();
  if (!isObject(object)) return fail("invalid-authorization-policy", "an AuthorizationPolicy must be an object");
  const apiVersion = `${AUTHZ_GROUP}/${AUTHZ_VERSION}`;
  if (object.apiVersion !== undefined && object.apiVersion !== apiVersion) p.add("apiVersion", `must be ${apiVersion}`);
  if (object.kind !== undefined && object.kind !== AUTHZ_KIND) p.add("kind", `must be ${AUTHZ_KIND}`);
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const name = metadataString(metadata, "name", p);
  const namespace = metadataString(metadata, "namespace", p);

  const spec = object.spec === undefined || object.spec === null ? undefined : fields(object.spec, "spec", ["targetRefs", "selector", "action", "rules"], p);
  if (object.spec === undefined || object.spec === null) p.add("spec", "required");

  let target: AuthzTarget = { kind: "namespace" };
  let action: AuthzAction = "ALLOW";
  let rules: AuthorizationRule[] = [];
  if (spec !== undefined) {
    if (spec.targetRefs !== undefined && spec.selector !== undefined) p.add("spec", "targetRefs and selector are mutually exclusive");
    if (spec.targetRefs !== undefined) target = { kind: "services", services: list(spec.targetRefs, "spec.targetRefs", 16, p, (v, at) => targetRef(v, at, p)) };
    else if (spec.selector !== undefined) target = { kind: "selector", selector: selector(spec.selector, "spec.selector", p) };
    if (spec.action !== undefined) {
      if (!ACTIONS.includes(spec.action as AuthzAction)) p.add("spec.action", `must be one of ${ACTIONS.join(", ")}`);
      else action = spec.action as AuthzAction;
    }
    if (spec.rules !== undefined) {
      if (Array.isArray(spec.rules) && spec.rules.length === 0) rules = [];
      else rules = list(spec.rules, "spec.rules", 16, p, (v, at) => rule(v, at, p));
    }
  }
  if (p.list.length > 0) return fail("invalid-authorization-policy", p.list.join("; "));
  return ok({ namespace, name, target, action, rules });
}
