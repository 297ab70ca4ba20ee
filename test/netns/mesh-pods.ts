// "Pods" for end-to-end mesh tests: a network namespace with the capture rules
// weft-proxy-init writes, a Weft proxy running as the proxy UID in static mode
// (a snapshot and certificates from files), and unmodified apps beside it.
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_PROXY_PORTS, DEFAULT_PROXY_UID } from "../../lib/proxy-contract.ts";
import type { TestLeaf, TestMesh } from "../fixtures/mesh-pki.ts";
import { NODE, type LabProcess, type NetnsLab } from "./lab.ts";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const PROXY_UID = DEFAULT_PROXY_UID;
/** Apps run as an ordinary user: not root, not the proxy. */
export const APP_UID = 1000;
export const agent = (name: string): string => `${ROOT}test/netns/agents/${name}.ts`;

/** A directory the proxy UID can read, removed at cleanup. */
export class PodFiles {
  readonly dir = mkdtempSync(join(tmpdir(), "weft-netns-"));

  constructor() {
    chmodSync(this.dir, 0o755);
  }

  write(name: string, text: string, secret = false): string {
    const path = join(this.dir, name);
    writeFileSync(path, text, { mode: secret ? 0o600 : 0o644 });
    if (secret) chownSync(path, PROXY_UID, PROXY_UID);
    return path;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface ProxyStart {
  lab: NetnsLab;
  ns: string;
  files: PodFiles;
  name: string;
  mesh: TestMesh;
  leaf: TestLeaf;
  snapshot: unknown;
  opaquePorts?: string;
  excludeInboundPorts?: string;
}

/** Writes capture rules in the namespace, then starts the proxy as the proxy UID and waits until it serves. */
export async function startMeshedProxy(o: ProxyStart): Promise<LabProcess> {
  const init = [`${ROOT}sidecar/src/init-main.ts`, "--proxy-uid", String(PROXY_UID)];
  if (o.excludeInboundPorts) init.push("--exclude-inbound-ports", o.excludeInboundPorts);
  o.lab.exec(o.ns, NODE, init, { cwd: ROOT });
  const args = [
    `${ROOT}sidecar/src/main.ts`,
    "--static-snapshot", o.files.write(`${o.name}-snapshot.json`, JSON.stringify(o.snapshot)),
    "--cert", o.files.write(`${o.name}-chain.pem`, o.leaf.certChainPem),
    "--key", o.files.write(`${o.name}-key.pem`, o.leaf.keyPem, true),
    "--trust-anchors", o.files.write(`${o.name}-anchors.pem`, o.mesh.anchorPem),
    "--workload", o.name,
    "--log-level", "info",
  ];
  if (o.opaquePorts) args.push("--opaque-ports", o.opaquePorts);
  const proxy = o.lab.spawn(o.ns, NODE, args, { uid: PROXY_UID, cwd: ROOT });
  await proxy.waitForOutput(/proxy started/, { timeoutMs: 30_000 });
  return proxy;
}

export function startApps(lab: NetnsLab, ns: string, args: string[]): Promise<LabProcess> {
  const p = lab.spawn(ns, NODE, [agent("mesh-apps"), ...args], { uid: APP_UID, cwd: ROOT });
  return p.waitForOutput(/listening/).then(() => p);
}

/** Runs a client agent (or any command) in the namespace as the app user and parses its last stdout line as JSON. */
export function runClient<T>(lab: NetnsLab, ns: string, command: string, args: string[]): T {
  const out = lab.exec(ns, command, args, { uid: APP_UID, cwd: ROOT });
  return JSON.parse(out.trim().split("\n").pop() ?? "null") as T;
}

export const PORTS = DEFAULT_PROXY_PORTS;
