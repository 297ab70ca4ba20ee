// Probe for the discovery benchmark's memory figures (docs/benchmarks.md,
// "Discovery", 2026-12-07): the RSS per connection of a Node mTLS server, plain
// TLS or HTTP/2 with one open stream, N client connections from a child
// process; optionally after writing BIG bytes to every stream (as the control
// plane writes a full snapshot), CONC streams at a time, in CHUNK-byte writes,
// with the server's TLS fragments at most FRAG bytes and the clients' stream
// window WIN bytes.
//
//   GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072 \
//   BIG=1200000 WIN=16384 node --expose-gc --max-semi-space-size=2 bench/discovery-tls-probe.ts h2 500
//
// "tls" mode is for idle connections only (BIG=0): its clients do not read.
import { fork } from "node:child_process";
import tls from "node:tls";
import http2 from "node:http2";
import { createTestMesh, issueTestLeaf } from "../test/fixtures/mesh-pki.ts";
const mode = process.argv[2] ?? "tls";
const n = Number(process.argv[3] ?? 500);
if (process.argv[4] === "client") {
  const cfg = JSON.parse(process.env.CFG!);
  const socks: unknown[] = [];
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve) => {
      if (mode === "tls") {
        const s = tls.connect({ port: cfg.port, host: "127.0.0.1", key: cfg.key, cert: cfg.cert, ca: cfg.ca, checkServerIdentity: () => undefined }, () => resolve());
        socks.push(s);
      } else {
        const s = http2.connect(`https://127.0.0.1:${cfg.port}`, { ...(process.env.WIN ? { settings: { initialWindowSize: Number(process.env.WIN) } } : {}), key: cfg.key, cert: cfg.cert, ca: cfg.ca, checkServerIdentity: () => undefined });
        s.on("connect", () => { const st = s.request({ ":path": "/", ":method": "POST" }); st.write("hi"); st.on("data", () => {}); resolve(); });
        socks.push(s);
      }
    });
  }
  process.send!("done");
  setInterval(() => {}, 1000);
} else {
  const pki = await createTestMesh();
  const srv = await issueTestLeaf(pki, { namespace: "a", serviceAccount: "s" });
  const cli = await issueTestLeaf(pki, { namespace: "a", serviceAccount: "c" });
  const opts = { key: srv.keyPem, cert: srv.certChainPem, ca: srv.anchorsPem, requestCert: true, rejectUnauthorized: true };
  const streams: unknown[] = [];
  const socks: tls.TLSSocket[] = [];
  const server = mode === "tls" ? tls.createServer(opts, (s) => { socks.push(s); s.on("data", () => {}); }) : http2.createSecureServer({ ...opts, ...(mode === "h2small" ? { settings: { headerTableSize: 0 }, maxSessionMemory: 1 } : {}) });
  if (mode !== "tls") (server as http2.Http2SecureServer).on("stream", (st) => { streams.push(st); st.respond({ ":status": 200 }); st.write("x"); st.on("data", () => {}); });
  if (process.env.FRAG) server.on("secureConnection", (s: tls.TLSSocket) => s.setMaxSendFragment(Number(process.env.FRAG)));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const child = fork(new URL(import.meta.url).pathname, [mode, String(n), "client"], { env: { ...process.env, CFG: JSON.stringify({ port, key: cli.keyPem, cert: cli.certChainPem, ca: cli.anchorsPem }) } });
  await new Promise((r) => child.once("message", r));
  const big = Number(process.env.BIG ?? 0);
  if (big > 0) {
    const all = (mode === "tls" ? socks : streams) as http2.ServerHttp2Stream[];
    let i = 0;
    const worker = async () => {
      while (i < all.length) {
        const st = all[i++]!;
        const chunk = Number(process.env.CHUNK ?? big);
        for (let off = 0; off < big; off += chunk) await new Promise<void>((r) => st.write(Buffer.alloc(Math.min(chunk, big - off), 1), () => r()));
      }
    };
    await Promise.all(Array.from({ length: Number(process.env.CONC ?? 8) }, worker));
  }
  await new Promise((r) => setTimeout(r, 1000));
  global.gc?.();
  await new Promise((r) => setTimeout(r, 500));
  const m = process.memoryUsage();
  console.log(mode, n, "RSS/conn KiB", ((m.rss - rss0) / 1024 / n).toFixed(1), "heap", (m.heapUsed / 1048576).toFixed(1), "ext", (m.external / 1048576).toFixed(1), "ab", (m.arrayBuffers / 1048576).toFixed(1));
  child.kill();
  process.exit(0);
}
