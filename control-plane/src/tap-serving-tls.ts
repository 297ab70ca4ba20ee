// The certificate the tap API serves to the apiserver: a DNS-named one for the
// tap Service (weft-tap.<namespace>.svc), which the APIService's caBundle
// verifies (charts/weft/templates/tap.yaml makes both). The control plane's
// SPIFFE workload certificate names no DNS name, so the apiserver could not
// verify it; it is still the one presented to proxies. The files are a mounted
// Secret: re-read on the tap component's refresh, the last good pair kept.
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { fail, ok, type Result } from "../../lib/result.ts";

export interface TapServingFiles {
  certFile: string;
  keyFile: string;
}

export interface ServingPair {
  keyPem: string;
  certChainPem: string;
}

/** Reads the pair and checks that the key matches the certificate. */
export function readServingPair(files: TapServingFiles): Result<ServingPair> {
  let pair: ServingPair;
  try {
    pair = { certChainPem: readFileSync(files.certFile, "utf8"), keyPem: readFileSync(files.keyFile, "utf8") };
  } catch (err) {
    return fail("unreadable", `tap serving certificate: ${(err as Error).message}`);
  }
  try {
    createSecureContext({ cert: pair.certChainPem, key: pair.keyPem });
  } catch (err) {
    return fail("bad-certificate", `tap serving certificate ${files.certFile}: ${(err as Error).message}`);
  }
  return ok(pair);
}
