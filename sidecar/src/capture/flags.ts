// Flags of the capture init step (`weft-proxy-init`, `weft capture`), parsed
// into one validated CaptureOptions; bad flags are a value, not a throw.
import { parseArgs } from "node:util";
import { fail, ok, type Result } from "../../../lib/result.ts";
import { defaultCaptureOptions, parsePortList, validateCaptureOptions, type CaptureOptions } from "./rules.ts";

export interface CaptureCommand {
  options: CaptureOptions;
  remove: boolean;
  dryRun: boolean;
}

export const CAPTURE_USAGE = `usage: weft-proxy-init [--inbound-port N] [--outbound-port N] [--admin-port N] [--proxy-uid N]
                       [--exclude-inbound-ports LIST] [--exclude-outbound-ports LIST] [--ipv6] [--remove] [--dry-run]
  LIST is comma-separated ports or ranges, e.g. 22,8000-8010`;

function number(name: string, text: string | undefined, fallback: number): Result<number> {
  if (text === undefined) return ok(fallback);
  if (!/^\d+$/.test(text)) return fail("bad-flag", `--${name}: "${text}" is not a number`);
  return ok(Number(text));
}

export function parseCaptureFlags(argv: string[]): Result<CaptureCommand> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      options: {
        "inbound-port": { type: "string" },
        "outbound-port": { type: "string" },
        "admin-port": { type: "string" },
        "proxy-uid": { type: "string" },
        "exclude-inbound-ports": { type: "string" },
        "exclude-outbound-ports": { type: "string" },
        ipv6: { type: "boolean" },
        remove: { type: "boolean" },
        "dry-run": { type: "boolean" },
      },
    });
  } catch (error) {
    return fail("bad-flag", error instanceof Error ? error.message : String(error));
  }
  const v = parsed.values;
  const d = defaultCaptureOptions();
  const inbound = number("inbound-port", v["inbound-port"], d.inboundPort);
  if (!inbound.ok) return inbound;
  const outbound = number("outbound-port", v["outbound-port"], d.outboundPort);
  if (!outbound.ok) return outbound;
  const admin = number("admin-port", v["admin-port"], d.adminPort);
  if (!admin.ok) return admin;
  const uid = number("proxy-uid", v["proxy-uid"], d.proxyUid);
  if (!uid.ok) return uid;
  const exIn = parsePortList(v["exclude-inbound-ports"] ?? "");
  if (!exIn.ok) return exIn;
  const exOut = parsePortList(v["exclude-outbound-ports"] ?? "");
  if (!exOut.ok) return exOut;
  const options = validateCaptureOptions({
    inboundPort: inbound.value,
    outboundPort: outbound.value,
    adminPort: admin.value,
    proxyUid: uid.value,
    excludeInboundPorts: exIn.value,
    excludeOutboundPorts: exOut.value,
    family: v.ipv6 ? "ipv6" : "ipv4",
  });
  if (!options.ok) return options;
  return ok({ options: options.value, remove: v.remove ?? false, dryRun: v["dry-run"] ?? false });
}
