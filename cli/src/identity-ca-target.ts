// Where a mesh's CA lives, for the rotation commands of `weft identity`: the
// files local mode's control plane reads (an `identity init` directory, or
// `weft local`'s <state>/ca), or the Secret and ConfigMaps the chart points the
// control plane at in Kubernetes (cli/src/identity-ca-kube.ts). Each write is
// one the control plane's CA watcher picks up live.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync, fchmodSync } from "node:fs";
import { join } from "node:path";
import { ISSUER_FILE_NAMES } from "../../control-plane/src/ca-files.ts";

export interface CaState {
  anchorsPem: string;
  issuerCertPem: string;
  issuerKeyPem: string;
}

export interface CaTarget {
  /** Says where, for messages ("/home/me/.weft/local/ca", "Secret weft/weft-identity-issuer"). */
  readonly description: string;
  read(): Promise<CaState>;
  writeAnchors(pem: string): Promise<void>;
  writeIssuer(certPem: string, keyPem: string): Promise<void>;
  /** The "renew now" instant: leaves received before it are re-issued at once. */
  writeRenewBefore(at: Date): Promise<void>;
}

/** Whole-file replace: a fresh file renamed over the old one, so the watcher never reads half of it. */
function replaceFile(path: string, data: string, mode = 0o644): void {
  const temp = `${path}.${process.pid}.tmp`;
  rmSync(temp, { force: true });
  const fd = openSync(temp, "wx", mode);
  try {
    fchmodSync(fd, mode);
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** The files of a CA directory, as `weft-control-plane --issuer-dir` reads them. */
export function fileCaTarget(dir: string): CaTarget {
  const names = (): { cert: string; key: string } => ISSUER_FILE_NAMES.find((n) => readIfThere(join(dir, n.cert)) !== undefined) ?? ISSUER_FILE_NAMES[0];
  return {
    description: dir,
    read() {
      const n = names();
      const anchorsPem = readIfThere(join(dir, "ca.crt"));
      const issuerCertPem = readIfThere(join(dir, n.cert));
      const issuerKeyPem = readIfThere(join(dir, n.key));
      if (anchorsPem === undefined || issuerCertPem === undefined || issuerKeyPem === undefined) {
        return Promise.reject(new Error(`${dir} has no ca.crt with ${n.cert} and ${n.key} (a directory from weft identity init, or weft local's <state>/ca)`));
      }
      return Promise.resolve({ anchorsPem, issuerCertPem, issuerKeyPem });
    },
    writeAnchors(pem) {
      replaceFile(join(dir, "ca.crt"), pem);
      return Promise.resolve();
    },
    writeIssuer(certPem, keyPem) {
      const n = names();
      // Key first: for the moment between the two renames the watcher sees a mismatched pair, refuses it and keeps the old issuer.
      replaceFile(join(dir, n.key), keyPem, 0o600);
      replaceFile(join(dir, n.cert), certPem);
      return Promise.resolve();
    },
    writeRenewBefore(at) {
      replaceFile(join(dir, "renew-before"), `${at.toISOString()}\n`);
      return Promise.resolve();
    },
  };
}
