// `weft uninject`'s pure core, the inverse of the injector on one pod (or pod
// template): the proxy and init (or, in CNI mode, validation) containers, Weft's
// volumes, the meshed label and the injected-by and CNI-capture annotations go, and each probe the injector pointed at
// /app-health/... gets back its original target from the proxy's
// WEFT_APP_PROBES. What cannot come back: a probe's named port (the injector
// stored the number it resolved) and an explicit `scheme: HTTP` (the default).
import { ANNOTATIONS, APP_HEALTH_PATH_PREFIX, CONTAINER_NAMES, INIT_XTABLES_VOLUME, LABELS, PROXY_ENV_INJECTOR, TOKEN_VOLUME } from "../../lib/proxy-contract.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const PROBES = ["livenessProbe", "readinessProbe", "startupProbe"] as const;
const WEFT_CONTAINERS: ReadonlySet<string> = new Set([CONTAINER_NAMES.proxy, CONTAINER_NAMES.init, CONTAINER_NAMES.validate]);
const WEFT_VOLUMES: ReadonlySet<string> = new Set([TOKEN_VOLUME.name, INIT_XTABLES_VOLUME.name]);

interface AppProbeTarget {
  httpGet?: { port: number; path: string; scheme: string; httpHeaders?: unknown[] };
  tcpSocket?: { port: number };
}

function appProbes(containers: unknown[]): Record<string, AppProbeTarget> {
  const proxy = containers.find((c) => isObj(c) && c.name === CONTAINER_NAMES.proxy);
  const env = isObj(proxy) && Array.isArray(proxy.env) ? proxy.env : [];
  const entry = env.find((e) => isObj(e) && e.name === PROXY_ENV_INJECTOR.appProbes);
  if (!isObj(entry) || typeof entry.value !== "string") return {};
  try {
    const parsed: unknown = JSON.parse(entry.value);
    return isObj(parsed) ? (parsed as Record<string, AppProbeTarget>) : {};
  } catch {
    return {};
  }
}

function restoreProbe(probe: unknown, targets: Record<string, AppProbeTarget>): unknown {
  if (!isObj(probe) || !isObj(probe.httpGet) || typeof probe.httpGet.path !== "string" || !probe.httpGet.path.startsWith(APP_HEALTH_PATH_PREFIX)) return probe;
  const target = targets[probe.httpGet.path];
  if (!target) return probe;
  const { httpGet: _rewritten, ...rest } = probe;
  if (target.tcpSocket) return { ...rest, tcpSocket: { port: target.tcpSocket.port } };
  if (!target.httpGet) return probe;
  const g = target.httpGet;
  const httpGet: Obj = { path: g.path, port: g.port };
  if (g.scheme !== "HTTP") httpGet.scheme = g.scheme;
  if (g.httpHeaders) httpGet.httpHeaders = g.httpHeaders;
  return { ...rest, httpGet };
}

function withoutKey(map: unknown, key: string): unknown {
  if (!isObj(map) || !(key in map)) return map;
  const { [key]: _gone, ...rest } = map;
  return Object.keys(rest).length === 0 ? undefined : rest;
}

function setOrDrop(o: Obj, key: string, value: unknown): void {
  if (value === undefined) delete o[key];
  else o[key] = value;
}

/** The pod (or template) without Weft's additions; the same object when there were none. */
export function uninjectPod(pod: Obj): Obj {
  const spec = isObj(pod.spec) ? pod.spec : undefined;
  const meta = isObj(pod.metadata) ? pod.metadata : undefined;
  const containers = Array.isArray(spec?.containers) ? spec.containers : [];
  const inits = Array.isArray(spec?.initContainers) ? spec.initContainers : [];
  const injected = [...containers, ...inits].some((c) => isObj(c) && WEFT_CONTAINERS.has(String(c.name))) || (isObj(meta?.annotations) && ANNOTATIONS.injectedBy in meta.annotations);
  if (!injected || !spec) return pod;
  const targets = appProbes([...inits, ...containers]);
  const keep = (list: unknown[]) => list.filter((c) => !(isObj(c) && WEFT_CONTAINERS.has(String(c.name))));
  const newSpec: Obj = { ...spec };
  newSpec.containers = keep(containers).map((c) => {
    if (!isObj(c)) return c;
    const out: Obj = { ...c };
    for (const field of PROBES) if (field in out) out[field] = restoreProbe(out[field], targets);
    return out;
  });
  const newInits = keep(inits);
  setOrDrop(newSpec, "initContainers", newInits.length > 0 ? newInits : undefined);
  if (Array.isArray(spec.volumes)) {
    const volumes = spec.volumes.filter((v) => !(isObj(v) && WEFT_VOLUMES.has(String(v.name))));
    setOrDrop(newSpec, "volumes", volumes.length > 0 ? volumes : undefined);
  }
  const out: Obj = { ...pod, spec: newSpec };
  if (meta) {
    const newMeta: Obj = { ...meta };
    setOrDrop(newMeta, "labels", withoutKey(meta.labels, LABELS.meshed));
    // CNI mode also leaves the capture flags the plugin reads.
    setOrDrop(newMeta, "annotations", withoutKey(withoutKey(meta.annotations, ANNOTATIONS.injectedBy), ANNOTATIONS.cniCapture));
    // The injector adds metadata to a template that had none; empty means the same as absent.
    setOrDrop(out, "metadata", Object.keys(newMeta).length > 0 ? newMeta : undefined);
  }
  return out;
}
