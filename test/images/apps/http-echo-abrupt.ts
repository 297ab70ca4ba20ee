// The echo app as many real apps behave in a container: on SIGTERM it exits at once,
// dropping whatever it was serving (node as PID 1 would otherwise ignore SIGTERM and
// keep serving until the kubelet's SIGKILL, a drain the mesh would get for free).
// `node test/images/apps/http-echo-abrupt.ts --port 8080 --host 0.0.0.0`
import { startHttpEcho } from "../../fixtures/apps/http-echo.ts";
import { runAsMain } from "../../fixtures/apps/app-args.ts";

const main = runAsMain(import.meta.url);
if (main) {
  await startHttpEcho(main.port, main.host, main.name);
  process.on("SIGTERM", () => process.exit(0));
  process.stdout.write(`${JSON.stringify({ app: "http-echo-abrupt", port: main.port })}\n`);
}
