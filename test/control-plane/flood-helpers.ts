// What the listener-limit tests share: a real control plane in local mode as a
// child process (so its RSS is its own), tokens and workload certificates for
// it, and raw HTTP/2 gRPC calls a flood can open by the thousand without a
// client library's pooling or queueing in the way.
import { spawnSync } from "node:child_process";
import { connect, type ClientHttp2Session } from "node:http2";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCsr, generateKeyPair, pemBlocks, privateKeyToPem } from "../../lib/pki.ts";
import { IdentityClient } from "../../sidecar/src/identity/client.ts";
import { Processes } from "../support/process.ts";
import { CLI, CP, controlPlaneStarted, TD, type ControlPlanePorts } from "./local-process-harness.ts";

export const CONTROL_PLANE_SPIFFE_ID = `spiffe://${TD}/ns/weft/sa/weft-control-plane`;

export interface LocalControlPlane {
  ports: ControlPlanePorts;
  pid: number;
  anchorsPem: string;
  processes: Processes;
  token(serviceAccount: string): string;
  /** A workload certificate and key for `serviceAccount` in namespace demo, issued by the control plane. */
  workloadCertificate(serviceAccount: string): Promise<{ certChainPem: string; keyPem: string }>;
  metric(line: RegExp): Promise<number>;
  stop(): Promise<void>;
}

export async function startLocalControlPlane(extraFlags: string[]): Promise<LocalControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), "weft-limits-"));
  const ca = join(dir, "ca");
  const init = spawnSync(process.execPath, [CLI, "identity", "init", "--dir", ca, "--local", "--trust-domain", TD], { encoding: "utf8" });
  if (init.status !== 0) throw new Error(`identity init: ${init.stderr}`);
  const registry = join(dir, "registry.yaml");
  writeFileSync(registry, `trustDomain: ${TD}\nservices: []\n`);
  const processes = new Processes();
  const cp = processes.node("control-plane", [
    CP, "--mode", "local", "--issuer-dir", ca, "--registry", registry, "--trust-domain", TD, "--host", "127.0.0.1",
    "--identity-port", "0", "--discovery-port", "0", "--admin-port", "0", "--drain", "1s", ...extraFlags,
  ]);
  const ports = await controlPlaneStarted(cp);
  const anchorsPem = readFileSync(join(ca, "ca.crt"), "utf8");
  const token = (serviceAccount: string): string => {
    const r = spawnSync(process.execPath, [CLI, "identity", "token", "--dir", ca, "--namespace", "demo", "--service-account", serviceAccount], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`identity token: ${r.stderr}`);
    return r.stdout.trim();
  };
  return {
    ports,
    pid: cp.pid ?? 0,
    anchorsPem,
    processes,
    token,
    async workloadCertificate(serviceAccount) {
      const keys = await generateKeyPair();
      const csrDer = pemBlocks(await createCsr(keys))[0]!.der;
      const client = new IdentityClient({ address: `127.0.0.1:${ports.identityPort}`, trustAnchorsPem: anchorsPem, serverIdentity: CONTROL_PLANE_SPIFFE_ID });
      try {
        const result = await client.certify({ token: token(serviceAccount), csrDer });
        if (!result.ok) throw new Error(`certify: ${result.message}`);
        return { certChainPem: result.value.certChainPem, keyPem: await privateKeyToPem(keys.privateKey) };
      } finally {
        client.close();
      }
    },
    async metric(line) {
      const text = await (await fetch(`http://127.0.0.1:${ports.adminPort}/metrics`)).text();
      const m = text.match(line);
      return m ? Number(m[1]) : 0;
    },
    async stop() {
      await processes.stopAll(3_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resident and peak resident memory of a process, in MiB, from /proc/<pid>/status. */
export function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string): number => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

export interface TlsClient {
  /** Client certificate (discovery's mTLS); the identity port takes none. */
  certChainPem?: string;
  keyPem?: string;
  /** Source address on the loopback (127.0.0.0/8), to be a distinct peer. */
  localAddress?: string;
}

/** An HTTP/2 connection over TLS; the flood does not check the server's name, only gets through. */
export function openSession(port: number, client: TlsClient = {}): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(`https://127.0.0.1:${port}`, {
      rejectUnauthorized: false,
      ...(client.certChainPem ? { cert: client.certChainPem, key: client.keyPem } : {}),
      ...(client.localAddress ? { localAddress: client.localAddress } : {}),
    });
    session.once("connect", () => {
      session.off("error", reject);
      session.on("error", () => {});
      resolve(session);
    });
    session.once("error", reject);
    session.once("close", () => reject(new Error("closed before connecting")));
  });
}

export interface RawCallOutcome {
  /** grpc-status from headers or trailers; null if the stream ended without one. */
  status: number | null;
  /** Response message bytes seen before the end. */
  bytes: number;
}

/** Frames `message` as one gRPC message. */
export function grpcFrame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/**
 * One call on `session`: writes `frame` and half-closes unless `keepOpen`. `onData` sees the first
 * response bytes (a streaming call's first message). Resolves when the stream ends.
 */
export function rawCall(session: ClientHttp2Session, path: string, frame: Buffer, options: { keepOpen?: boolean; onData?: () => void } = {}): Promise<RawCallOutcome> {
  return new Promise((resolve) => {
    let status: number | null = null;
    let bytes = 0;
    let stream: ReturnType<ClientHttp2Session["request"]>;
    // A status ends the call; a stream still open for writing would otherwise never close.
    const take = (headers: Record<string, unknown>) => {
      const value = headers["grpc-status"];
      if (value === undefined) return;
      status = Number(value);
      stream.close();
    };
    try {
      stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
    } catch {
      resolve({ status, bytes });
      return;
    }
    stream.on("response", take);
    stream.on("trailers", take);
    stream.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      options.onData?.();
    });
    stream.on("error", () => {});
    stream.on("close", () => resolve({ status, bytes }));
    if (options.keepOpen) stream.write(frame);
    else stream.end(frame);
  });
}
