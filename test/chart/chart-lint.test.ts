// `helm lint` finds nothing to complain about, in strict mode too.
import assert from "node:assert/strict";
import { CHART, helm, helmBinary } from "./helm.ts";

describe("chart: helm lint", function () {
  this.timeout(120_000);
  before(function () {
    if (helmBinary() === undefined) this.skip();
  });

  it("is clean with --strict", () => {
    const r = helm(["lint", "--strict", CHART]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    assert.doesNotMatch(r.stdout, /\[(WARNING|ERROR)\]/);
  });
});
