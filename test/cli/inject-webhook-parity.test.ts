// `weft inject` and the webhook give the same pod for the same input: every Pod
// and pod template of the golden inputs goes through the CLI (as a process) and
// through the running webhook (over HTTPS); the webhook's patch, applied to the
// input, must equal what the CLI wrote.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fjp from "fast-json-patch";
import type { V1Pod } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { StaticNamespaceSource } from "../../webhook/src/namespace-source.ts";
import { GOLDEN_DIR, goldenCases } from "../webhook/golden-cases.ts";
import { podReview, post, responsePatch, startTestWebhook, type TestWebhook } from "../webhook/webhook-client.ts";
import { caseConfigFile, weft } from "../webhook/weft-cli.ts";

type Obj = Record<string, any>;
const TEMPLATE_PATHS: Record<string, string[]> = {
  Deployment: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  Job: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
};

/** Pods and pod templates in document order, each with the namespace it would be created in. */
function podUnits(text: string): { pod: V1Pod; namespace: string }[] {
  const objects = parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .flatMap((o) => (o?.kind === "List" ? (o.items as Obj[]) : o ? [o] : []));
  const out: { pod: V1Pod; namespace: string }[] = [];
  for (const o of objects) {
    const namespace = o.metadata?.namespace ?? "default";
    if (o.kind === "Pod") out.push({ pod: o as V1Pod, namespace });
    const path = TEMPLATE_PATHS[o.kind];
    if (path) out.push({ pod: path.reduce((cur: Obj, key) => cur[key], o) as V1Pod, namespace });
  }
  return out;
}

function namespaceLabels(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const d of parseAllDocuments(text)) {
    const o = d.toJS() as Obj | null;
    for (const x of o?.kind === "List" ? o.items : [o]) if (x?.kind === "Namespace") out[x.metadata.name] = x.metadata.labels ?? {};
  }
  return out;
}

describe("weft inject and the webhook agree", function () {
  this.timeout(120_000);

  for (const name of goldenCases()) {
    it(`on ${name}.yaml`, async () => {
      const input = readFileSync(join(GOLDEN_DIR, `${name}.yaml`), "utf8");
      const configFile = caseConfigFile(name);
      const cli = await weft(["inject", "--config", configFile], input);
      assert.equal(cli.code, 0, cli.stderr);
      const inputs = podUnits(input);
      const outputs = podUnits(cli.stdout);
      assert.equal(outputs.length, inputs.length);
      // Offline, namespaces not in the input count as enabled; tell the webhook the same.
      const labels = namespaceLabels(input);
      for (const u of inputs) labels[u.namespace] ??= { "weft.io/inject": "enabled" };
      let t: TestWebhook | undefined;
      try {
        t = await startTestWebhook({ namespaces: new StaticNamespaceSource(labels), config: readFileSync(configFile, "utf8") });
        for (const [i, u] of inputs.entries()) {
          const res = await post(t.webhook.port, t.ca, JSON.stringify(podReview(u.pod, u.namespace)));
          assert.equal(res.status, 200);
          assert.equal(res.json.response.allowed, true);
          const stored = fjp.applyPatch(structuredClone(u.pod), responsePatch(res.json), true, false).newDocument;
          assert.deepStrictEqual(stored, outputs[i]!.pod, `${name}: pod ${i} differs between the webhook and weft inject`);
        }
      } finally {
        await t?.stop();
      }
    });
  }
});
