// Private keys on disk, written so that no reader ever sees a key readable by
// others or half written (`weft identity init`, `anchor`, `issuer`).
import { chmodSync, closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";

/**
 * Writes a private key 0600 whatever was there before and whatever the umask:
 * writeFileSync's mode applies only when it creates the file (an old 0644 key
 * would stay 0644) and is masked by the umask. A fresh file in the same
 * directory, chmodded before any byte lands, then renamed over the old one,
 * also means a reader never sees half a key.
 */
export function writeSecretFile(path: string, data: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  // A crashed earlier run with the same pid would otherwise make "wx" fail.
  rmSync(temp, { force: true });
  const fd = openSync(temp, "wx", 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, data);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(temp, path);
}

/** mkdir's mode is masked by the umask and ignored for a directory that exists: chmod says what we mean. */
export function makeSecretDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

