// `weft identity anchor | issuer | bundle | switch-issuer | renew | status`:
// the steps of a live trust-anchor and issuer rotation (docs/operations-rotation.md),
// against local mode's CA files (--dir, --state-dir) or the chart's Secret and
// ConfigMaps (--kubernetes). The pure checks are in identity-rotate.ts.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseDuration } from "../../lib/duration.ts";
import { createIssuer, createTrustAnchor } from "../../lib/pki.ts";
import { DEFAULT_TRUST_DOMAIN, validateIdentity } from "../../lib/spiffe.ts";
import { DEFAULT_KUBE_CA, kubeCaTarget } from "./identity-ca-kube.ts";
import { fileCaTarget, type CaTarget } from "./identity-ca-target.ts";
import { bundleWithAnchors, bundleWithoutAnchors, checkIssuerSwitch, describeCa } from "./identity-rotate.ts";
import { KUBE_OPTIONS, loadKubeConfig } from "./kube-flags.ts";
import { makeSecretDir, writeSecretFile } from "./secret-files.ts";

const TARGET_USAGE = "TARGET: --dir CA_DIR | --state-dir WEFT_LOCAL_STATE | --kubernetes [--kubeconfig F] [--context C] [-n weft] [--secret weft-identity-issuer] [--bundle-configmap NAME --bundle-key ca.crt] [--renew-configmap weft-identity-renew]";

export const ROTATE_USAGE = `  weft identity anchor --out DIR [--trust-domain TD] [--lifetime 3650d] [--force]
      a new trust anchor: DIR/ca.crt and DIR/ca.key (keep the key offline)
  weft identity issuer --anchor-dir DIR --out DIR2 [--trust-domain TD] [--lifetime 365d] [--force]
      a new issuer signed by the anchor in DIR (ca.crt + ca.key): DIR2/issuer.crt, DIR2/issuer.key
  weft identity bundle add ANCHOR.crt... TARGET | bundle remove FINGERPRINT|ANCHOR.crt... TARGET
      add anchors to the mesh's trust bundle, or remove them (refused while the issuer in use needs one)
  weft identity switch-issuer --issuer-dir DIR2 TARGET
      make DIR2's issuer sign the next leaves (refused unless an anchor in the bundle signed it)
  weft identity renew [--before RFC3339] TARGET
      proxies re-issue every leaf they received before now (or --before), within seconds
  weft identity status TARGET
      the anchors in the bundle and the issuer in use, with SHA-256 fingerprints
  ${TARGET_USAGE}`;

export const ROTATE_SUBCOMMANDS = ["anchor", "issuer", "bundle", "switch-issuer", "renew", "status"];

const TARGET_OPTIONS = {
  dir: { type: "string" },
  "state-dir": { type: "string" },
  kubernetes: { type: "boolean", default: false },
  kubeconfig: KUBE_OPTIONS.kubeconfig,
  context: KUBE_OPTIONS.context,
  namespace: KUBE_OPTIONS.namespace,
  secret: { type: "string", default: DEFAULT_KUBE_CA.secret },
  "bundle-configmap": { type: "string" },
  "bundle-key": { type: "string", default: DEFAULT_KUBE_CA.bundleKey },
  "renew-configmap": { type: "string", default: DEFAULT_KUBE_CA.renewConfigMap },
} as const;

type TargetValues = { [K in keyof typeof TARGET_OPTIONS]?: string | boolean };

function targetOf(v: TargetValues): CaTarget {
  const str = (k: keyof TargetValues): string | undefined => (typeof v[k] === "string" ? (v[k] as string) : undefined);
  const chosen = [str("dir"), str("state-dir"), v.kubernetes === true ? "k" : undefined].filter((x) => x !== undefined);
  if (chosen.length !== 1) throw new Error(`give exactly one of --dir, --state-dir and --kubernetes\n${TARGET_USAGE}`);
  const dir = str("dir");
  if (dir) return fileCaTarget(dir);
  const state = str("state-dir");
  if (state) return fileCaTarget(join(state, "ca"));
  const kc = loadKubeConfig({ kubeconfig: str("kubeconfig"), context: str("context"), namespace: str("namespace"), allNamespaces: false, output: "table" });
  const bundle = str("bundle-configmap");
  return kubeCaTarget(kc, {
    ...DEFAULT_KUBE_CA,
    namespace: str("namespace") ?? DEFAULT_KUBE_CA.namespace,
    secret: str("secret") ?? DEFAULT_KUBE_CA.secret,
    bundleKey: str("bundle-key") ?? DEFAULT_KUBE_CA.bundleKey,
    renewConfigMap: str("renew-configmap") ?? DEFAULT_KUBE_CA.renewConfigMap,
    ...(bundle ? { bundleConfigMap: bundle } : {}),
  });
}

function lifetime(text: string, flag: string): number {
  const d = parseDuration(text);
  if (!d.ok) throw new Error(`${flag}: ${d.message}`);
  return d.value;
}

function trustDomainOf(td: string): string {
  const v = validateIdentity({ trustDomain: td, namespace: "x", serviceAccount: "x" });
  if (!v.ok) throw new Error(v.message);
  return td;
}

