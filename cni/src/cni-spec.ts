// The CNI contract as the plugin sees it (CNI spec 1.0, "Plugin protocol"):
// the command and the pod's identity come in environment variables, the
// network configuration (with the previous plugin's result) on stdin, and the
// answer leaves on stdout as a result or as an error object. Pure: the shell
// (main.ts) hands in the environment and the bytes, and writes what comes out.
import { fail, ok, type Result } from "../../lib/result.ts";

export const SUPPORTED_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;

export type CniCommand = "ADD" | "DEL" | "CHECK" | "VERSION" | "GC" | "STATUS";

/** Well-known error codes (spec "Error codes"); 100 and up are this plugin's own. */
export const CNI_ERRORS = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  /** The pod could not be read from the apiserver. */
  podUnreadable: 100,
  /** The pod's capture flags were refused. */
  badCaptureFlags: 101,
  /** iptables failed inside the pod's network namespace. */
  captureFailed: 102,
  /** CHECK: a meshed pod's network namespace lacks the capture jumps. */
  captureMissing: 103,
} as const;

export interface CniError {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  /** The kubeconfig (JSON) the DaemonSet wrote for this plugin. */
  kubeconfig: string;
  prevResult?: Record<string, unknown>;
}

export interface CniRequest {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifName: string;
  /** K8S_POD_NAMESPACE and K8S_POD_NAME from CNI_ARGS (absent outside Kubernetes). */
  pod?: { namespace: string; name: string };
  conf: NetConf;
}

export function cniError(cniVersion: string, code: number, msg: string, details?: string): CniError {
  return details === undefined ? { cniVersion, code, msg } : { cniVersion, code, msg, details };
}

/** CNI_ARGS: "K1=V1;K2=V2". */
export function parseCniArgs(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of text.split(";")) {
    const eq = pair.indexOf("=");
    if (eq > 0) out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

const COMMANDS: readonly string[] = ["ADD", "DEL", "CHECK", "VERSION", "GC", "STATUS"];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The version to answer in: the configuration's when it is readable, else the newest. */
export function versionOf(stdin: string): string {
  try {
    const doc: unknown = JSON.parse(stdin);
    if (isObject(doc) && typeof doc.cniVersion === "string") return doc.cniVersion;
  } catch {
    // fall through: the error itself is reported by parseRequest
  }
  return SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1] ?? "1.0.0";
}

export function parseCommand(env: Record<string, string | undefined>): Result<CniCommand> {
  const command = env.CNI_COMMAND ?? "";
  return COMMANDS.includes(command) ? ok(command as CniCommand) : fail(String(CNI_ERRORS.invalidEnvironment), `CNI_COMMAND "${command}" is not one of ${COMMANDS.join(", ")}`);
}

/** The whole request, or a failure whose code is the CNI error code to report. */
export function parseRequest(env: Record<string, string | undefined>, stdin: string): Result<CniRequest> {
  const command = parseCommand(env);
  if (!command.ok) return command;
  let doc: unknown;
  try {
    doc = JSON.parse(stdin);
  } catch (error) {
    return fail(String(CNI_ERRORS.decodeFailure), `network configuration on stdin is not JSON: ${(error as Error).message}`);
  }
  if (!isObject(doc)) return fail(String(CNI_ERRORS.decodeFailure), "network configuration on stdin is not a JSON object");
  const cniVersion = typeof doc.cniVersion === "string" ? doc.cniVersion : "";
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion)) {
    return fail(String(CNI_ERRORS.incompatibleVersion), `cniVersion "${cniVersion}" is not supported (supported: ${SUPPORTED_VERSIONS.join(", ")})`);
  }
  const needsPod = command.value === "ADD" || command.value === "CHECK";
  if (needsPod && (typeof doc.kubeconfig !== "string" || doc.kubeconfig === "")) {
    return fail(String(CNI_ERRORS.invalidConfig), `the weft-cni entry of network "${String(doc.name)}" names no kubeconfig`);
  }
  if (doc.prevResult !== undefined && !isObject(doc.prevResult)) return fail(String(CNI_ERRORS.invalidConfig), "prevResult is not an object");
  const conf: NetConf = {
    cniVersion,
    name: typeof doc.name === "string" ? doc.name : "",
    type: typeof doc.type === "string" ? doc.type : "",
    kubeconfig: typeof doc.kubeconfig === "string" ? doc.kubeconfig : "",
    ...(doc.prevResult === undefined ? {} : { prevResult: doc.prevResult }),
  };
  const args = parseCniArgs(env.CNI_ARGS ?? "");
  const namespace = args.get("K8S_POD_NAMESPACE");
  const name = args.get("K8S_POD_NAME");
  const request: CniRequest = {
    command: command.value,
    containerId: env.CNI_CONTAINERID ?? "",
    netns: env.CNI_NETNS ?? "",
    ifName: env.CNI_IFNAME ?? "",
    conf,
    ...(namespace && name ? { pod: { namespace, name } } : {}),
  };
  if (needsPod) {
    if (request.containerId === "") return fail(String(CNI_ERRORS.invalidEnvironment), "CNI_CONTAINERID is not set");
    if (request.netns === "") return fail(String(CNI_ERRORS.invalidEnvironment), "CNI_NETNS is not set");
  }
  return ok(request);
}

/**
 * What a chained plugin that changes no interface answers: the previous
 * result, unchanged (spec: "must output the prevResult" when it adds nothing).
 */
export function passThrough(conf: NetConf): Record<string, unknown> {
  return conf.prevResult ? { ...conf.prevResult, cniVersion: conf.cniVersion } : { cniVersion: conf.cniVersion, interfaces: [], ips: [] };
}
