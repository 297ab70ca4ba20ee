import assert from "node:assert/strict";
import { parseGoTestOutput, parseReport, reportProblems, summaryLines, suiteTests } from "./suite-results.ts";

const OUTPUT = `=== RUN   TestMesh
=== RUN   TestMesh/MeshBasic
--- FAIL: TestMesh (12.00s)
    --- PASS: TestMesh/MeshBasic (3.01s)
    --- FAIL: TestMesh/MeshHTTPRouteMatching (8.50s)
        --- PASS: TestMesh/MeshHTTPRouteMatching/0_request_to_'/' (0.20s)
        --- FAIL: TestMesh/MeshHTTPRouteMatching/3_request_to_'/v2' (8.00s)
    --- SKIP: TestMesh/MeshHTTPRouteRewritePath (0.00s)
FAIL
`;

const REPORT = `apiVersion: gateway.networking.k8s.io/v1
kind: ConformanceReport
implementation: { organization: weft-mesh, project: weft, version: 0.1.0, url: u, contact: [c] }
gatewayAPIVersion: v1.6.3
gatewayAPIChannel: standard
mode: default
profiles:
- name: MESH-HTTP
  summary: Core tests failed with 1 test failures.
  core:
    result: failure
    statistics: { Passed: 1, Failed: 1, Skipped: 0 }
    failedTests: [MeshHTTPRouteMatching]
  extended:
    result: partial
    statistics: { Passed: 0, Failed: 0, Skipped: 1 }
    supportedFeatures: [MeshConsumerRoute]
- name: MESH-GRPC
  summary: Core tests succeeded.
  core:
    result: success
    statistics: { Passed: 2, Failed: 0, Skipped: 0 }
`;

describe("conformance suite results: go test -v lines and the report's verdict", () => {
  it("reads every test's outcome and time below TestMesh, subtests included, and keeps the suite's own tests apart", () => {
    const outcomes = parseGoTestOutput(OUTPUT);
    assert.equal(outcomes.length, 5);
    assert.deepEqual(suiteTests(outcomes).map((t) => `${t.outcome} ${t.name} ${t.seconds}`), [
      "PASS MeshBasic 3.01",
      "FAIL MeshHTTPRouteMatching 8.5",
      "SKIP MeshHTTPRouteRewritePath 0",
    ]);
    assert.deepEqual(summaryLines(outcomes), [
      "✔ PASS MeshBasic (3.0 s)",
      "✘ FAIL MeshHTTPRouteMatching (8.5 s)",
      "    ✘ 3_request_to_'/v2'",
      "1 passed, 1 failed, 1 skipped (features not claimed or not mesh)",
    ]);
  });

  it("fails a profile whose core tests failed or were skipped, or a claimed extended feature's failed test, and names missing profiles", () => {
    const report = parseReport(REPORT);
    assert.deepEqual(reportProblems(report, ["MESH-GRPC"]), []);
    const problems = reportProblems(report, ["MESH-HTTP", "MESH-GRPC", "HTTP"]);
    assert.equal(problems.length, 2);
    assert.match(problems[0] ?? "", /^MESH-HTTP core: failure \(failed: MeshHTTPRouteMatching/);
    assert.equal(problems[1], "HTTP: not in the report");
    const partialCore = parseReport(REPORT.replace("result: success", "result: partial"));
    assert.match(reportProblems(partialCore, ["MESH-GRPC"])[0] ?? "", /MESH-GRPC core: partial/);
    const failedExtended = parseReport(REPORT.replace("result: partial", "result: failure\n    failedTests: [MeshConsumerRoute]"));
    assert.match(reportProblems(failedExtended, ["MESH-HTTP"])[1] ?? "", /extended \(claims MeshConsumerRoute\): failed MeshConsumerRoute/);
  });
});
