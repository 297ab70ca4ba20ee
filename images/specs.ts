// What goes into Weft's images. Four component images share two layers (Node and
// the compiled app), so a node stores them once; they differ in their entrypoint,
// their default user, and the iptables layer only the capture init step needs.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LayerFiles } from "./rootfs.ts";
import { productionPackages, skipInPackage } from "./production-modules.ts";
import type { ImageConfig } from "./oci-layout.ts";

/** Where the app lives inside every image; the injector's default commands point here. */
export const APP_DIR = "weft";
export const NODE_PATH_IN_IMAGE = "usr/local/bin/node";
export const DEFAULT_REGISTRY = "ghcr.io/weft-mesh";
export const TEST_REGISTRY = "weft.test";
const XTABLES_DIR = "/usr/lib/x86_64-linux-gnu/xtables";
const XTABLES_MULTI = "/usr/sbin/xtables-nft-multi";
const NONROOT = "65532:65532";

export interface LayerSpec {
  name: string;
  files: () => LayerFiles;
}

export interface ImageSpec {
  /** Repository name without registry, e.g. weft-proxy. */
  name: string;
  registry: string;
  layers: string[];
  config: ImageConfig;
}

const ENV = ["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "NODE_ENV=production"];

/** The Node binary the project runs on (node_modules/.bin/node resolves here) and its libraries. */
function baseLayer(root: string): LayerFiles {
  const files = new LayerFiles()
    .executable(join(root, "node_modules", "node", "bin", "node"), NODE_PATH_IN_IMAGE)
    .content("etc/passwd", "root:x:0:0:root:/root:/sbin/nologin\nweft-proxy:x:2102:2102::/nonexistent:/sbin/nologin\nnonroot:x:65532:65532::/nonexistent:/sbin/nologin\n")
    .content("etc/group", "root:x:0:\nweft-proxy:x:2102:\nnonroot:x:65532:\n")
    .dir("tmp", 0o1777);
  return files;
}

/** dist/ (compiled by `npm run build`) and the production node_modules, under /weft. */
function appLayer(root: string): LayerFiles {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string; version: string };
  // Only what Node needs at run time: the module type (dist/ is ESM) and the version.
  const files = new LayerFiles().content(`${APP_DIR}/package.json`, JSON.stringify({ name: pkg.name, version: pkg.version, type: "module", private: true }, null, 2) + "\n");
  files.tree(join(root, "dist"), `${APP_DIR}/dist`, (r) => r.endsWith(".map") || r.endsWith(".d.ts"));
  for (const key of productionPackages(root)) files.tree(join(root, key), `${APP_DIR}/${key}`, skipInPackage);
  return files;
}

/** iptables (nf_tables backend, as the host's) with its extensions and their libraries, for weft-proxy-init. */
function iptablesLayer(): LayerFiles {
  const files = new LayerFiles().executable(XTABLES_MULTI);
  for (const tool of ["iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"]) {
    files.symlink(`usr/sbin/${tool}`, "xtables-nft-multi");
  }
  files.tree(XTABLES_DIR, XTABLES_DIR.slice(1));
  for (const ext of readdirSync(XTABLES_DIR).sort()) if (ext.endsWith(".so")) files.executable(join(XTABLES_DIR, ext));
  return files;
}

/** The e2e tests' small apps (test/fixtures/apps, test/images/apps), run by Node's type stripping. */
function testAppsLayer(root: string): LayerFiles {
  const files = new LayerFiles();
  files.tree(join(root, "test", "fixtures", "apps"), `${APP_DIR}/test/fixtures/apps`);
  files.tree(join(root, "test", "images", "apps"), `${APP_DIR}/test/images/apps`);
  return files;
}

export function layerSpecs(root: string): LayerSpec[] {
  return [
    { name: "node", files: () => baseLayer(root) },
    { name: "app", files: () => appLayer(root) },
    { name: "iptables", files: () => iptablesLayer() },
    { name: "test-apps", files: () => testAppsLayer(root) },
  ];
}

const node = (script: string): string[] => ["node", `/${APP_DIR}/${script}`];

export function imageSpecs(): ImageSpec[] {
  const common = { env: ENV, workingDir: `/${APP_DIR}` };
  return [
    { name: "weft-control-plane", registry: DEFAULT_REGISTRY, layers: ["node", "app"], config: { ...common, entrypoint: node("dist/control-plane/src/main.js"), user: NONROOT } },
    { name: "weft-webhook", registry: DEFAULT_REGISTRY, layers: ["node", "app"], config: { ...common, entrypoint: node("dist/webhook/src/main.js"), user: NONROOT } },
    { name: "weft-dashboard", registry: DEFAULT_REGISTRY, layers: ["node", "app"], config: { ...common, entrypoint: node("dist/dashboard/src/main.js"), user: NONROOT } },
    { name: "weft-proxy", registry: DEFAULT_REGISTRY, layers: ["node", "app"], config: { ...common, entrypoint: node("dist/sidecar/src/main.js"), user: "2102:2102" } },
    // Root with NET_ADMIN/NET_RAW only (the injector sets the capabilities): iptables needs them.
    { name: "weft-proxy-init", registry: DEFAULT_REGISTRY, layers: ["node", "app", "iptables"], config: { ...common, entrypoint: node("dist/sidecar/src/init-main.js"), user: "0:0" } },
    // The weft-cni DaemonSet's agent: root, to write the node's CNI bin and conf dirs (hostPath).
    { name: "weft-cni", registry: DEFAULT_REGISTRY, layers: ["node", "app"], config: { ...common, entrypoint: node("dist/cni/src/agent-main.js"), user: "0:0" } },
    // The apps take their name as the command: `node test/fixtures/apps/http-echo.ts --port 8080`.
    { name: "apps", registry: TEST_REGISTRY, layers: ["node", "app", "test-apps"], config: { ...common, entrypoint: ["node"], user: NONROOT } },
  ];
}
