// A throw-away self-signed certificate for loopback HTTPS servers in tests (webhooks).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface SelfSigned {
  cert: string;
  key: string;
}

export function selfSignedCertificate(ipAddress = "127.0.0.1"): SelfSigned {
  const dir = mkdtempSync(join(tmpdir(), "weft-cert-"));
  try {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-subj", "/CN=weft-test", "-addext", `subjectAltName=IP:${ipAddress},DNS:localhost`,
      "-days", "2", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
    ], { stdio: "ignore" });
    return { cert: readFileSync(join(dir, "cert.pem"), "utf8"), key: readFileSync(join(dir, "key.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
