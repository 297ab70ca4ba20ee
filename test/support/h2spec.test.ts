import { strict as assert } from "node:assert";
import { parseH2specJunit } from "./h2spec.ts";

// Shaped like h2spec 2.2.1's own report: failures come as <error>, numbers are positions.
const REPORT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="5.1. Stream States" package="http2/5.1" id="5.1" tests="3" skipped="0" failures="0" errors="1">
    <testcase package="http2/5.1" classname="idle: Sends a DATA frame" time="0.0016"></testcase>
    <testcase package="http2/5.1" classname="closed: Sends a DATA frame after sending RST_STREAM frame" time="2.0011">
      <error>GOAWAY Frame (Error Code: STREAM_CLOSED)
Timeout</error>
    </testcase>
    <testcase package="http2/5.1" classname="Sends &#34;x&#34; &amp; more" time="0.0010"></testcase>
  </testsuite>
  <testsuite name="5.1.2. Stream Concurrency" package="http2/5.1.2" id="5.1.2" tests="1" skipped="1" failures="0" errors="0">
    <testcase package="http2/5.1.2" classname="Sends HEADERS frames that causes their advertised concurrent stream limit to be exceeded" time="0.0000">
      <skipped></skipped>
    </testcase>
  </testsuite>
</testsuites>`;

describe("h2spec's JUnit report", () => {
  it("numbers cases by position in their section and reads failures, skips and escapes", () => {
    assert.deepEqual(parseH2specJunit(REPORT), [
      { id: "http2/5.1/1", description: "idle: Sends a DATA frame", outcome: "passed", detail: "" },
      { id: "http2/5.1/2", description: "closed: Sends a DATA frame after sending RST_STREAM frame", outcome: "failed", detail: "GOAWAY Frame (Error Code: STREAM_CLOSED)\nTimeout" },
      { id: "http2/5.1/3", description: 'Sends "x" & more', outcome: "passed", detail: "" },
      { id: "http2/5.1.2/1", description: "Sends HEADERS frames that causes their advertised concurrent stream limit to be exceeded", outcome: "skipped", detail: "" },
    ]);
  });
});