/** Distinguishes this generation's names from the last one's (same trust domain). */
function stamp(now = new Date()): string {
  return now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

function refuseOverwrite(dir: string, files: string[], force: boolean): void {
  const there = files.filter((f) => existsSync(join(dir, f)));
  if (there.length > 0 && !force) throw new Error(`${dir} already has ${there.join(", ")}; use --force to replace them`);
}

async function anchor(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { out: { type: "string" }, "trust-domain": { type: "string", default: DEFAULT_TRUST_DOMAIN }, lifetime: { type: "string", default: "3650d" }, force: { type: "boolean", default: false } } });
  if (!values.out) throw new Error("--out is required");
  const td = trustDomainOf(values["trust-domain"]);
  refuseOverwrite(values.out, ["ca.crt", "ca.key"], values.force);
  makeSecretDir(values.out);
  const a = await createTrustAnchor({ trustDomain: td, lifetimeMs: lifetime(values.lifetime, "--lifetime"), commonName: `root.weft.${td} ${stamp()}` });
  writeFileSync(join(values.out, "ca.crt"), a.certPem);
  writeSecretFile(join(values.out, "ca.key"), a.keyPem);
  console.log(`wrote ${join(values.out, "ca.crt")} and ${join(values.out, "ca.key")} (keep the key offline)`);
  return 0;
}

async function issuer(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { "anchor-dir": { type: "string" }, out: { type: "string" }, "trust-domain": { type: "string", default: DEFAULT_TRUST_DOMAIN }, lifetime: { type: "string", default: "365d" }, force: { type: "boolean", default: false } } });
  if (!values["anchor-dir"] || !values.out) throw new Error("--anchor-dir and --out are required");
  const td = trustDomainOf(values["trust-domain"]);
  const dir = values["anchor-dir"];
  let certPem: string;
  let keyPem: string;
  try {
    certPem = readFileSync(join(dir, "ca.crt"), "utf8");
    keyPem = readFileSync(join(dir, "ca.key"), "utf8");
  } catch (err) {
    throw new Error(`cannot read the anchor's ca.crt and ca.key in ${dir}: ${(err as Error).message}`);
  }
  refuseOverwrite(values.out, ["issuer.crt", "issuer.key"], values.force);
  const made = await createIssuer({ certPem, keyPem }, { trustDomain: td, lifetimeMs: lifetime(values.lifetime, "--lifetime"), commonName: `identity.weft.${td} ${stamp()}` });
  makeSecretDir(values.out);
  writeFileSync(join(values.out, "issuer.crt"), made.certPem);
  writeSecretFile(join(values.out, "issuer.key"), made.keyPem);
  console.log(`wrote ${join(values.out, "issuer.crt")} and ${join(values.out, "issuer.key")}, signed by the anchor in ${dir}`);
  return 0;
}

function readPemArg(arg: string): string {
  try {
    return readFileSync(arg, "utf8");
  } catch (err) {
    throw new Error(`cannot read ${arg}: ${(err as Error).message}`);
  }
}

async function bundle(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: TARGET_OPTIONS });
  const [action, ...items] = positionals;
  if (action !== "add" && action !== "remove") throw new Error("bundle takes add or remove");
  if (items.length === 0) throw new Error(`bundle ${action} needs at least one anchor`);
  const target = targetOf(values);
  const state = await target.read();
  if (action === "add") {
    const next = bundleWithAnchors(state, items.map(readPemArg).join(""));
    if (!next.ok) throw new Error(next.message);
    if (next.value.added === 0) {
      console.log(`every anchor given is already in the bundle of ${target.description}`);
      return 0;
    }
    await target.writeAnchors(next.value.bundle);
    console.log(`added ${next.value.added} anchor(s) to the bundle of ${target.description}; proxies trust them within seconds of the control plane reading it`);
    return 0;
  }
  const files = items.filter((i) => existsSync(i));
  const fingerprints = items.filter((i) => !existsSync(i));
  const next = await bundleWithoutAnchors(state, { fingerprints, pems: files.map(readPemArg) });
  if (!next.ok) throw new Error(next.message);
  await target.writeAnchors(next.value.bundle);
  console.log(`removed ${next.value.removed.join(", ")} from the bundle of ${target.description}`);
  return 0;
}

async function switchIssuer(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { ...TARGET_OPTIONS, "issuer-dir": { type: "string" } } });
  const dir = values["issuer-dir"];
  if (!dir) throw new Error("--issuer-dir is required");
  const certPem = readPemArg(join(dir, "issuer.crt"));
  const keyPem = readPemArg(join(dir, "issuer.key"));
  const target = targetOf(values);
  const checked = await checkIssuerSwitch(await target.read(), certPem, keyPem);
  if (!checked.ok) throw new Error(checked.message);
  await target.writeIssuer(certPem, keyPem);
  console.log(`issuer ${checked.value.fingerprint} now signs leaves (${target.description}); run weft identity renew to re-issue the current ones now`);
  return 0;
}

async function renew(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { ...TARGET_OPTIONS, before: { type: "string" } } });
  const at = values.before === undefined ? new Date() : new Date(values.before);
  if (Number.isNaN(at.getTime()) || (values.before !== undefined && !/^\d{4}-\d{2}-\d{2}T/.test(values.before))) throw new Error(`--before: "${values.before ?? ""}" is not an RFC 3339 instant`);
  const target = targetOf(values);
  await target.writeRenewBefore(at);
  console.log(`proxies renew every leaf received before ${at.toISOString()} (${target.description})`);
  return 0;
}

async function status(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: TARGET_OPTIONS });
  const target = targetOf(values);
  console.log(`${target.description}:`);
  for (const line of describeCa(await target.read())) console.log(`  ${line}`);
  return 0;
}

export async function runRotate(sub: string, args: string[]): Promise<number> {
  switch (sub) {
    case "anchor": return anchor(args);
    case "issuer": return issuer(args);
    case "bundle": return bundle(args);
    case "switch-issuer": return switchIssuer(args);
    case "renew": return renew(args);
    default: return status(args);
  }
}
