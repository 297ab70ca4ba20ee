// PEM text: blocks in and out, and a bundle split into certificates. Apart from
// lib/pki.ts (which re-exports these) so that code reading certificates, such as
// the proxy's trust report, does not load the certificate-building library.
export interface PemBlock {
  label: string;
  der: Buffer;
}

/** Every PEM block in `text`, in order (other text between blocks is ignored). */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push({ label: m[1] ?? "", der: Buffer.from((m[2] ?? "").replace(/\s+/g, ""), "base64") });
  }
  return out;
}

export function derToPem(label: string, der: ArrayBuffer | Uint8Array): string {
  const b64 = Buffer.from(der instanceof ArrayBuffer ? new Uint8Array(der) : der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** Splits a PEM bundle (a chain or a trust bundle) into one PEM string per certificate. */
export function splitCertificates(bundle: string): string[] {
  return pemBlocks(bundle).filter((b) => b.label === "CERTIFICATE").map((b) => derToPem("CERTIFICATE", b.der));
}
