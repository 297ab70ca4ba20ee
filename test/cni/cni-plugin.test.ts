// The plugin's protocol and decisions with its I/O handed in: the CNI
// environment and stdin parsed into a request or a CNI error code; ADD writes
// capture only for pods the injector meshed in CNI mode and always answers
// with the previous result; failures carry the CNI error code and say which pod.
import assert from "node:assert/strict";
import { CNI_ERRORS, parseCniArgs, parseRequest, passThrough, type CniRequest } from "../../cni/src/cni-spec.ts";
import { captureRequest, handle, type PluginDeps, type PodMeta } from "../../cni/src/plugin.ts";
import { fail, ok } from "../../lib/result.ts";
import type { CaptureOptions } from "../../sidecar/src/capture/rules.ts";

const PREV = { cniVersion: "1.0.0", interfaces: [{ name: "eth0" }], ips: [{ address: "10.1.0.5/24", interface: 0 }] };
const CONF = { cniVersion: "1.0.0", name: "k8s", type: "weft-cni", kubeconfig: "/kc", prevResult: PREV };
const ENV = { CNI_COMMAND: "ADD", CNI_CONTAINERID: "abc", CNI_NETNS: "/run/netns/cni-1", CNI_IFNAME: "eth0", CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=abc" };
const MESHED: PodMeta = { labels: { "weft.io/meshed": "true" }, annotations: { "weft.io/cni-capture": JSON.stringify(["--inbound-port", "4143", "--outbound-port", "4140", "--proxy-uid", "2102", "--exclude-outbound-ports", "5432"]) } };

function request(env: Record<string, string> = ENV, conf: object = CONF): CniRequest {
  const r = parseRequest(env, JSON.stringify(conf));
  assert.ok(r.ok, r.ok ? "" : r.message);
  return r.value;
}

function fakeDeps(pod: PodMeta | Error, applied: { options: CaptureOptions; netns: string }[] = []): PluginDeps {
  return {
    readPod: async () => (pod instanceof Error ? fail("http", pod.message) : ok(pod)),
    applyCapture: (options, netns) => {
      applied.push({ options, netns });
      return ok("*nat\n");
    },
    captureInstalled: () => ok(applied.length > 0),
  };
}

describe("the weft-cni plugin's protocol and decisions", () => {
  it("reads the pod's namespace and name from CNI_ARGS", () => {
    assert.equal(parseCniArgs(ENV.CNI_ARGS).get("K8S_POD_NAME"), "web");
    assert.deepEqual(request().pod, { namespace: "shop", name: "web" });
  });

  it("refuses bad input with the spec's error codes", () => {
    const code = (env: Record<string, string>, stdin: string) => {
      const r = parseRequest(env, stdin);
      return r.ok ? "ok" : Number(r.code);
    };
    assert.equal(code({ ...ENV, CNI_COMMAND: "FROB" }, JSON.stringify(CONF)), CNI_ERRORS.invalidEnvironment);
    assert.equal(code(ENV, "{not json"), CNI_ERRORS.decodeFailure);
    assert.equal(code(ENV, JSON.stringify({ ...CONF, cniVersion: "0.1.0" })), CNI_ERRORS.incompatibleVersion);
    assert.equal(code(ENV, JSON.stringify({ ...CONF, kubeconfig: undefined })), CNI_ERRORS.invalidConfig);
    assert.equal(code({ ...ENV, CNI_NETNS: "" }, JSON.stringify(CONF)), CNI_ERRORS.invalidEnvironment);
    assert.equal(code({ CNI_COMMAND: "VERSION" }, JSON.stringify({ cniVersion: "1.0.0" })), "ok");
  });

  it("ADD for a meshed pod writes its capture rules in its netns, from the flags the injector wrote, and passes prevResult on", async () => {
    const applied: { options: CaptureOptions; netns: string }[] = [];
    const out = await handle(request(), fakeDeps(MESHED, applied));
    assert.ok(out.ok);
    assert.deepEqual(out.value, PREV);
    assert.equal(applied.length, 1);
    assert.equal(applied[0]?.netns, "/run/netns/cni-1");
    assert.deepEqual(applied[0]?.options.excludeOutboundPorts, [5432]);
    assert.equal(applied[0]?.options.proxyUid, 2102);
  });

  it("ADD for an unmeshed pod, or one meshed with weft-init, touches nothing", async () => {
    const pods: PodMeta[] = [{ labels: {}, annotations: {} }, { labels: { "weft.io/meshed": "true" }, annotations: {} }, { labels: {}, annotations: MESHED.annotations }];
    for (const pod of pods) {
      const applied: { options: CaptureOptions; netns: string }[] = [];
      const out = await handle(request(), fakeDeps(pod, applied));
      assert.ok(out.ok);
      assert.deepEqual(out.value, PREV);
      assert.equal(applied.length, 0);
    }
  });

  it("ADD outside Kubernetes (no K8S_POD_* args) passes through without asking the apiserver", async () => {
    const out = await handle(request({ ...ENV, CNI_ARGS: "" }), fakeDeps(new Error("must not be called")));
    assert.ok(out.ok);
  });

  it("fails the sandbox with a clear message when the pod cannot be read or its flags are bad", async () => {
    const unreadable = await handle(request(), fakeDeps(new Error("connect ECONNREFUSED 10.96.0.1:443")));
    assert.ok(!unreadable.ok);
    assert.equal(Number(unreadable.code), CNI_ERRORS.podUnreadable);
    assert.match(unreadable.message, /cannot read pod shop\/web: connect ECONNREFUSED/);
    const bad = await handle(request(), fakeDeps({ labels: MESHED.labels, annotations: { "weft.io/cni-capture": '["--inbound-port","x"]' } }));
    assert.ok(!bad.ok);
    assert.equal(Number(bad.code), CNI_ERRORS.badCaptureFlags);
    assert.match(bad.message, /shop\/web/);
    const deps = fakeDeps(MESHED);
    deps.applyCapture = () => fail("iptables-restore-failed", "iptables-restore: line 3 failed");
    const failed = await handle(request(), deps);
    assert.ok(!failed.ok);
    assert.equal(Number(failed.code), CNI_ERRORS.captureFailed);
    assert.match(failed.message, /line 3 failed/);
  });

  it("refuses capture flags that ask for removal or a dry run", () => {
    for (const flag of ["--remove", "--dry-run"]) {
      const r = captureRequest({ labels: MESHED.labels, annotations: { "weft.io/cni-capture": JSON.stringify([flag]) } });
      assert.ok(!r.ok);
    }
  });

  it("DEL succeeds with no output; CHECK reports a meshed pod without rules; VERSION lists the versions", async () => {
    const del = await handle(request({ ...ENV, CNI_COMMAND: "DEL" }), fakeDeps(new Error("not needed")));
    assert.deepEqual(del, { ok: true, value: null });
    const check = await handle(request({ ...ENV, CNI_COMMAND: "CHECK" }), fakeDeps(MESHED));
    assert.ok(!check.ok);
    assert.equal(Number(check.code), CNI_ERRORS.captureMissing);
    const version = await handle(request({ CNI_COMMAND: "VERSION" }, { cniVersion: "1.0.0" }), fakeDeps(MESHED));
    assert.ok(version.ok);
    assert.ok((version.value?.supportedVersions as string[]).includes("0.4.0"));
  });

  it("without a previous result answers an empty one in the configuration's version", () => {
    assert.deepEqual(passThrough({ cniVersion: "0.4.0", name: "n", type: "weft-cni", kubeconfig: "/kc" }), { cniVersion: "0.4.0", interfaces: [], ips: [] });
  });
});
