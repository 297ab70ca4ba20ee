// Where the proxy's proof of identity comes from: the projected ServiceAccount
// token file (re-read on every use, because the kubelet rotates it), or a fixed
// string in local mode.
import { readFile } from "node:fs/promises";

export function tokenFromFile(path: string): () => Promise<string> {
  return async () => (await readFile(path, "utf8")).trim();
}

export function staticToken(token: string): () => string {
  return () => token;
}
