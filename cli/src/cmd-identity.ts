// `weft identity init`: a trust anchor and an issuer for a new mesh (or for
// local mode), written as the files the control plane reads.
// `weft identity token`: a local-mode token for one workload.
// The rotation steps (anchor, issuer, bundle, switch-issuer, renew, status):
// cli/src/identity-rotate-command.ts.
import { existsSync, writeFileSync } from "node:fs";
import { makeSecretDir, writeSecretFile } from "./secret-files.ts";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generateLocalTokenKey, mintLocalToken, readLocalTokenKey } from "../../control-plane/src/identity-verifier-local-token.ts";
import { parseDuration } from "../../lib/duration.ts";
import { createIssuer, createTrustAnchor } from "../../lib/pki.ts";
import { DEFAULT_TRUST_DOMAIN, validateIdentity } from "../../lib/spiffe.ts";
import type { Command } from "./command.ts";
import { ROTATE_SUBCOMMANDS, ROTATE_USAGE, runRotate } from "./identity-rotate-command.ts";

const USAGE = `usage:
  weft identity init --dir DIR [--trust-domain TD] [--anchor-lifetime 3650d] [--issuer-lifetime 365d] [--local] [--force]
      writes DIR/ca.crt (trust anchor), ca.key (keep it offline), issuer.crt, issuer.key,
      and with --local a local-token.key for local mode
  weft identity token --dir DIR --namespace NS --service-account SA [--ttl 24h]
      prints a local-mode token for that workload
${ROTATE_USAGE}`;

const FILES = ["ca.crt", "ca.key", "issuer.crt", "issuer.key"];

async function init(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      dir: { type: "string" },
      "trust-domain": { type: "string", default: DEFAULT_TRUST_DOMAIN },
      "anchor-lifetime": { type: "string", default: "3650d" },
      "issuer-lifetime": { type: "string", default: "365d" },
      local: { type: "boolean", default: false },
      force: { type: "boolean", default: false },
    },
  });
  if (!values.dir) throw new Error("--dir is required");
  const trustDomain = values["trust-domain"];
  const td = validateIdentity({ trustDomain, namespace: "x", serviceAccount: "x" });
  if (!td.ok) throw new Error(td.message);
  const anchorLifetime = parseDuration(values["anchor-lifetime"]);
  if (!anchorLifetime.ok) throw new Error(`--anchor-lifetime: ${anchorLifetime.message}`);
  const issuerLifetime = parseDuration(values["issuer-lifetime"]);
  if (!issuerLifetime.ok) throw new Error(`--issuer-lifetime: ${issuerLifetime.message}`);
  if (issuerLifetime.value > anchorLifetime.value) throw new Error("--issuer-lifetime must not exceed --anchor-lifetime");
  const existing = FILES.filter((f) => existsSync(join(values.dir!, f)));
  if (existing.length > 0 && !values.force) throw new Error(`${values.dir} already has ${existing.join(", ")}; use --force to replace them`);
  makeSecretDir(values.dir);
  const anchor = await createTrustAnchor({ trustDomain, lifetimeMs: anchorLifetime.value });
  const issuer = await createIssuer(anchor, { trustDomain, lifetimeMs: issuerLifetime.value });
  writeFileSync(join(values.dir, "ca.crt"), anchor.certPem);
  writeSecretFile(join(values.dir, "ca.key"), anchor.keyPem);
  writeFileSync(join(values.dir, "issuer.crt"), issuer.certPem);
  writeSecretFile(join(values.dir, "issuer.key"), issuer.keyPem);
  const written = [...FILES];
  if (values.local) {
    writeSecretFile(join(values.dir, "local-token.key"), generateLocalTokenKey().toString("hex") + "\n");
    written.push("local-token.key");
  }
  console.log(`wrote ${written.map((f) => join(values.dir!, f)).join(", ")} for trust domain ${trustDomain}`);
  console.error("keep ca.key offline: it is needed only to sign the next issuer");
  return 0;
}

function token(args: string[]): number {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      dir: { type: "string" },
      namespace: { type: "string" },
      "service-account": { type: "string" },
      ttl: { type: "string", default: "24h" },
    },
  });
  if (!values.dir || !values.namespace || !values["service-account"]) throw new Error("--dir, --namespace and --service-account are required");
  const id = validateIdentity({ trustDomain: DEFAULT_TRUST_DOMAIN, namespace: values.namespace, serviceAccount: values["service-account"] });
  if (!id.ok) throw new Error(id.message);
  const ttl = parseDuration(values.ttl);
  if (!ttl.ok) throw new Error(`--ttl: ${ttl.message}`);
  const key = readLocalTokenKey(join(values.dir, "local-token.key"));
  if (!key.ok) throw new Error(key.message);
  console.log(mintLocalToken(key.value, { namespace: values.namespace, serviceAccount: values["service-account"], ttlMs: ttl.value }));
  return 0;
}

export const command: Command = {
  summary: "create a mesh's trust anchor and issuer, rotate them live; mint local-mode tokens",
  async run(args) {
    const [sub, ...rest] = args;
    try {
      if (sub === "init") return await init(rest);
      if (sub === "token") return token(rest);
      if (sub !== undefined && ROTATE_SUBCOMMANDS.includes(sub)) return await runRotate(sub, rest);
    } catch (err) {
      console.error(`weft identity ${sub}: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    console.error(USAGE);
    return sub === "--help" || sub === "-h" ? 0 : 2;
  },
};

