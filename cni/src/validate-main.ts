#!/usr/bin/env node
// weft-validate: the init container CNI mode injects instead of
// weft-proxy-init. Unprivileged; exits 0 when the pod's outbound TCP is
// redirected to the proxy's port, and 1 with a readable reason otherwise.
import { parseArgs } from "node:util";
import { parseTarget, validateRedirect } from "./validate.ts";

export const VALIDATE_USAGE = "usage: weft-validate --outbound-port N --target HOST:PORT [--timeout-ms N]";

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: { "outbound-port": { type: "string" }, target: { type: "string" }, "timeout-ms": { type: "string", default: "10000" } } }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${VALIDATE_USAGE}`);
    return 2;
  }
  const port = Number(values["outbound-port"]);
  const timeoutMs = Number(values["timeout-ms"]);
  const target = parseTarget(values.target ?? "");
  if (!Number.isInteger(port) || port < 1 || port > 65535 || !target.ok || !Number.isInteger(timeoutMs) || timeoutMs < 1) {
    console.error(`${target.ok ? "bad --outbound-port or --timeout-ms" : target.message}\n${VALIDATE_USAGE}`);
    return 2;
  }
  const result = await validateRedirect({ outboundPort: port, target: target.value, timeoutMs });
  if (!result.ok) {
    console.error(`weft-validate: ${result.code}: ${result.message}`);
    return 1;
  }
  console.log(`weft-validate: outbound TCP to ${values.target} is redirected to port ${port}`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
