// The CLI's end of a tap, against a local HTTPS server standing in for the
// apiserver's aggregated tap API: events and notices are told apart, a stream
// that ends by itself is an error that says why, API refusals keep their exit
// codes, and the caller's abort ends it with success.
import { strict as assert } from "node:assert";
import type { ServerResponse } from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { EXIT } from "../../cli/src/exit-codes.ts";
import { endedText, streamTap } from "../../cli/src/tap-stream.ts";
import type { TapEvent } from "../../lib/tap-contract.ts";
import { selfSignedCertificate } from "../cluster/self-signed.ts";

const CERT = selfSignedCertificate();
const EVENT: TapEvent = { ts: 1, direction: "inbound", source: "", destination: "", method: "GET", authority: "a", path: "/x", grpc: false, status: 200, latencyMs: 1, tls: true, pod: "ns/p" };

async function apiserver(answer: (res: ServerResponse) => void): Promise<{ kc: KubeConfig; close(): void }> {
  const server = https.createServer({ key: CERT.key, cert: CERT.cert }, (req, res) => {
    req.resume();
    answer(res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return {
    kc,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe("weft tap's stream", () => {
  const errors: string[] = [];
  const realError = console.error;
  beforeEach(() => {
    errors.length = 0;
    console.error = (...args: unknown[]) => void errors.push(args.join(" "));
  });
  afterEach(() => {
    console.error = realError;
  });

  it("passes events on, reports notices, and fails when every proxy went away, saying why", async () => {
    const api = await apiserver((res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`${JSON.stringify(EVENT)}\n`);
      res.write(`${JSON.stringify({ notice: "proxy-unreachable", pod: "ns/q", message: "10.0.0.9:4143: connect ECONNREFUSED" })}\n`);
      res.end("not json\n");
    });
    const seen: TapEvent[] = [];
    const outcome = await streamTap(api.kc, "/apis/tap.weft.io/v1alpha1/watch/namespaces/ns/pods/p/tap", {}, { event: (e) => seen.push(e) }, { command: "tap" });
    api.close();
    assert.equal(outcome.code, EXIT.error);
    assert.deepEqual(seen.map((e) => e.path), ["/x"]);
    assert.deepEqual(errors, [
      "weft tap: pod ns/q: 10.0.0.9:4143: connect ECONNREFUSED",
      "weft tap: the tap stream ended: pod ns/q: 10.0.0.9:4143: connect ECONNREFUSED",
    ]);
  });

  it("says no proxy could be tapped when none sent anything but notices", () => {
    assert.equal(endedText(0, [{ notice: "proxy-refused", pod: "a/b", message: "forbidden: x" }]), "no proxy could be tapped (pod a/b: forbidden: x)");
    assert.match(endedText(3, []), /every tapped proxy closed its connection/);
  });

  it("keeps the API's refusals: 403 names the permission, 404 exits notFound", async () => {
    const forbidden = await apiserver((res) => res.writeHead(403, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", message: "user u may not watch pods/tap" })));
    const r403 = await streamTap(forbidden.kc, "/x", {}, { event: () => undefined }, { command: "tap" });
    forbidden.close();
    assert.equal(r403.code, EXIT.error);
    assert.match(errors[0] ?? "", /^weft tap: forbidden: user u may not watch pods\/tap \(needs watch on pods\/tap/);
    const missing = await apiserver((res) => res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", message: "no running meshed pod for pods/p" })));
    const r404 = await streamTap(missing.kc, "/x", {}, { event: () => undefined }, { command: "top" });
    missing.close();
    assert.equal(r404.code, EXIT.notFound);
    assert.equal(errors[1], "weft top: no running meshed pod for pods/p");
  });

  it("ends with success when the caller stops it", async () => {
    const api = await apiserver((res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`${JSON.stringify(EVENT)}\n`);
    });
    const stop = new AbortController();
    const outcome = await streamTap(api.kc, "/x", {}, { event: () => stop.abort() }, { command: "top", signal: stop.signal });
    api.close();
    assert.equal(outcome.code, EXIT.ok);
    assert.equal(outcome.events, 1);
    assert.deepEqual(errors, []);
  });
});
