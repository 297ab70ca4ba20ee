// The Gateway API conformance run's outside components, as built by
// test/conformance/build.sh (the set-up step test/setup/conformance-binaries.ts): each
// binary runs, the suite asks for what we built, and the images carry what the suite's
// manifests expect. Parts whose binaries are not built are skipped with a warning.
import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { freePorts } from "../support/ports.ts";
import { Processes } from "../support/process.ts";
import { StopWaiting, waitFor } from "../support/wait.ts";
import { conformanceImageArchive } from "./images.ts";
import {
  COREDNS_IMAGE,
  COREDNS_VERSION,
  ECHO_ADVANCED_IMAGE,
  GATEWAY_API_CRD_DIR,
  GATEWAY_API_VERSION,
  componentBuilt,
  componentDir,
  conformanceTestBinary,
  corednsBinary,
  echoFiles,
  meshManifestsPath,
  type Component,
} from "./paths.ts";

function skipUnlessBuilt(ctx: Mocha.Context, ...components: Component[]): void {
  const missing = components.filter((c) => !componentBuilt(c));
  if (missing.length === 0) return;
  console.warn(`    not built: ${missing.map(componentDir).join(", ")}; run \`node test/setup/prepare.ts\`: skipping`);
  ctx.skip();
}

/** stdout and stderr of a command that must exit 0. */
function run(binary: string, args: string[]): string {
  return execFileSync(binary, args, { encoding: "utf8", timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] });
}

/** stdout and stderr of a command whatever its exit code (Go's flag usage goes to stderr). */
function runAnyway(binary: string, args: string[]): string {
  const r = spawnSync(binary, args, { encoding: "utf8", timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] });
  if (r.error) throw r.error;
  return `${r.stdout}${r.stderr}`;
}

/** True when an x86-64 ELF executable has no program interpreter (PT_INTERP): statically linked. */
function isStatic(path: string): boolean {
  const elf = readFileSync(path);
  assert.equal(elf.toString("latin1", 1, 4), "ELF", `${path} is not an ELF file`);
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (elf.readUInt32LE(phoff + i * phentsize) === 3) return false;
  return true;
}

interface Metadata {
  name?: string;
  annotations?: Record<string, string>;
}

describe("the Gateway API CRDs the chart vendors", () => {
  const dir = join(GATEWAY_API_CRD_DIR, "standard");
  const docs = readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => ({ file: f, doc: parseAllDocuments(readFileSync(join(dir, f), "utf8"))[0]?.toJS() as { kind?: string; metadata?: Metadata } }));

  it("are all of the pinned release's standard channel", () => {
    assert.ok(docs.length >= 5, `only ${docs.length} files in ${dir}`);
    for (const { file, doc } of docs) {
      assert.equal(doc.metadata?.annotations?.["gateway.networking.k8s.io/bundle-version"], GATEWAY_API_VERSION, file);
      assert.equal(doc.metadata?.annotations?.["gateway.networking.k8s.io/channel"], "standard", file);
    }
  });

  it("include HTTPRoute and GRPCRoute", () => {
    const crds = docs.filter((d) => d.doc.kind === "CustomResourceDefinition").map((d) => d.doc.metadata?.name);
    assert.ok(crds.includes("httproutes.gateway.networking.k8s.io"), crds.join(", "));
    assert.ok(crds.includes("grpcroutes.gateway.networking.k8s.io"), crds.join(", "));
  });
});

describe("the conformance suite binary", () => {
  before(function () {
    skipUnlessBuilt(this, "suite");
  });

  it("holds TestMesh and takes the suite's flags", () => {
    assert.match(run(conformanceTestBinary(), ["-test.list", "."]), /^TestMesh$/m);
    const usage = runAnyway(conformanceTestBinary(), ["-help"]);
    for (const flag of ["conformance-profiles", "namespace-labels", "supported-features", "report-output"]) assert.match(usage, new RegExp(`-${flag}\\b`));
  });

  it("applies echo pods that run the image we build, without pulling it", () => {
    const containers = parseAllDocuments(readFileSync(meshManifestsPath(), "utf8"))
      .map((d) => d.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: { image?: string; imagePullPolicy?: string }[] } } } })
      .filter((d) => d.kind === "Deployment")
      .flatMap((d) => d.spec?.template?.spec?.containers ?? []);
    assert.ok(containers.length > 0);
    for (const c of containers) {
      assert.equal(c.image, ECHO_ADVANCED_IMAGE);
      assert.equal(c.imagePullPolicy, "IfNotPresent");
    }
  });
});

