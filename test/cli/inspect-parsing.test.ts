// The pure pieces every inspection command shares: resources as kubectl users
// write them, kubectl's flags, the output formats, and the command table the
// completion script completes.
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { WEFT_VERSION } from "../../lib/weft-version.ts";
import { commands } from "../../cli/src/commands.ts";
import { COMMAND_NAMES, completionScript } from "../../cli/src/completion-script.ts";
import { parseKubeArgs } from "../../cli/src/kube-flags.ts";
import { parseResource } from "../../cli/src/kube-resource.ts";
import { formatOutput, formatTable, shortDuration } from "../../cli/src/output-format.ts";

describe("inspection commands: resource, flag and output parsing", () => {
  it("reads pod/x, po/x, deploy/x, deployment.apps/x and bare pod names", () => {
    assert.deepEqual(parseResource("web-1"), { ok: true, value: { kind: "pod", name: "web-1" } });
    assert.deepEqual(parseResource("pod/web-1"), { ok: true, value: { kind: "pod", name: "web-1" } });
    assert.deepEqual(parseResource("po/web-1"), { ok: true, value: { kind: "pod", name: "web-1" } });
    assert.deepEqual(parseResource("deploy/web"), { ok: true, value: { kind: "deployment", name: "web" } });
    assert.deepEqual(parseResource("Deployment/web"), { ok: true, value: { kind: "deployment", name: "web" } });
    assert.deepEqual(parseResource("deployments.apps/web"), { ok: true, value: { kind: "deployment", name: "web" } });
  });

  it("refuses other kinds and invalid names with a reason", () => {
    for (const bad of ["svc/web", "ns/x", "pod/", "pod/Web", "pod/a/b", "-x", ""]) {
      const r = parseResource(bad);
      assert.equal(r.ok, false, bad);
      if (!r.ok) assert.equal(r.code, "bad-resource");
    }
  });

  it("parses kubectl's flags and refuses an unknown -o", () => {
    const r = parseKubeArgs(["pod/x", "--kubeconfig", "/k", "--context", "c", "-n", "shop", "-o", "wide", "certs"]);
    assert.ok(r.ok);
    assert.deepEqual(r.value.kube, { kubeconfig: "/k", context: "c", namespace: "shop", allNamespaces: false, output: "wide" });
    assert.deepEqual(r.value.positionals, ["pod/x", "certs"]);
    const all = parseKubeArgs(["-A"]);
    assert.ok(all.ok);
    assert.equal(all.value.kube.allNamespaces, true);
    const bad = parseKubeArgs(["-o", "xml"]);
    assert.equal(bad.ok, false);
    assert.equal(parseKubeArgs(["--nope"]).ok, false);
  });

  it("aligns table columns, shows wide columns only with -o wide, and prints the same data as JSON and YAML", () => {
    const cols = [{ header: "A", value: (r: { a: string; b: string }) => r.a }, { header: "LONG B", value: (r: { a: string; b: string }) => r.b, wide: true }];
    const rows = [{ a: "xxxx", b: "1" }, { a: "y", b: "22" }];
    assert.equal(formatTable(cols, rows), "A\nxxxx\ny\n");
    assert.equal(formatTable(cols, rows, true), "A     LONG B\nxxxx  1\ny     22\n");
    assert.deepEqual(JSON.parse(formatOutput("json", rows, () => "")), rows);
    assert.deepEqual(parse(formatOutput("yaml", rows, () => "")), rows);
  });

  it("writes durations short", () => {
    assert.equal(shortDuration(41), "41s");
    assert.equal(shortDuration(3000), "50m0s");
    assert.equal(shortDuration(61320), "17h2m");
    assert.equal(shortDuration(90000), "1d1h");
    assert.equal(shortDuration(-120), "-2m0s");
  });

  it("completes every command of the table, and the version matches package.json", () => {
    assert.deepEqual([...COMMAND_NAMES].sort(), Object.keys(commands).sort());
    const bash = completionScript("bash", COMMAND_NAMES);
    assert.match(bash, /complete -o default -F _weft weft/);
    assert.match(bash, /proxy-config\) opts="[^"]*endpoints/);
    assert.match(completionScript("zsh", COMMAND_NAMES), /^#compdef weft/);
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    assert.equal(WEFT_VERSION, pkg.version);
  });
});
