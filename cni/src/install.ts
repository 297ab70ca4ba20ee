// The node-side files of CNI mode, as the DaemonSet's agent writes and removes
// them: the plugin (a launcher plus the Node binary and the compiled modules it
// needs, under <bin>/weft-cni.d), its kubeconfig, and the weft-cni entry in the
// runtime's .conflist. The original bytes of the conflist are kept beside the
// plugin, so removal puts back exactly what was there; a list that someone
// else rewrote meanwhile is edited instead (only our entry leaves).
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fail, ok, type Result } from "../../lib/result.ts";
import { insertPlugin, pickConflist, PLUGIN_TYPE, removePlugin, type PluginEntry } from "./conflist.ts";

export interface NodePaths {
  /** The CNI bin dir (the same path in the agent's container and on the host). */
  binDir: string;
  confDir: string;
}

/** Where the installed files live. */
export function pluginPaths(binDir: string) {
  const home = join(binDir, `${PLUGIN_TYPE}.d`);
  return {
    launcher: join(binDir, PLUGIN_TYPE),
    home,
    node: join(home, "node"),
    app: join(home, "app"),
    kubeconfig: join(home, "kubeconfig"),
    /** The conflist's bytes before we first edited it, and what we last wrote. */
    original: (name: string) => join(home, `original-${name}`),
    written: (name: string) => join(home, `written-${name}`),
  };
}

/** The compiled modules the plugin imports (main.ts's closure: no node_modules). */
export const PLUGIN_MODULES = ["dist/cni/src", "dist/sidecar/src/capture", "dist/lib"] as const;

/**
 * The launcher the runtime executes: Node runs it as a script (its first line
 * names the copied Node binary) and it imports the compiled plugin.
 */
export function launcherText(binDir: string): string {
  const p = pluginPaths(binDir);
  return `#!${p.node}\n// weft-cni launcher, written by the weft-cni DaemonSet; removed on uninstall.\nimport(${JSON.stringify(join(p.app, "dist/cni/src/main.js"))});\n`;
}

function writeAtomic(path: string, data: string | Buffer, mode: number): void {
  const tmp = join(path, "..", `.${PLUGIN_TYPE}-${process.pid}.tmp`);
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** Copies the plugin into the bin dir; the launcher goes last so the runtime never finds half a plugin. */
export function installPlugin(binDir: string, source: { nodeBinary: string; appRoot: string }): void {
  const p = pluginPaths(binDir);
  mkdirSync(p.home, { recursive: true, mode: 0o755 });
  const nodeSize = existsSync(p.node) ? statSync(p.node).size : -1;
  if (nodeSize !== statSync(source.nodeBinary).size) {
    const tmp = `${p.node}.tmp`;
    copyFileSync(source.nodeBinary, tmp);
    chmodSync(tmp, 0o755);
    renameSync(tmp, p.node);
  }
  rmSync(`${p.app}.tmp`, { recursive: true, force: true });
  mkdirSync(`${p.app}.tmp`, { recursive: true });
  writeFileSync(join(`${p.app}.tmp`, "package.json"), JSON.stringify({ type: "module", private: true }) + "\n");
  for (const dir of PLUGIN_MODULES) cpSync(join(source.appRoot, dir), join(`${p.app}.tmp`, dir), { recursive: true, filter: (f) => !f.endsWith(".map") && !f.endsWith(".d.ts") });
  rmSync(p.app, { recursive: true, force: true });
  renameSync(`${p.app}.tmp`, p.app);
  writeAtomic(p.launcher, launcherText(binDir), 0o755);
}

export interface ApiAccess {
  server: string;
  caPem: string;
  token: string;
}

/** A kubeconfig in JSON (valid YAML too, so kubectl reads it), readable by root only. */
export function kubeconfigText(api: ApiAccess): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "local", cluster: { server: api.server, "certificate-authority-data": Buffer.from(api.caPem).toString("base64") } }],
    users: [{ name: PLUGIN_TYPE, user: { token: api.token } }],
    contexts: [{ name: PLUGIN_TYPE, context: { cluster: "local", user: PLUGIN_TYPE } }],
    "current-context": PLUGIN_TYPE,
  }, null, 2) + "\n";
}

/** Writes the kubeconfig when its content changed (the token rotates); true when it wrote. */
export function writeKubeconfig(binDir: string, api: ApiAccess): boolean {
  const p = pluginPaths(binDir);
  const text = kubeconfigText(api);
  if (existsSync(p.kubeconfig) && readFileSync(p.kubeconfig, "utf8") === text) return false;
  mkdirSync(p.home, { recursive: true, mode: 0o755 });
  writeAtomic(p.kubeconfig, text, 0o600);
  return true;
}

export interface ChainState {
  conflist: string;
  changed: boolean;
}

/** Makes sure the runtime's conflist chains weft-cni last; remembers the original bytes first. */
export function ensureInChain(paths: NodePaths): Result<ChainState> {
  const p = pluginPaths(paths.binDir);
  const picked = pickConflist(existsSync(paths.confDir) ? readdirSync(paths.confDir) : []);
  if (!picked.ok) return picked;
  const file = join(paths.confDir, picked.value);
  const text = readFileSync(file, "utf8");
  const entry: PluginEntry = { type: PLUGIN_TYPE, kubeconfig: p.kubeconfig };
  const edit = insertPlugin(text, entry);
  if (!edit.ok) return fail(edit.code, `${file}: ${edit.message}`);
  if (!edit.value.changed) return ok({ conflist: file, changed: false });
  const clean = removePlugin(text);
  if (clean.ok && !clean.value.changed) {
    // The file as the primary CNI wrote it: this is what removal restores.
    writeFileSync(p.original(picked.value), text, { mode: 0o600 });
  }
  writeAtomic(file, edit.value.text, statSync(file).mode & 0o7777);
  writeFileSync(p.written(picked.value), edit.value.text, { mode: 0o600 });
  return ok({ conflist: file, changed: true });
}

/** Takes weft-cni out of every conflist of the conf dir and deletes the plugin's files. */
export function uninstall(paths: NodePaths): Result<string[]> {
  const p = pluginPaths(paths.binDir);
  const touched: string[] = [];
  const names = existsSync(paths.confDir) ? readdirSync(paths.confDir).filter((f) => f.endsWith(".conflist")) : [];
  for (const name of names) {
    const file = join(paths.confDir, name);
    const text = readFileSync(file, "utf8");
    const removed = removePlugin(text);
    if (!removed.ok || !removed.value.changed) continue;
    const original = existsSync(p.original(name)) ? readFileSync(p.original(name), "utf8") : undefined;
    const written = existsSync(p.written(name)) ? readFileSync(p.written(name), "utf8") : undefined;
    // Untouched since we wrote it: the original bytes; otherwise only our entry leaves.
    const restored = original !== undefined && written === text ? original : removed.value.text;
    writeAtomic(file, restored, statSync(file).mode & 0o7777);
    touched.push(file);
  }
  rmSync(p.launcher, { force: true });
  rmSync(p.home, { recursive: true, force: true });
  return ok(touched);
}
