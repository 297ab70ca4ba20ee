// HTTP client app for e2e pods: `node test/images/apps/http-get.ts <url> [--every ms]
// [--count n]` GETs the URL, one JSON line per attempt (status or error, duration),
// so a test reads the pod's log to see what the mesh did to its requests.
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { every: { type: "string", default: "1000" }, count: { type: "string", default: "0" }, timeout: { type: "string", default: "5000" } },
});
const url = positionals[0];
if (url === undefined) {
  console.error("usage: http-get.ts <url> [--every ms] [--count n (0: forever)] [--timeout ms]");
  process.exit(2);
}
const every = Number(values.every);
const count = Number(values.count);
const timeout = Number(values.timeout);

for (let i = 1; count === 0 || i <= count; i++) {
  const started = Date.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeout) });
    const body = await res.text();
    console.log(JSON.stringify({ attempt: i, status: res.status, bytes: body.length, ms: Date.now() - started }));
  } catch (err) {
    console.log(JSON.stringify({ attempt: i, error: (err as Error).message, ms: Date.now() - started }));
  }
  if (count === 0 || i < count) await new Promise((r) => setTimeout(r, every));
}
