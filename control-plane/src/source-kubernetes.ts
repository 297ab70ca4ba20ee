// The Kubernetes source: informers over Services, EndpointSlices
// (discovery.k8s.io/v1), meshed Pods, Namespaces and AuthorizationPolicies
// (policy.weft.io/v1alpha1), reduced to the mesh model by translateKubernetes. Nothing is published until every informer has listed
// once, so a control plane that starts before the apiserver (or loses it)
// never publishes a partial or empty mesh; it retries with backoff and resumes
// its watches (re-listing after 410 Gone) when the apiserver returns. An
// AuthorizationPolicy CRD that is not installed is no outage: there can be no
// policies then, so that informer counts as synced (empty), says so once, and
// keeps retrying until the CRD appears. The Gateway API CRDs (HTTPRoute,
// GRPCRoute, ReferenceGrant: GAMMA routing, docs/routing.md) are optional the
// same way: without them the mesh is published without routes.
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, makeInformer, type KubernetesListObject, type KubeConfig, type KubernetesObject, type V1EndpointSlice, type V1Namespace, type V1Pod, type V1Service } from "@kubernetes/client-node";
import type { DefaultPolicy } from "../../lib/authz/default-policy.ts";
import { AUTHZ_GROUP, AUTHZ_PLURAL, AUTHZ_VERSION } from "../../lib/authz/spec.ts";
import { LABELS } from "../../lib/proxy-contract.ts";
import { silentLogger, type Logger } from "../../lib/log.ts";
import type { MeshModel } from "./mesh-state.ts";
import type { ClientOverride } from "./policy-defaults.ts";
import { translateKubernetes } from "./source-kubernetes-translate.ts";
import { GATEWAY_GROUP } from "./routes-model.ts";
import { ROUTE_PLURALS, ROUTE_VERSION, RouteStatusWriter, type WriteStatus } from "./routes-status-writer.ts";
import { translateRoutes } from "./routes-translate.ts";

export interface KubernetesSourceOptions {
  kubeConfig: KubeConfig;
  trustDomain: string;
  /** Receives a model builder each time something changed (call it to get the model; DiscoveryServer.publish accepts it). */
  onModel: (model: () => MeshModel) => void;
  clientDefaults?: ClientOverride | null;
  /** The mesh-wide default inbound policy (--default-inbound-policy). */
  defaultPolicy?: DefaultPolicy;
  logger?: Logger;
  backoff?: { baseMs?: number; maxMs?: number };
  /** GAMMA route status write-back (default: through the status subresource, 10 writes/s); false: never written. */
  routeStatus?: false | { write?: WriteStatus; perSecond?: number };
}

export interface KubernetesSource {
  /** True once every informer has listed at least once. */
  synced(): boolean;
  /** Resolves when synced (waits for the apiserver as long as it takes, unless stopped). */
  whenSynced(): Promise<void>;
  /** The model now (only meaningful once synced). */
  model(): MeshModel;
  stop(): Promise<void>;
}

interface Watched {
  name: string;
  informer: ReturnType<typeof makeInformer<KubernetesObject>>;
  synced: boolean;
  running: boolean;
  failedDuringStart: boolean;
  /** The last start failed because the resource does not exist (a CRD not installed). */
  absent: boolean;
  /** Said so since the resource was last there (it is said once, not on every retry). */
  absentLogged: boolean;
  /** Counts as synced, with nothing in it, while its resource does not exist (the optional CRD). */
  optional: boolean;
  /** What is logged (once) while an optional resource is absent. */
  absentMessage: string;
  attempt: number;
  timer: NodeJS.Timeout | null;
}

