// `weft check`'s verdicts as pure functions of facts gathered from the cluster, so every
// rule is testable without one; cli/src/check-gather.ts collects the facts.

export interface CheckResult {
  name: string;
  ok: boolean;
  message: string;
  /** What to do about a failure; empty when it passed. */
  hint: string;
}

/** Oldest minor with native sidecars (restartable init containers) on by default. */
export const NATIVE_SIDECAR_MINOR = 29;
export const EXPIRY_WARNING_DAYS = 30;

function pass(name: string, message: string): CheckResult {
  return { name, ok: true, message, hint: "" };
}

function failed(name: string, message: string, hint: string): CheckResult {
  return { name, ok: false, message, hint };
}

export function checkApiServer(version: { major: string; minor: string; gitVersion: string } | Error): CheckResult {
  const name = "kubernetes-api";
  if (version instanceof Error) return failed(name, `API server unreachable: ${version.message}`, "check --kubeconfig and that the cluster is up");
  const minor = Number.parseInt(version.minor, 10);
  if (version.major !== "1" || Number.isNaN(minor)) return failed(name, `unrecognised version ${version.gitVersion}`, "Weft supports Kubernetes 1.x");
  if (minor < NATIVE_SIDECAR_MINOR) {
    return pass(name, `Kubernetes ${version.gitVersion}: supported with the classic sidecar shape (native sidecars need 1.${NATIVE_SIDECAR_MINOR}+)`);
  }
  return pass(name, `Kubernetes ${version.gitVersion}, native sidecars available`);
}

export interface AccessFact {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
  allowed: boolean;
}

export function checkAccess(name: string, facts: AccessFact[]): CheckResult {
  const denied = facts.filter((f) => !f.allowed);
  const show = (f: AccessFact): string => `${f.verb} ${f.group === "" ? "" : `${f.group}/`}${f.resource}${f.namespace ? ` in ${f.namespace}` : ""}`;
  if (denied.length === 0) return pass(name, `all ${facts.length} permissions granted`);
  return failed(name, `missing: ${denied.map(show).join(", ")}`, "run as a cluster admin, or have one grant these permissions");
}

export interface DeploymentFact {
  name: string;
  found: boolean;
  desired: number;
  ready: number;
}

export function checkDeployment(check: string, d: DeploymentFact): CheckResult {
  if (!d.found) return failed(check, `Deployment ${d.name} not found`, "install Weft with helm (docs/install.md), or pass -n with its namespace");
  if (d.desired > 0 && d.ready >= d.desired) return pass(check, `Deployment ${d.name}: ${d.ready}/${d.desired} ready`);
  return failed(check, `Deployment ${d.name}: ${d.ready}/${d.desired} ready`, `kubectl describe deployment ${d.name}; kubectl logs deployment/${d.name}`);
}

export interface CertFact {
  subject: string;
  notAfter: Date;
}

/** `servingMatches`: the caBundle verifies the certificate the webhook serves (or its Secret holds). */
export function checkWebhookCaBundle(fact: { found: boolean; caBundleValid: boolean; servingMatches: boolean; detail: string }): CheckResult {
  const name = "webhook-ca-bundle";
  if (!fact.found) return failed(name, "MutatingWebhookConfiguration weft-injector not found", "install Weft with helm (docs/install.md)");
  if (!fact.caBundleValid) return failed(name, `caBundle is not a valid certificate: ${fact.detail}`, "helm upgrade regenerates it");
  if (!fact.servingMatches) return failed(name, `caBundle does not verify the webhook's serving certificate: ${fact.detail}`, "helm upgrade, then restart the webhook Deployment");
  return pass(name, "caBundle verifies the webhook's serving certificate");
}

export function checkExpiry(name: string, cert: CertFact | Error, now: Date): CheckResult {
  if (cert instanceof Error) return failed(name, cert.message, "check the identity Secret (docs/install.md)");
  const days = Math.floor((cert.notAfter.getTime() - now.getTime()) / 86_400_000);
  if (days < 0) return failed(name, `${cert.subject} expired on ${cert.notAfter.toISOString()}`, "rotate it (docs/install.md)");
  if (days < EXPIRY_WARNING_DAYS) return failed(name, `${cert.subject} expires in ${days} days`, "rotate it soon (docs/install.md)");
  return pass(name, `${cert.subject} valid for ${days} more days`);
}

export function formatResults(results: CheckResult[]): string {
  return results
    .map((r) => (r.ok ? `✔ ${r.name}: ${r.message}` : `✘ ${r.name}: ${r.message}\n    hint: ${r.hint}`))
    .join("\n");
}

export function exitCode(results: CheckResult[]): number {
  return results.every((r) => r.ok) ? 0 : 1;
}
