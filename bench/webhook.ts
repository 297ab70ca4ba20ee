// `npm run bench -- webhook [--seconds N] [--concurrency N] [--nice N]`: admission requests
// per second and latency percentiles of the injection webhook for a typical pod
// (a Deployment's pod as the apiserver sends it, after defaulting). The webhook
// runs in its own Node process pinned to one core (taskset, when there are two
// or more), serving real HTTPS on loopback; the load comes from this process
// over keep-alive connections, as the apiserver's do. Also measures the pure
// injector core in-process, to separate it from HTTP and TLS.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { availableParallelism, loadavg, setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { V1Pod } from "@kubernetes/client-node";
import { pino } from "pino";
import type { BenchReport } from "./report.ts";
import { DEFAULT_INJECTOR_CONFIG } from "../webhook/src/injector-config.ts";
import { inject } from "../webhook/src/injector.ts";
import { StaticNamespaceSource } from "../webhook/src/namespace-source.ts";
import { runWebhook } from "../webhook/src/webhook.ts";

const NAMESPACE = { name: "shop", labels: { "weft.io/inject": "enabled", "kubernetes.io/metadata.name": "shop" } };

/** A pod of a Deployment as the apiserver sends it to a mutating webhook. */
export function typicalPod(): V1Pod {
  return {
    metadata: {
      generateName: "web-7d9f8c6b5d-",
      namespace: "shop",
      labels: { app: "web", "pod-template-hash": "7d9f8c6b5d", version: "v3" },
      annotations: { "kubectl.kubernetes.io/restartedAt": "2026-11-25T10:00:00Z", "prometheus.io/scrape": "true" },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-7d9f8c6b5d", uid: "2c1b6f0e-8a57-4c4c-9d25-3e0c4f5a9b11", controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      serviceAccountName: "web",
      serviceAccount: "web",
      containers: [
        {
          name: "web",
          image: "registry.example.com/shop/web:3.4.1",
          imagePullPolicy: "IfNotPresent",
          ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }, { name: "metrics", containerPort: 9090, protocol: "TCP" }],
          env: [{ name: "LOG_LEVEL", value: "info" }, { name: "DB_HOST", value: "db.shop.svc" }, { name: "POD_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } }],
          resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { memory: "512Mi" } },
          livenessProbe: { httpGet: { path: "/healthz", port: "http", scheme: "HTTP" }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
          readinessProbe: { httpGet: { path: "/ready", port: 8080, scheme: "HTTP" }, periodSeconds: 5, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
          volumeMounts: [{ name: "kube-api-access-x7k2p", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true }],
          terminationMessagePath: "/dev/termination-log",
          terminationMessagePolicy: "File",
        },
      ],
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst",
      securityContext: {},
      schedulerName: "default-scheduler",
      tolerations: [
        { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
        { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
      ],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: "PreemptLowerPriority",
      volumes: [
        {
          name: "kube-api-access-x7k2p",
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
              { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
              { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
            ],
          },
        },
      ],
    },
  } as V1Pod;
}

function reviewBody(i: number): string {
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      requestKind: { group: "", version: "v1", kind: "Pod" },
      requestResource: { group: "", version: "v1", resource: "pods" },
      namespace: "shop",
      operation: "CREATE",
      userInfo: { username: "system:serviceaccount:kube-system:replicaset-controller", groups: ["system:serviceaccounts", "system:authenticated"] },
      object: typicalPod(),
      oldObject: null,
      dryRun: false,
      options: { kind: "CreateOptions", apiVersion: "meta.k8s.io/v1" },
    },
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

// The child's CPU time (user + system, µs), asked over its stdin: CPU per
// admission does not depend on how busy the machine's other cores are.
function childCpuUs(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const onData = (c: Buffer) => {
      const m = /cpu (\d+)/.exec(c.toString());
      if (m) {
        child.stdout?.off("data", onData);
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on("data", onData);
    child.stdin?.write("cpu\n");
  });
}

function startChild(nice: number): Promise<{ child: ChildProcess; port: number; ca: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "weft-bench-webhook-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=bench", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
  const args = [fileURLToPath(import.meta.url), "--serve", dir];
  // With --nice N the webhook (and the load generator) run at that scheduling
  // priority: on a machine busy with other work it approximates "one core of its own".
  const command = [...(nice !== 0 ? ["nice", "-n", String(nice)] : []), ...(availableParallelism() >= 2 ? ["taskset", "-c", "0"] : []), process.execPath, ...args];
  const child = spawn(command[0]!, command.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /^port (\d+)$/m.exec(out);
      if (m) resolve({ child, port: Number(m[1]), ca: readFileSync(join(dir, "cert.pem"), "utf8"), dir });
    });
    child.once("exit", (code) => reject(new Error(`webhook child exited with ${code}`)));
  });
}

