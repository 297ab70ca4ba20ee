// The aggregation layer's front-proxy PKI, made with openssl: a CA (the
// apiserver's --requestheader-client-ca-file) and client certificates it signs
// (the apiserver's --proxy-client-cert-file, or a test's own caller). An
// aggregated API server such as Weft's tap trusts X-Remote-* headers only from
// a client presenting such a certificate with an allowed CN.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** The CN of the apiserver's front-proxy client certificate (--requestheader-allowed-names). */
export const FRONT_PROXY_CLIENT_NAME = "front-proxy-client";

export interface CertFiles {
  cert: string;
  key: string;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A self-signed CA in `dir` as `<name>.crt` / `<name>.key`. */
export function writeFrontProxyCa(dir: string, name = "front-proxy-ca"): CertFiles {
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  execFileSync("openssl", [
    "req", "-x509", ...EC, "-subj", `/CN=${name}`, "-days", "7",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    "-keyout", files.key, "-out", files.cert,
  ], { stdio: "ignore" });
  return files;
}

/** A client certificate with CN `cn`, signed by `ca`, in `dir` as `<file>.crt` / `<file>.key`. */
export function writeFrontProxyClient(dir: string, ca: CertFiles, cn: string, file = cn): CertFiles {
  const files = { cert: join(dir, `${file}.crt`), key: join(dir, `${file}.key`) };
  const csr = join(dir, `${file}.csr`);
  const ext = join(dir, `${file}.ext`);
  writeFileSync(ext, "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n");
  execFileSync("openssl", ["req", "-new", ...EC, "-subj", `/CN=${cn}`, "-keyout", files.key, "-out", csr], { stdio: "ignore" });
  execFileSync("openssl", [
    "x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-days", "7", "-extfile", ext, "-out", files.cert,
  ], { stdio: "ignore" });
  return files;
}
