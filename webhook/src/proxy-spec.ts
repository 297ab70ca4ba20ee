// The containers and volume the injector adds, built from the configuration and
// the pod's settings. This is the one place the sidecar's shape is written; the
// chart only supplies values (images, commands, ports, resources).
import type { V1Container, V1EnvVar, V1Probe, V1ResourceRequirements, V1Volume } from "@kubernetes/client-node";
import { CONTAINER_NAMES, CONTROL_PLANE_SERVICE_ACCOUNT, IDENTITY_TOKEN_AUDIENCE, INIT_XTABLES_VOLUME, PROXY_ENV, PROXY_ENV_INJECTOR, TOKEN_VOLUME } from "../../lib/proxy-contract.ts";
import type { InjectorCni, InjectorConfig, ResourceSpec } from "./injector-config.ts";
import type { ProxySettings } from "./pod-overrides.ts";
import { formatPortList } from "../../lib/port-list.ts";
import { formatSpiffeId } from "../../lib/spiffe.ts";
import type { AppProbes } from "./probe-rewrite.ts";
import { tracingEnv } from "./tracing-injection.ts";

/** Token lifetime: the kubelet refreshes it at 80%; the identity service only needs it at start and renewal. */
const TOKEN_EXPIRATION_SECONDS = 86_400;
/** Downward API: the node's zone label, when the cluster copies it onto pods (empty otherwise). */
const ZONE_FIELD = "metadata.labels['topology.kubernetes.io/zone']";

function resources(spec: ResourceSpec): V1ResourceRequirements {
  const out: V1ResourceRequirements = {};
  if (Object.keys(spec.requests).length > 0) out.requests = { ...spec.requests };
  if (Object.keys(spec.limits).length > 0) out.limits = { ...spec.limits };
  return out;
}

/**
 * The flags of weft-proxy-init for this pod: the init container's arguments,
 * and in CNI mode the pod's weft.io/cni-capture annotation the plugin parses
 * with the same flag parser.
 */
export function captureArgs(config: InjectorConfig, settings: ProxySettings): string[] {
  const p = config.proxy.ports;
  const args = ["--inbound-port", String(p.inbound), "--outbound-port", String(p.outbound), "--admin-port", String(p.admin), "--proxy-uid", String(config.proxy.uid)];
  const skipIn = formatPortList(settings.skipInbound);
  const skipOut = formatPortList(settings.skipOutbound);
  if (skipIn) args.push("--exclude-inbound-ports", skipIn);
  if (skipOut) args.push("--exclude-outbound-ports", skipOut);
  return args;
}

/** A non-root UID other than the proxy's, whose traffic capture redirects. */
export const VALIDATOR_UID = 65532;

/**
 * CNI mode's init container: proves the plugin redirected the pod's outbound
 * TCP before anything else starts, with no privilege at all (it passes the
 * Pod Security "restricted" profile).
 */