describe("Istio's echo server and client", () => {
  before(function () {
    skipUnlessBuilt(this, "echo");
  });

  it("are static and run", () => {
    const { server, client } = echoFiles();
    for (const binary of [server, client]) assert.ok(isStatic(binary), `${binary} is dynamically linked`);
    assert.match(runAnyway(server, ["--help"]), /--grpc\b/);
    assert.match(runAnyway(client, ["--help"]), /--count\b/);
  });
});

describe("Istio's echo client against its server, as the suite runs them in a pod", function () {
  this.timeout(60_000);
  const processes = new Processes();
  before(function () {
    skipUnlessBuilt(this, "echo");
  });
  after(() => processes.stopAll());

  it("gets 200 over HTTP, gRPC and TLS with the image's certificate", async () => {
    const { server, client, cert, key } = echoFiles();
    const [http, grpc, tcp, tls] = await freePorts(4);
    assert.ok(http !== undefined && grpc !== undefined && tcp !== undefined && tls !== undefined);
    // The suite's flags, on free ports.
    const srv = processes.start("echo-server", server, [`--tcp=${tcp}`, `--port=${http}`, `--grpc=${grpc}`, `--port=${tls}`, `--tls=${tls}`, `--crt=${cert}`, `--key=${key}`]);
    const ask = (url: string, ...flags: string[]): string => runAnyway(client, [url, ...flags]);
    await waitFor("the echo server to answer HTTP", () => {
      if (!srv.running) throw new StopWaiting(`echo server exited (${srv.state}):\n${srv.output}`);
      return /StatusCode=200/.test(ask(`http://127.0.0.1:${http}/ready`));
    }, { timeoutMs: 30_000, intervalMs: 200 });
    assert.match(ask(`grpc://127.0.0.1:${grpc}`), /Proto=GRPC/);
    assert.match(ask(`https://127.0.0.1:${tls}/`, "--insecure-skip-verify"), /StatusCode=200/);
  });
});

describe("CoreDNS", () => {
  before(function () {
    skipUnlessBuilt(this, "coredns");
  });

  it("is static, runs, and has the kubernetes plugin", () => {
    assert.ok(isStatic(corednsBinary()), "coredns is dynamically linked");
    assert.match(run(corednsBinary(), ["-version"]), new RegExp(`CoreDNS-${COREDNS_VERSION.slice(1).replace(/\./g, "\\.")}`));
    assert.match(run(corednsBinary(), ["-plugins"]), /^kubernetes$/m);
  });
});

describe("the conformance images", () => {
  before(function () {
    skipUnlessBuilt(this, "echo", "coredns");
  });

  it("are packed under the names pods ask for", function () {
    this.timeout(180_000);
    const archive = conformanceImageArchive();
    const index = JSON.parse(execFileSync("tar", ["-xOf", archive, "index.json"], { encoding: "utf8" })) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    const blob = (digest: string): unknown => JSON.parse(execFileSync("tar", ["-xOf", archive, `blobs/sha256/${digest.slice("sha256:".length)}`], { encoding: "utf8" }));
    const configs = new Map(
      index.manifests.map((m) => {
        const manifest = blob(m.digest) as { config: { digest: string } };
        const config = blob(manifest.config.digest) as { config: { Entrypoint?: string[]; User?: string; Env?: string[] } };
        return [m.annotations?.["io.containerd.image.name"], config.config] as const;
      }),
    );
    assert.deepEqual([...configs.keys()].sort(), [COREDNS_IMAGE, ECHO_ADVANCED_IMAGE].sort());
    const echo = configs.get(ECHO_ADVANCED_IMAGE);
    assert.deepEqual(echo?.Entrypoint, ["/usr/local/bin/server"]);
    assert.ok(echo?.Env?.some((e) => e.startsWith("PATH=/usr/local/bin")), "the suite execs `client` by name");
    assert.deepEqual(configs.get(COREDNS_IMAGE)?.Entrypoint, ["/coredns"]);
  });
});
