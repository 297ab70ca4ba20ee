// The app's probes as the injector hands them over (WEFT_APP_PROBES, written by
// webhook/src/probe-rewrite.ts): checked field by field where the proxy's
// configuration enters, so the admin server only ever runs well-formed probes
// and a bad one is refused at start naming the probe, not at the first kubelet call.
import { APP_HEALTH_PATH_PREFIX } from "../../../lib/proxy-contract.ts";
import { fail, ok, type Result } from "../../../lib/result.ts";
import type { AppProbe } from "./app-probe.ts";

export type AppProbes = Record<string, AppProbe>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPort(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 65535;
}

/** One probe's shape, or what is wrong with it (the caller names the probe). */
function parseProbe(value: unknown): Result<AppProbe> {
  if (!isRecord(value)) return fail("bad-app-probe", "is not an object");
  const timeoutSeconds = value["timeoutSeconds"];
  // The kubelet's own minimum; the injector writes 1 when the pod does not say.
  if (typeof timeoutSeconds !== "number" || !Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) {
    return fail("bad-app-probe", "timeoutSeconds must be a whole number of seconds, at least 1");
  }
  const { httpGet, tcpSocket } = value;
  if ((httpGet === undefined) === (tcpSocket === undefined)) return fail("bad-app-probe", "needs exactly one of httpGet and tcpSocket");
  if (tcpSocket !== undefined) {
    if (!isRecord(tcpSocket) || !isPort(tcpSocket["port"])) return fail("bad-app-probe", "tcpSocket.port must be a port (1-65535)");
    return ok({ tcpSocket: { port: tcpSocket["port"] }, timeoutSeconds });
  }
  if (!isRecord(httpGet)) return fail("bad-app-probe", "httpGet is not an object");
  const { port, path, scheme, httpHeaders } = httpGet;
  if (!isPort(port)) return fail("bad-app-probe", "httpGet.port must be a port (1-65535)");
  if (typeof path !== "string" || !path.startsWith("/")) return fail("bad-app-probe", "httpGet.path must be a path starting with /");
  if (scheme !== "HTTP" && scheme !== "HTTPS") return fail("bad-app-probe", "httpGet.scheme must be HTTP or HTTPS");
  if (httpHeaders === undefined) return ok({ httpGet: { port, path, scheme }, timeoutSeconds });
  if (!Array.isArray(httpHeaders)) return fail("bad-app-probe", "httpGet.httpHeaders must be a list");
  const headers: { name: string; value: string }[] = [];
  for (const h of httpHeaders as unknown[]) {
    if (!isRecord(h) || typeof h["name"] !== "string" || h["name"] === "" || typeof h["value"] !== "string") {
      return fail("bad-app-probe", "httpGet.httpHeaders entries need a name and a string value");
    }
    headers.push({ name: h["name"], value: h["value"] });
  }
  return ok({ httpGet: { port, path, scheme, httpHeaders: headers }, timeoutSeconds });
}

/**
 * The probes by admin path. Only paths under the app-health prefix are
 * accepted: the admin server serves probes nowhere else.
 */
export function parseAppProbes(json: string, source: string): Result<AppProbes> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    return fail("bad-app-probe", `${source} is not JSON: ${(err as Error).message}`);
  }
  if (!isRecord(parsed)) return fail("bad-app-probe", `${source} must be a JSON object of probes by path`);
  const probes: AppProbes = {};
  for (const [path, value] of Object.entries(parsed)) {
    if (!path.startsWith(APP_HEALTH_PATH_PREFIX)) return fail("bad-app-probe", `${source}: probe "${path}": the path must start with ${APP_HEALTH_PATH_PREFIX}`);
    const probe = parseProbe(value);
    if (!probe.ok) return fail(probe.code, `${source}: probe "${path}": ${probe.message}`);
    probes[path] = probe.value;
  }
  return ok(probes);
}
