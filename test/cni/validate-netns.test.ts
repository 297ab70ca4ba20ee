// weft-validate in real network namespaces, unprivileged (the UID the
// injector gives it): with the capture rules written into the namespace from
// outside (as the CNI plugin does, through nsenter on its path) it proves the
// redirect and exits 0; without them it exits 1 and says why.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { applyCapture, readNatTable } from "../../sidecar/src/capture/apply.ts";
import { captureInstalled, defaultCaptureOptions } from "../../sidecar/src/capture/rules.ts";
import { VALIDATOR_UID } from "../../webhook/src/proxy-spec.ts";
import { NetnsLab, NODE, skipWithoutNetns, type Link } from "../netns/lab.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const validateMain = `${root}cni/src/validate-main.ts`;
const OUTBOUND = defaultCaptureOptions().outboundPort;

describe("weft-validate in network namespaces", function () {
  this.timeout(60_000);
  const lab = new NetnsLab();
  let link: Link;
  let bareLink: Link;
  let captured = "";
  let bare = "";

  before(function () {
    skipWithoutNetns(this);
    captured = lab.namespace("cni-pod");
    bare = lab.namespace("cni-bare");
    const peer = lab.namespace("cni-peer");
    link = lab.link(captured, peer);
    bareLink = lab.link(bare, peer);
  });
  after(() => lab.cleanup());

  function validate(ns: string, target: string): { status: number | null; out: string } {
    const r = lab.tryExec(ns, "setpriv", ["--reuid", String(VALIDATOR_UID), "--regid", String(VALIDATOR_UID), "--clear-groups", NODE, validateMain, "--outbound-port", String(OUTBOUND), "--target", target, "--timeout-ms", "3000"]);
    return { status: r.status, out: r.stdout + r.stderr };
  }

  it("rules written from outside the namespace by path (the plugin's way) are the generator's rules", () => {
    const applied = applyCapture(defaultCaptureOptions(), { netns: `/run/netns/${captured}` });
    assert.ok(applied.ok, applied.ok ? "" : applied.message);
    const save = readNatTable("ipv4", { netns: `/run/netns/${captured}` });
    assert.ok(save.ok && captureInstalled(save.value));
    const other = readNatTable("ipv4", { netns: `/run/netns/${bare}` });
    assert.ok(other.ok && !captureInstalled(other.value));
  });

  it("passes, unprivileged, when outbound TCP is redirected to the proxy's port", () => {
    const r = validate(captured, `${link.bAddr}:9`);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /is redirected to port 4140/);
  });

  it("fails with a readable reason when nothing redirects", () => {
    const target = `${bareLink.bAddr}:9`;
    const r = validate(bare, target);
    assert.equal(r.status, 1, r.out);
    assert.ok(r.out.includes(`not-redirected: connecting to ${target} failed`), r.out);
    assert.match(r.out, /is the weft-cni DaemonSet running on this node/);
  });

  it("refuses bad flags with usage", () => {
    const r = validate(bare, "nonsense");
    assert.equal(r.status, 2, r.out);
    assert.match(r.out, /usage: weft-validate/);
  });
});