export function validateContainer(config: InjectorConfig, cni: InjectorCni): V1Container {
  const args = ["--outbound-port", String(config.proxy.ports.outbound), "--target", cni.validationTarget, "--timeout-ms", String(cni.timeoutMs)];
  const [command, ...prefix] = cni.command;
  const uid = VALIDATOR_UID === config.proxy.uid ? VALIDATOR_UID + 1 : VALIDATOR_UID;
  return {
    name: CONTAINER_NAMES.validate,
    image: cni.image,
    imagePullPolicy: cni.imagePullPolicy,
    ...(command === undefined ? { args } : { command: [command], args: [...prefix, ...args] }),
    resources: resources(cni.resources),
    securityContext: {
      runAsUser: uid,
      runAsGroup: uid,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
    terminationMessagePolicy: "FallbackToLogsOnError",
  };
}

export function initContainer(config: InjectorConfig, settings: ProxySettings): V1Container {
  const args = captureArgs(config, settings);
  const [command, ...prefix] = config.init.command;
  return {
    name: CONTAINER_NAMES.init,
    image: config.init.image,
    imagePullPolicy: config.init.imagePullPolicy,
    ...(command === undefined ? { args } : { command: [command], args: [...prefix, ...args] }),
    resources: resources(config.init.resources),
    securityContext: {
      // Writing iptables rules needs root with NET_ADMIN and NET_RAW, and nothing else.
      runAsUser: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
    },
    // iptables writes its lock file under /run, which a read-only root filesystem refuses.
    volumeMounts: [{ name: INIT_XTABLES_VOLUME.name, mountPath: INIT_XTABLES_VOLUME.mountPath }],
    terminationMessagePolicy: "FallbackToLogsOnError",
  };
}

function adminProbe(path: string, port: number, timing: Omit<V1Probe, "httpGet">): V1Probe {
  return { httpGet: { path, port, scheme: "HTTP" }, ...timing };
}

function env(config: InjectorConfig, settings: ProxySettings, appProbes: AppProbes): V1EnvVar[] {
  const field = (name: string, fieldPath: string): V1EnvVar => ({ name, valueFrom: { fieldRef: { apiVersion: "v1", fieldPath } } });
  const p = config.proxy.ports;
  const out: V1EnvVar[] = [
    field(PROXY_ENV.podName, "metadata.name"),
    field(PROXY_ENV.podNamespace, "metadata.namespace"),
    field(PROXY_ENV.serviceAccount, "spec.serviceAccountName"),
    field(PROXY_ENV.nodeName, "spec.nodeName"),
    field(PROXY_ENV.podIp, "status.podIP"),
    field(PROXY_ENV.zone, ZONE_FIELD),
    { name: PROXY_ENV.controlPlaneAddress, value: config.controlPlane.address },
    { name: PROXY_ENV.discoveryAddress, value: config.controlPlane.discoveryAddress },
    { name: PROXY_ENV.trustDomain, value: config.controlPlane.trustDomain },
    { name: PROXY_ENV.identityTokenFile, value: `${TOKEN_VOLUME.mountPath}/${TOKEN_VOLUME.file}` },
    { name: PROXY_ENV.logLevel, value: settings.logLevel },
    { name: PROXY_ENV.opaquePorts, value: formatPortList(settings.opaque) },
    { name: PROXY_ENV.inboundPort, value: String(p.inbound) },
    { name: PROXY_ENV.outboundPort, value: String(p.outbound) },
    { name: PROXY_ENV.adminPort, value: String(p.admin) },
    // Tap is served to the control plane's identity only (docs/decisions.md, "Tap").
    { name: PROXY_ENV.tapIdentity, value: formatSpiffeId({ trustDomain: config.controlPlane.trustDomain, namespace: config.controlPlane.namespace, serviceAccount: CONTROL_PLANE_SERVICE_ACCOUNT }) },
  ];
  if (config.tracing && settings.tracing) out.push(...tracingEnv(config.tracing, settings.tracing));
  if (config.controlPlane.trustAnchorsPem) out.push({ name: PROXY_ENV_INJECTOR.trustAnchorsPem, value: config.controlPlane.trustAnchorsPem });
  if (Object.keys(appProbes).length > 0) out.push({ name: PROXY_ENV_INJECTOR.appProbes, value: JSON.stringify(appProbes) });
  return out;
}

/**
 * The proxy container. As a native sidecar it is an init container with
 * restartPolicy Always: the kubelet starts the app only after its startup probe
 * passes, and a Job completes when its app containers exit. Without native
 * sidecars it is the first regular container, and its postStart hook blocks
 * the kubelet from starting the next container until the proxy is ready.
 */
export function proxyContainer(config: InjectorConfig, settings: ProxySettings, appProbes: AppProbes, native: boolean): V1Container {
  const p = config.proxy.ports;
  const [command, ...prefix] = config.proxy.command;
  const container: V1Container = {
    name: CONTAINER_NAMES.proxy,
    image: config.proxy.image,
    imagePullPolicy: config.proxy.imagePullPolicy,
    ...(command === undefined ? (config.proxy.args.length ? { args: config.proxy.args } : {}) : { command: [command], args: [...prefix, ...config.proxy.args] }),
    ports: [
      { name: "weft-inbound", containerPort: p.inbound, protocol: "TCP" },
      { name: "weft-admin", containerPort: p.admin, protocol: "TCP" },
    ],
    env: env(config, settings, appProbes),
    resources: resources(settings.resources),
    securityContext: {
      runAsUser: config.proxy.uid,
      runAsGroup: config.proxy.uid,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
    volumeMounts: [{ name: TOKEN_VOLUME.name, mountPath: TOKEN_VOLUME.mountPath, readOnly: true }],
    startupProbe: adminProbe("/ready", p.admin, { periodSeconds: 1, failureThreshold: 120, timeoutSeconds: 1 }),
    readinessProbe: adminProbe("/ready", p.admin, { periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 1 }),
    livenessProbe: adminProbe("/live", p.admin, { periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 1 }),
    terminationMessagePolicy: "FallbackToLogsOnError",
  };
  if (native) {
    container.restartPolicy = "Always";
  } else {
    container.lifecycle = { postStart: { exec: { command: ["node", "-e", waitReadyScript(p.admin)] } } };
  }
  return container;
}

// Polls the admin port's /ready for up to two minutes; exits 0 when ready. The
// image has node, so the hook needs no other binary.
function waitReadyScript(adminPort: number): string {
  return (
    `const h=require("http");const end=Date.now()+120000;` +
    `(function t(){h.get({host:"127.0.0.1",port:${adminPort},path:"/ready",timeout:1000},r=>{r.resume();` +
    `if(r.statusCode===200)process.exit(0);else setTimeout(t,200)}).on("error",()=>Date.now()>end?process.exit(1):setTimeout(t,200))})()`
  );
}

export function xtablesLockVolume(): V1Volume {
  return { name: INIT_XTABLES_VOLUME.name, emptyDir: {} };
}

export function tokenVolume(): V1Volume {
  return {
    name: TOKEN_VOLUME.name,
    projected: {
      sources: [{ serviceAccountToken: { audience: IDENTITY_TOKEN_AUDIENCE, expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: TOKEN_VOLUME.file } }],
    },
  };
}
