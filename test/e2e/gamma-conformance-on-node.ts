// The official Gateway API conformance suite's Mesh profiles (GAMMA) against Weft, run
// inside mesh-on-node.test.ts's install: the chart installed the Gateway API CRDs
// (gatewayAPI.installCRDs), the node runs CoreDNS as kube-dns and has the suite's
// echo-advanced image (test/cluster/node.ts). The compiled suite
// (test/conformance/build.sh, wrapper test/conformance/suite/mesh_test.go) labels its
// namespaces weft.io/inject=enabled, so its echo pods get Weft's proxy, and calls
// between them by `kubectl exec` of the echo client go through it. Its report is kept in
// docs/conformance/, named with Weft's version and the Gateway API release.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestCluster } from "../cluster/cluster.ts";
import { GATEWAY_API_VERSION, componentBuilt, conformanceTestBinary } from "../conformance/paths.ts";
import { parseGoTestOutput, parseReport, reportProblems, suiteTests, summaryLines } from "../conformance/suite-results.ts";
import { startProcess } from "../support/process.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const WEFT_VERSION = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
const REPORT_PATH = join(root, "docs", "conformance", `weft-${WEFT_VERSION}-gateway-api-${GATEWAY_API_VERSION}.yaml`);

const PROFILES = ["MESH-HTTP", "MESH-GRPC"];
/**
 * What Weft claims: the profiles' core features, and every extended one whose tests
 * pass against Weft (all of them for v1.6.3's mesh tests). A test whose features are
 * not all here is skipped by the suite (and counted so in the report); a claimed one
 * that fails fails this test.
 */
const CLAIMED_FEATURES = [
  "Mesh",
  "HTTPRoute",
  "GRPCRoute",
  "MeshClusterIPMatching",
  "MeshConsumerRoute",
  "MeshHTTPRouteRewritePath",
  "MeshHTTPRouteSchemeRedirect",
  "MeshHTTPRouteRedirectPort",
  "MeshHTTPRouteRedirectPath",
  "MeshHTTPRouteBackendRequestHeaderModification",
  "MeshHTTPRouteQueryParamMatching",
  "MeshHTTPRouteNamedRouteRule",
  "HTTPRouteResponseHeaderModification",
  "HTTPRouteParentRefPort",
  "HTTPRoute303RedirectStatusCode",
  "HTTPRoute307RedirectStatusCode",
  "HTTPRoute308RedirectStatusCode",
];

export function describeGammaConformance(getCluster: () => TestCluster): void {
  describe("Gateway API conformance: the Mesh profiles (GAMMA)", function () {
    before(function () {
      if (!componentBuilt("suite") || getCluster().nodeHost?.clusterDns !== true) {
        console.warn("    needs the conformance suite, CoreDNS and the echo image (node test/setup/prepare.ts): skipping");
        this.skip();
      }
    });

    it(`passes MESH-HTTP and MESH-GRPC: every core test and every test of a claimed feature (report in docs/conformance/)`, async function () {
      this.timeout(50 * 60_000);
      const reportOut = join(tmpdir(), `weft-gamma-report-${process.pid}.yaml`);
      const args = [
        "-test.run", "TestMesh",
        "-test.v",
        "-test.timeout", "45m",
        `-conformance-profiles=${PROFILES.join(",")}`,
        `-supported-features=${CLAIMED_FEATURES.join(",")}`,
        "-namespace-labels=weft.io/inject=enabled",
        `-report-output=${reportOut}`,
        `-version=${WEFT_VERSION}`,
      ];
      const started = Date.now();
      const suite = startProcess("conformance.test", conformanceTestBinary(), args, {
        env: { KUBECONFIG: getCluster().kubeconfigPath },
        keepChars: 64 << 20,
      });
      const code = await suite.exited;
      const seconds = (Date.now() - started) / 1000;
      const log = join(tmpdir(), `weft-gamma-conformance-${process.pid}.log`);
      writeFileSync(log, suite.output);

      const outcomes = parseGoTestOutput(suite.output);
      console.log(`      conformance suite: exit ${String(code)} after ${seconds.toFixed(0)} s; full output in ${log}`);
      for (const line of summaryLines(outcomes)) console.log(`        ${line}`);

      let reportText: string;
      try {
        reportText = readFileSync(reportOut, "utf8");
      } catch {
        assert.fail(`the suite wrote no report (exit ${String(code)}):\n${suite.tail(6_000)}`);
      }
      mkdirSync(dirname(REPORT_PATH), { recursive: true });
      writeFileSync(REPORT_PATH, reportText);
      const report = parseReport(reportText);
      for (const p of report.profiles) console.log(`      ${p.name}: ${p.summary}`);
      assert.deepEqual(reportProblems(report, PROFILES), [], `the report (${REPORT_PATH}); output in ${log}`);
      // A test needing a feature outside the mesh profiles (the redirect status codes,
      // HTTPRouteResponseHeaderModification, HTTPRouteParentRefPort) runs when claimed but
      // is counted in no profile's report: its verdict comes from the suite's output.
      const failed = suiteTests(outcomes).filter((t) => t.outcome === "FAIL").map((t) => t.name);
      assert.deepEqual(failed, [], `tests failed; output in ${log}`);
      assert.ok(suiteTests(outcomes).some((t) => t.name === "MeshBasic" && t.outcome === "PASS"), `MeshBasic ran and passed; output in ${log}`);
      assert.equal(code, 0, `the suite failed outside its tests' verdicts; output in ${log}:\n${suite.tail(4_000)}`);
    });
  });
}