async function load(port: number, ca: string, seconds: number, concurrency: number): Promise<{ latencies: number[]; elapsed: number; errors: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, ca });
  const latencies: number[] = [];
  let errors = 0;
  let i = 0;
  const end = performance.now() + seconds * 1000;
  const one = (body: string) =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = request({ host: "127.0.0.1", port, path: "/inject", method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
        let n = 0;
        res.on("data", (c: Buffer) => (n += c.length));
        res.on("end", () => {
          if (res.statusCode === 200 && n > 0) latencies.push(performance.now() - t0);
          else errors++;
          resolve();
        });
      });
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) await one(reviewBody(i++));
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  return { latencies, elapsed, errors };
}

function coreOnly(iterations: number): { perOpUs: number } {
  const pod = typicalPod();
  for (let i = 0; i < 500; i++) inject(pod, NAMESPACE, DEFAULT_INJECTOR_CONFIG);
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) inject(pod, NAMESPACE, DEFAULT_INJECTOR_CONFIG);
  return { perOpUs: ((performance.now() - t0) * 1000) / iterations };
}

export async function run(args: string[]): Promise<BenchReport> {
  const flag = (name: string, fallback: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const seconds = flag("seconds", 10);
  const loadBefore = loadavg()[0] ?? 0;
  const core = coreOnly(20_000);
  const nice = flag("nice", 0);
  // The load generator measures the latency, so it gets the same priority.
  if (nice !== 0) setPriority(nice);
  const { child, port, ca, dir } = await startChild(nice);
  try {
    await load(port, ca, 2, 4); // warm-up: JIT, TLS sessions
    const rows: (string | number)[][] = [];
    const data: Record<string, unknown> = { coreInjectUs: core.perOpUs };
    let p99AtTypical = NaN;
    for (const concurrency of [1, 4, 16]) {
      const cpuBefore = await childCpuUs(child);
      const r = await load(port, ca, seconds, flag("concurrency", 0) || concurrency);
      const cpuPerAdmissionUs = ((await childCpuUs(child)) - cpuBefore) / Math.max(1, r.latencies.length);
      const sorted = [...r.latencies].sort((a, b) => a - b);
      const row = { concurrency, rps: r.latencies.length / r.elapsed, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN, errors: r.errors, cpuPerAdmissionUs };
      if (concurrency === 1) p99AtTypical = row.p99;
      rows.push([concurrency, Math.round(row.rps), row.p50.toFixed(2), row.p90.toFixed(2), row.p99.toFixed(2), row.max.toFixed(2), Math.round(cpuPerAdmissionUs), row.errors]);
      data[`c${concurrency}`] = row;
    }
    const loadAfter = loadavg()[0] ?? 0;
    return {
      suite: "webhook",
      description:
        `Admission of a typical Deployment pod (${reviewBody(0).length} B AdmissionReview) over HTTPS on loopback, ${seconds} s per row, keep-alive connections; ` +
        `webhook process pinned to one core${availableParallelism() >= 2 ? " (taskset -c 0)" : " (not pinned: one CPU)"}${nice ? `, nice ${nice}` : ""}, logging at info to /dev/null. ` +
        `Pure injector core (inject(), in-process): ${core.perOpUs.toFixed(1)} µs per pod. Load average before/after: ${loadBefore.toFixed(1)}/${loadAfter.toFixed(1)} on ${availableParallelism()} CPUs.`,
      columns: ["in flight", "requests/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "webhook CPU µs/admission", "errors"],
      rows,
      targets: { "p99 latency of one admission, one core": { target: "< 5 ms", measured: `${p99AtTypical.toFixed(2)} ms`, met: p99AtTypical < 5 } },
      data,
    };
  } finally {
    child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

// The child: one webhook, the namespace known in memory (the Kubernetes source
// caches namespaces, so a warm webhook makes no API call per admission either).
async function serve(dir: string): Promise<void> {
  const logger = pino({ level: "info", base: { component: "webhook" } }, pino.destination({ dest: "/dev/null", sync: false }));
  const cfg = join(dir, "config.yaml");
  writeFileSync(cfg, "nativeSidecar: \"on\"\n");
  const started = await runWebhook({
    tlsCertFile: join(dir, "cert.pem"),
    tlsKeyFile: join(dir, "key.pem"),
    configFile: cfg,
    port: 0,
    host: "127.0.0.1",
    namespaces: new StaticNamespaceSource({ shop: NAMESPACE.labels }),
    logger,
  });
  if (!started.ok) {
    console.error(started.message);
    process.exit(1);
  }
  console.log(`port ${started.value.port}`);
  process.stdin.on("data", () => {
    const u = process.cpuUsage();
    console.log(`cpu ${u.user + u.system}`);
  });
  process.once("SIGTERM", () => void started.value.close().then(() => process.exit(0)));
  process.stdin.once("end", () => process.exit(0));
}

if (process.argv[2] === "--serve" && process.argv[3]) {
  await serve(process.argv[3]);
}
