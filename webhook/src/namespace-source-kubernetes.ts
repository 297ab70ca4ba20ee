// Namespace labels read from the apiserver, cached briefly: a Deployment scaled
// to fifty replicas asks about one namespace fifty times within a second. The
// short TTL bounds how long a label change takes to apply to new pods.
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { fail, ok, type Result } from "../../lib/result.ts";
import type { NamespaceInfo } from "./inject-decision.ts";
import type { NamespaceSource } from "./namespace-source.ts";

export interface KubernetesNamespaceSourceOptions {
  ttlMs?: number;
  now?: () => number;
}

export class KubernetesNamespaceSource implements NamespaceSource {
  readonly #api: CoreV1Api;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { info: NamespaceInfo; at: number }>();

  constructor(kubeConfig: KubeConfig, options: KubernetesNamespaceSourceOptions = {}) {
    this.#api = kubeConfig.makeApiClient(CoreV1Api);
    this.#ttlMs = options.ttlMs ?? 5_000;
    this.#now = options.now ?? Date.now;
  }

  async get(name: string): Promise<Result<NamespaceInfo>> {
    const cached = this.#cache.get(name);
    if (cached && this.#now() - cached.at < this.#ttlMs) return ok(cached.info);
    try {
      const ns = await this.#api.readNamespace({ name });
      const info = { name, labels: { ...(ns.metadata?.labels ?? {}) } };
      this.#cache.set(name, { info, at: this.#now() });
      return ok(info);
    } catch (err) {
      return fail("namespace-lookup-failed", `reading namespace ${name}: ${(err as Error).message.split("\n")[0]}`);
    }
  }
}
