// A request from inside a meshed pod's app container (kubectl exec, Node's
// fetch), retried until the answer carries the caller's identity as the
// server's proxy verified it: the mesh is up between the two pods.
import type { TestCluster } from "../cluster/cluster.ts";
import { waitFor } from "../support/wait.ts";

/** The body of the first answer from `url` that names a verified client (weft-client-id); throws with the last answer. */
export async function fetchThroughMesh(c: TestCluster, namespace: string, pod: string, url: string): Promise<string> {
  let body = "";
  await waitFor("a request through the mesh", async () => {
    const r = await c.kubectl(["exec", "-n", namespace, pod, "-c", "app", "--", "node", "-e",
      `fetch(${JSON.stringify(url)}).then((r) => r.text()).then((t) => console.log(t), (e) => console.log(String(e)))`]);
    body = r.stdout + r.stderr;
    return body.includes("weft-client-id");
  }, { timeoutMs: 120_000, intervalMs: 2000 }).catch((err: unknown) => {
    throw new Error(`${String(err)}; last answer: ${body}`);
  });
  return body;
}
