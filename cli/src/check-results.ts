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

export function checkAccess(name: string, facts: AccessFact[], hint = "run as a cluster admin, or have one grant these permissions"): CheckResult {
  const denied = facts.filter((f) => !f.allowed);
  const show = (f: AccessFact): string => `${f.verb} ${f.group === "" ? "" : `${f.group}/`}${f.resource}${f.namespace ? ` in ${f.namespace}` : ""}`;
  if (denied.length === 0) return pass(name, `all ${facts.length} permissions granted`);
  return failed(name, `missing: ${denied.map(show).join(", ")}`, hint);
}

/** A component's ServiceAccount, asked about with SubjectAccessReviews (the user's own rights do not matter). */
export function checkComponentAccess(name: string, subject: { serviceAccount: string; namespace: string; clusterRole: string }, facts: AccessFact[] | Error): CheckResult {
  const who = `ServiceAccount ${subject.namespace}/${subject.serviceAccount}`;
  if (facts instanceof Error) return failed(name, `cannot ask what ${who} may do: ${facts.message}`, "weft check needs create subjectaccessreviews (a cluster admin has it)");
  const r = checkAccess(name, facts, `helm upgrade restores ClusterRole and ClusterRoleBinding ${subject.clusterRole}; kubectl describe clusterrolebinding ${subject.clusterRole}`);
  return r.ok ? pass(name, `${who}: all ${facts.length} permissions it needs granted`) : { ...r, message: `${who} ${r.message}` };
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

/**
 * The certificate the webhook serves, as seen in a TLS handshake from where `weft check`
 * runs (verified against the caBundle with the Service's DNS name, as the apiserver does),
 * or why the webhook Service could not be reached from here.
 */
export type ServedCertFact =
  | { reached: true; address: string; verified: boolean; detail: string }
  | { reached: false; address: string; detail: string };

export interface CaBundleFact {
  found: boolean;
  caBundleValid: boolean;
  detail: string;
  served: ServedCertFact;
  /** The caBundle verifies the certificate in Secret weft-webhook-tls (the fallback when the webhook is out of reach). */
  secret: { matches: boolean; detail: string };
}

export function checkWebhookCaBundle(fact: CaBundleFact): CheckResult {
  const name = "webhook-ca-bundle";
  if (!fact.found) return failed(name, "MutatingWebhookConfiguration weft-injector not found", "install Weft with helm (docs/install.md)");
  if (!fact.caBundleValid) return failed(name, `caBundle is not a valid certificate: ${fact.detail}`, "helm upgrade regenerates it");
  const restart = "helm upgrade, then restart the webhook Deployment (kubectl rollout restart deployment/weft-webhook)";
  if (fact.served.reached) {
    if (!fact.served.verified) return failed(name, `the webhook at ${fact.served.address} serves a certificate the caBundle does not verify: ${fact.served.detail}`, restart);
    return pass(name, `caBundle verifies the certificate the webhook serves at ${fact.served.address}`);
  }
  // Out of reach from here (outside the cluster's network): not a failure of the webhook.
  const fallback = `webhook Service ${fact.served.address} not reachable from here (${fact.served.detail}), so the Secret weft-webhook-tls was compared instead`;
  if (!fact.secret.matches) return failed(name, `caBundle does not verify the serving certificate: ${fact.secret.detail}; ${fallback}`, restart);
  return pass(name, `caBundle verifies the serving certificate; ${fallback}`);
}

export function checkExpiry(name: string, cert: CertFact | Error, now: Date): CheckResult {
  if (cert instanceof Error) return failed(name, cert.message, "check the identity Secret (docs/install.md)");
  const days = Math.floor((cert.notAfter.getTime() - now.getTime()) / 86_400_000);
  if (days < 0) return failed(name, `${cert.subject} expired on ${cert.notAfter.toISOString()}`, "rotate it (docs/install.md)");
  if (days < EXPIRY_WARNING_DAYS) return failed(name, `${cert.subject} expires in ${days} days`, "rotate it soon (docs/install.md)");
  return pass(name, `${cert.subject} valid for ${days} more days`);
}

/** Summed over every control-plane pod: each proxy streams from one replica. */
export interface DiscoveryFact {
  streams: number;
  /** Streams whose proxy does not hold its current version (weft_discovery_streams_behind); null from a control plane too old to say. */
  behind: number | null;
  replicas: number;
}

/** A running meshed pod and what its proxy's /metrics says (the version it holds, null for none), or why it could not be read. */
export interface MeshedPodFact {
  pod: string;
  namespace: string;
  /** anchors and issuer: SHA-256 fingerprints, undefined from a proxy too old to report them. */
  proxy: { version: string | null; anchors?: string[]; issuer?: string | null } | Error;
}

const SHOW_PODS = 5;

function podList(pods: MeshedPodFact[]): string {
  const names = pods.slice(0, SHOW_PODS).map((p) => `${p.namespace}/${p.pod}`).join(", ");
  return pods.length > SHOW_PODS ? `${names} and ${pods.length - SHOW_PODS} more` : names;
}

/**
 * Proxies connected and on a current snapshot. The control plane's count is the authority
 * (a stream is what delivers updates); the proxies' own /metrics name the pods behind a
 * shortfall, since the control plane's metrics cannot say which pod a stream is.
 */
export function checkProxies(cp: DiscoveryFact | Error, pods: MeshedPodFact[], controlPlaneNs: string): CheckResult {
  const name = "proxies";
  const cpLogs = `kubectl -n ${controlPlaneNs} logs deployment/weft-control-plane`;
  if (cp instanceof Error) return failed(name, `cannot read the control plane's discovery metrics: ${cp.message}`, `kubectl -n ${controlPlaneNs} get pods; the apiserver must reach the control plane's admin port`);
  if (pods.length === 0) return pass(name, `no meshed pods running yet (${cp.streams} discovery streams open); nothing to check`);
  const empty = pods.filter((p) => !(p.proxy instanceof Error) && p.proxy.version === null);
  const unread = pods.filter((p) => p.proxy instanceof Error);
  const logs = (p: MeshedPodFact): string => `kubectl logs -n ${p.namespace} ${p.pod} -c weft-proxy`;
  const problems: string[] = [];
  let hint = "";
  if (empty.length > 0) {
    problems.push(`proxies of pods ${podList(empty)} hold no snapshot (no working discovery stream)`);
    hint = logs(empty[0] as MeshedPodFact);
  }
  if (cp.streams < pods.length) {
    problems.push(`${pods.length} meshed pods running but only ${cp.streams} discovery streams open`);
    if (hint === "") hint = `${cpLogs}; the weft-proxy logs of the meshed pods say why they are not connected`;
  }
  if (cp.behind !== null && cp.behind > 0) {
    problems.push(`${cp.behind} of ${cp.streams} streams have not ACKed their current version`);
    if (hint === "") hint = `${cpLogs} | grep "proxy refused version"`;
  }
  let note = unread.length > 0 ? ` (could not read the proxies of ${podList(unread)}: ${(unread[0]?.proxy as Error).message})` : "";
  if (cp.behind === null) note += " (version lag not checked: the control plane predates weft_discovery_streams_behind)";
  if (problems.length > 0) return failed(name, problems.join("; ") + note, hint);
  const current = cp.behind === null ? "each proxy holding a snapshot" : "all on their current version";
  return pass(name, `${pods.length} meshed pods, ${cp.streams} discovery streams, ${current}${note}`);
}

export function formatResults(results: CheckResult[]): string {
  return results
    .map((r) => (r.ok ? `✔ ${r.name}: ${r.message}` : `✘ ${r.name}: ${r.message}\n    hint: ${r.hint}`))
    .join("\n");
}

export function exitCode(results: CheckResult[]): number {
  return results.every((r) => r.ok) ? 0 : 1;
}
