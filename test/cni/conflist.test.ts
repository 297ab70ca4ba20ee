// The conflist edits as data: weft-cni appended once after the primary plugin
// and its chain, re-appended last when a rewrite moved it, taken out leaving
// the rest as it was; which file the runtime uses.
import assert from "node:assert/strict";
import { hasPlugin, insertPlugin, pickConflist, removePlugin, type PluginEntry } from "../../cni/src/conflist.ts";

const ENTRY: PluginEntry = { type: "weft-cni", kubeconfig: "/opt/cni/bin/weft-cni.d/kubeconfig" };
const BRIDGE = JSON.stringify({ cniVersion: "0.4.0", name: "k8s", plugins: [{ type: "bridge", bridge: "cni0" }, { type: "portmap", capabilities: { portMappings: true } }] }, null, 2);

function types(text: string): string[] {
  return (JSON.parse(text) as { plugins: { type: string }[] }).plugins.map((p) => p.type);
}

describe("weft-cni in the node's conflist", () => {
  it("is appended after every plugin already in the chain, keeping the file's indentation", () => {
    const edit = insertPlugin(BRIDGE, ENTRY);
    assert.ok(edit.ok && edit.value.changed);
    assert.deepEqual(types(edit.value.text), ["bridge", "portmap", "weft-cni"]);
    assert.match(edit.value.text, /\n {2}"cniVersion"/);
    assert.ok(hasPlugin(edit.value.text, ENTRY));
  });

  it("is not appended twice", () => {
    const once = insertPlugin(BRIDGE, ENTRY);
    assert.ok(once.ok);
    const twice = insertPlugin(once.value.text, ENTRY);
    assert.ok(twice.ok);
    assert.equal(twice.value.changed, false);
    assert.equal(twice.value.text, once.value.text);
  });

  it("moves back to the end when a rewrite put a plugin after it, and replaces an entry with an old kubeconfig", () => {
    const moved = JSON.stringify({ cniVersion: "0.4.0", name: "k8s", plugins: [{ type: "bridge" }, { type: "weft-cni", kubeconfig: "/old" }, { type: "portmap" }] });
    const edit = insertPlugin(moved, ENTRY);
    assert.ok(edit.ok && edit.value.changed);
    assert.deepEqual(types(edit.value.text), ["bridge", "portmap", "weft-cni"]);
    assert.ok(hasPlugin(edit.value.text, ENTRY));
  });

  it("leaves, and the rest of the list is as it was", () => {
    const edit = insertPlugin(BRIDGE, ENTRY);
    assert.ok(edit.ok);
    const removed = removePlugin(edit.value.text);
    assert.ok(removed.ok && removed.value.changed);
    assert.equal(removed.value.text, BRIDGE);
    const again = removePlugin(BRIDGE);
    assert.ok(again.ok && !again.value.changed);
  });

  it("refuses a file that is not a conflist with a reason", () => {
    for (const bad of ["not json", "{}", '{"plugins": 3}']) {
      const edit = insertPlugin(bad, ENTRY);
      assert.ok(!edit.ok);
      assert.equal(edit.code, "bad-conflist");
    }
  });

  it("picks the file the runtime loads: the lexically first config, which must be a .conflist", () => {
    assert.deepEqual(pickConflist(["20-b.conflist", "10-a.conflist", "README"]), { ok: true, value: "10-a.conflist" });
    const single = pickConflist(["05-single.conf", "10-a.conflist"]);
    assert.ok(!single.ok && single.code === "not-a-conflist");
    const none = pickConflist([".hidden.conflist", "notes.txt"]);
    assert.ok(!none.ok && none.code === "no-conflist");
  });
});
