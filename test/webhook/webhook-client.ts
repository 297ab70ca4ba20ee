// Test helpers: a running webhook on loopback with a throw-away certificate,
// and an HTTPS client that posts AdmissionReviews to it the way the apiserver does.
import { request } from "node:https";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import type { Clock } from "../../lib/clock.ts";
import { silentLogger } from "../../lib/log.ts";
import type { NamespaceSource } from "../../webhook/src/namespace-source.ts";
import { runWebhook, type RunningWebhook } from "../../webhook/src/webhook.ts";
import { selfSignedCertificate } from "../cluster/self-signed.ts";

export interface TestWebhook {
  webhook: RunningWebhook;
  ca: string;
  dir: string;
  certFile: string;
  keyFile: string;
  configFile: string;
  /** Written when the webhook was started with trustAnchors. */
  trustAnchorsFile: string;
  stop(): Promise<void>;
}

export async function startTestWebhook(options: { namespaces: NamespaceSource; config?: string; trustAnchors?: string; pollMs?: number; clock?: Clock; metricsPort?: number }): Promise<TestWebhook> {
  const dir = mkdtempSync(join(tmpdir(), "weft-webhook-"));
  const certFile = join(dir, "tls.crt");
  const keyFile = join(dir, "tls.key");
  const configFile = join(dir, "config.yaml");
  const trustAnchorsFile = join(dir, "ca.crt");
  let tls: { cert: string; key: string };
  try {
    tls = selfSignedCertificate("127.0.0.1");
    writeFileSync(certFile, tls.cert);
    writeFileSync(keyFile, tls.key);
    writeFileSync(configFile, options.config ?? "");
    if (options.trustAnchors !== undefined) writeFileSync(trustAnchorsFile, options.trustAnchors);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const started = await runWebhook({
    tlsCertFile: certFile,
    tlsKeyFile: keyFile,
    configFile,
    ...(options.trustAnchors !== undefined ? { trustAnchorsFile } : {}),
    port: 0,
    metricsPort: options.metricsPort,
    host: "127.0.0.1",
    namespaces: options.namespaces,
    logger: silentLogger(),
    pollMs: options.pollMs ?? 100,
    clock: options.clock,
  });
  if (!started.ok) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(started.message);
  }
  return {
    webhook: started.value,
    ca: tls.cert,
    dir,
    certFile,
    keyFile,
    configFile,
    trustAnchorsFile,
    stop: async () => {
      await started.value.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface HttpAnswer {
  status: number;
  body: string;
  json: any;
  peerCertificatePem?: string;
}

export function post(port: number, ca: string, body: string | Buffer, path = "/inject"): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "POST", ca, agent: false, headers: { "content-type": "application/json" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body: text, json });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

let uidCounter = 0;

export function podReview(pod: V1Pod, namespace: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: `uid-${++uidCounter}`,
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      requestKind: { group: "", version: "v1", kind: "Pod" },
      namespace,
      operation: "CREATE",
      userInfo: { username: "test" },
      object: pod,
      dryRun: false,
      ...overrides,
    },
  };
}

/** Decodes a response's base64 JSON patch (empty when none). */
export function responsePatch(json: any): any[] {
  const patch = json?.response?.patch;
  return typeof patch === "string" ? JSON.parse(Buffer.from(patch, "base64").toString("utf8")) : [];
}