export function startKubernetesSource(options: KubernetesSourceOptions): KubernetesSource {
  const logger = (options.logger ?? silentLogger()).child({ component: "source-kubernetes" });
  const kc = options.kubeConfig;
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const baseMs = options.backoff?.baseMs ?? 500;
  const maxMs = options.backoff?.maxMs ?? 10_000;
  let stopped = false;
  let syncedResolve: () => void = () => undefined;
  const syncedPromise = new Promise<void>((resolve) => (syncedResolve = resolve));

  const services = makeInformer<V1Service>(kc, "/api/v1/services", () => core.listServiceForAllNamespaces());
  const slices = makeInformer<V1EndpointSlice>(kc, "/apis/discovery.k8s.io/v1/endpointslices", () => discovery.listEndpointSliceForAllNamespaces());
  // Only meshed pods matter (for their ServiceAccount); the label selector keeps the cache small in big clusters.
  const pods = makeInformer<V1Pod>(kc, "/api/v1/pods", () => core.listPodForAllNamespaces({ labelSelector: LABELS.meshed }), LABELS.meshed);
  const namespaces = makeInformer<V1Namespace>(kc, "/api/v1/namespaces", () => core.listNamespace());
  const custom = kc.makeApiClient(CustomObjectsApi);
  const authzPolicies = makeInformer<KubernetesObject>(
    kc,
    `/apis/${AUTHZ_GROUP}/${AUTHZ_VERSION}/${AUTHZ_PLURAL}`,
    // The custom objects API is untyped: what it lists is checked by parseAuthorizationPolicy.
    async () => (await custom.listClusterCustomObject({ group: AUTHZ_GROUP, version: AUTHZ_VERSION, plural: AUTHZ_PLURAL })) as KubernetesListObject<KubernetesObject>,
  );

  const gatewayList = (version: string, plural: string) => async () =>
    (await custom.listClusterCustomObject({ group: GATEWAY_GROUP, version, plural })) as KubernetesListObject<KubernetesObject>;
  const httpRoutes = makeInformer<KubernetesObject>(kc, `/apis/${GATEWAY_GROUP}/${ROUTE_VERSION}/httproutes`, gatewayList(ROUTE_VERSION, "httproutes"));
  const grpcRoutes = makeInformer<KubernetesObject>(kc, `/apis/${GATEWAY_GROUP}/${ROUTE_VERSION}/grpcroutes`, gatewayList(ROUTE_VERSION, "grpcroutes"));
  const grants = makeInformer<KubernetesObject>(kc, `/apis/${GATEWAY_GROUP}/v1beta1/referencegrants`, gatewayList("v1beta1", "referencegrants"));
  const statusOptions = options.routeStatus;
  const statusWriter =
    statusOptions === false
      ? null
      : new RouteStatusWriter({
          write:
            statusOptions?.write ??
            (async (w) => {
              await custom.replaceNamespacedCustomObjectStatus({ group: GATEWAY_GROUP, version: ROUTE_VERSION, namespace: w.namespace, plural: ROUTE_PLURALS[w.kind], name: w.name, body: w.body });
            }),
          perSecond: statusOptions?.perSecond,
          logger: logger.child({ component: "route-status" }),
        });

  const build = (): MeshModel => {
    const { model, problems } = translateKubernetes(
      {
        services: services.list(),
        endpointSlices: slices.list(),
        pods: pods.list(),
        namespaces: namespaces.list(),
        authorizationPolicies: authzPolicies.list(),
      },
      { trustDomain: options.trustDomain, clientDefaults: options.clientDefaults ?? null, defaultPolicy: options.defaultPolicy },
    );
    for (const p of problems) logger.warn({ object: p.object, code: p.code }, p.message);
    const http = httpRoutes.list();
    const grpc = grpcRoutes.list();
    if (http.length === 0 && grpc.length === 0) return model;
    const routes = translateRoutes({ httpRoutes: http, grpcRoutes: grpc, referenceGrants: grants.list() }, model.services);
    if (statusWriter) {
      const objects = new Map([...http.map((o) => [`HTTPRoute/${o.metadata?.namespace}/${o.metadata?.name}`, o] as const), ...grpc.map((o) => [`GRPCRoute/${o.metadata?.namespace}/${o.metadata?.name}`, o] as const)]);
      statusWriter.reconcile(routes.outcomes.map((outcome) => ({ outcome, object: objects.get(`${outcome.kind}/${outcome.namespace}/${outcome.name}`) })));
    }
    return { ...model, routes: routes.model };
  };

  const watched: Watched[] = (
    [
      ["services", services],
      ["endpointslices", slices],
      ["pods", pods],
      ["namespaces", namespaces],
      [AUTHZ_PLURAL, authzPolicies],
      ["httproutes", httpRoutes],
      ["grpcroutes", grpcRoutes],
      ["referencegrants", grants],
    ] as const
  ).map(([name, informer]) => ({
    name,
    informer: informer as unknown as Watched["informer"],
    synced: false,
    running: false,
    failedDuringStart: false,
    absent: false,
    absentLogged: false,
    optional: OPTIONAL[name] !== undefined,
    absentMessage: OPTIONAL[name] ?? "",
    attempt: 0,
    timer: null,
  }));

  const allSynced = () => watched.every((w) => w.synced);
  const changed = () => {
    if (!stopped && allSynced()) options.onModel(build);
  };

  const run = async (w: Watched) => {
    if (stopped || w.running) return;
    w.running = true;
    w.failedDuringStart = false;
    w.absent = false;
    try {
      await w.informer.start();
    } catch (err) {
      w.failedDuringStart = true;
      // Only "the resource does not exist": any other failure may hide policies that do exist.
      if (isAbsent(w, err)) w.absent = true;
      else logger.warn({ err, resource: w.name }, "informer start failed");
    }
    w.running = false;
    if (stopped) return;
    if (w.absent) return onAbsent(w);
    if (w.failedDuringStart) return retry(w);
    w.attempt = 0;
    w.absentLogged = false;
    if (!w.synced) markSynced(w);
    changed();
  };

  const onAbsent = (w: Watched) => {
    if (!w.absentLogged) logger.warn({ resource: w.name }, w.absentMessage);
    w.absentLogged = true;
    if (!w.synced) markSynced(w);
    retry(w);
  };

  const markSynced = (w: Watched) => {
    w.synced = true;
    logger.info({ resource: w.name, absent: w.absent }, "informer synced");
    if (allSynced()) {
      logger.info("kubernetes source synced");
      syncedResolve();
      // An absent CRD's informer syncs after the others may have: publish once everything is in.
      changed();
    }
  };

  const retry = (w: Watched) => {
    if (stopped || w.timer) return;
    const delay = Math.min(maxMs, baseMs * 2 ** Math.min(w.attempt, 10)) * (0.5 + Math.random() / 2);
    w.attempt++;
    w.timer = setTimeout(() => {
      w.timer = null;
      void run(w);
    }, delay);
  };

  for (const w of watched) {
    for (const verb of ["add", "update", "delete"] as const) w.informer.on(verb, changed);
    w.informer.on("error", (err?: unknown) => {
      if (stopped) return;
      // The informer stops on errors other than 410 Gone (which it handles by re-listing); restart it,
      // resuming from its last resourceVersion. The cache, and so the published model, stays as it was.
      const absent = isAbsent(w, err);
      if (absent) w.absent = true;
      else logger.warn({ resource: w.name, err: errorSummary(err) }, "watch failed; retrying");
      if (w.running) w.failedDuringStart = true;
      else if (absent) onAbsent(w);
      else retry(w);
    });
    void run(w);
  }

  return {
    synced: allSynced,
    whenSynced: () => syncedPromise,
    model: build,
    async stop() {
      stopped = true;
      statusWriter?.stop();
      for (const w of watched) {
        if (w.timer) clearTimeout(w.timer);
        await w.informer.stop();
      }
    },
  };
}

/** The resources whose CRD may be missing, and what is said (once) while it is. */
const OPTIONAL: Readonly<Record<string, string>> = {
  [AUTHZ_PLURAL]: "the AuthorizationPolicy CRD is not installed: no policies apply; watching for it",
  httproutes: "the Gateway API HTTPRoute CRD is not installed: no HTTP routes apply; watching for it",
  grpcroutes: "the Gateway API GRPCRoute CRD is not installed: no gRPC routes apply; watching for it",
  referencegrants: "the Gateway API ReferenceGrant CRD is not installed: no cross-namespace backends are permitted; watching for it",
};

/** The optional resource answered 404: its CRD is not installed (or was removed). */
function isAbsent(w: Watched, err: unknown): boolean {
  return w.optional && errorCode(err) === 404;
}

function errorCode(err: unknown): unknown {
  return err && typeof err === "object" && "code" in err ? (err as { code: unknown }).code : undefined;
}

function errorSummary(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === "object" && "code" in err) return `code ${String((err as { code: unknown }).code)}`;
  return String(err);
}
