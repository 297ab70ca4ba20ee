// The seam through which the webhook learns a namespace's labels: the
// AdmissionReview names the namespace but does not carry its labels. The
// Kubernetes implementation is namespace-source-kubernetes.ts; the in-memory one
// below serves unit tests and the benchmark.
import { fail, ok, type Result } from "../../lib/result.ts";
import type { NamespaceInfo } from "./inject-decision.ts";

export interface NamespaceSource {
  get(name: string): Promise<Result<NamespaceInfo>>;
}

export class StaticNamespaceSource implements NamespaceSource {
  readonly #labels: Map<string, Record<string, string>>;

  constructor(namespaces: Record<string, Record<string, string>>) {
    this.#labels = new Map(Object.entries(namespaces));
  }

  async get(name: string): Promise<Result<NamespaceInfo>> {
    const labels = this.#labels.get(name);
    return labels ? ok({ name, labels }) : fail("namespace-not-found", `namespace ${name} not found`);
  }
}
