// nginx for the proxy benchmark: the 1 KB backend, and the comparison pair
// (a client-side proxy that originates mTLS, a server-side proxy that demands
// it), each a single process (master_process off) so its CPU and RSS are one
// /proc entry. Debian's nginx-light has the http proxy and ssl modules.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pinned } from "./lib-proxy-measure.ts";

export const RESPONSE_BYTES = 1024;

export interface NginxProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  port: number;
}

function common(dir: string): string {
  return [
    "daemon off;",
    "master_process off;",
    "worker_processes 1;",
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    "events { worker_connections 4096; }",
  ].join("\n");
}

function httpCommon(dir: string): string {
  return [
    "access_log off;",
    `client_body_temp_path ${dir}/body;`,
    `proxy_temp_path ${dir}/proxy;`,
    `fastcgi_temp_path ${dir}/fastcgi;`,
    `uwsgi_temp_path ${dir}/uwsgi;`,
    `scgi_temp_path ${dir}/scgi;`,
    "keepalive_requests 1000000;",
    "keepalive_timeout 120s;",
    "tcp_nodelay on;",
  ].join("\n  ");
}

export function backendConfig(dir: string, port: number): string {
  const body = "x".repeat(RESPONSE_BYTES);
  return `${common(dir)}
http {
  ${httpCommon(dir)}
  server {
    listen 127.0.0.1:${port} reuseport;
    location / { default_type text/plain; return 200 "${body}"; }
  }
}
`;
}

export interface PairFiles {
  clientCert: string;
  clientKey: string;
  serverCert: string;
  serverKey: string;
  anchors: string;
}

/** The client-side proxy: plaintext HTTP in, mTLS out to the server-side proxy, upstream keep-alive. */
export function clientProxyConfig(dir: string, port: number, serverProxyPort: number, f: PairFiles): string {
  return `${common(dir)}
http {
  ${httpCommon(dir)}
  upstream peer { server 127.0.0.1:${serverProxyPort}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass https://peer;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_certificate ${f.clientCert};
      proxy_ssl_certificate_key ${f.clientKey};
      proxy_ssl_trusted_certificate ${f.anchors};
      # Mesh certificates carry only a SPIFFE URI, which nginx cannot match; the
      # chain is still verified by the server side, and with keep-alive the
      # handshake is off the measured path either way.
      proxy_ssl_verify off;
      proxy_ssl_session_reuse on;
      proxy_ssl_protocols TLSv1.3;
    }
  }
}
`;
}

/** The server-side proxy: mTLS in (client certificate required and verified against the anchors), plaintext to the backend. */
export function serverProxyConfig(dir: string, port: number, backendPort: number, f: PairFiles): string {
  return `${common(dir)}
http {
  ${httpCommon(dir)}
  upstream app { server 127.0.0.1:${backendPort}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_protocols TLSv1.3;
    ssl_certificate ${f.serverCert};
    ssl_certificate_key ${f.serverKey};
    ssl_client_certificate ${f.anchors};
    ssl_verify_client on;
    ssl_verify_depth 3;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/** Starts nginx with `config` (pinned to `cpus` with taskset) and resolves once it accepts connections. */
export async function startNginx(name: string, dir: string, config: string, port: number, cpus: string, waitForPort: (port: number) => Promise<void>): Promise<NginxProcess> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "nginx.conf");
  writeFileSync(file, config);
  const [command, args] = pinned(cpus, ["nginx", "-p", dir, "-c", file]);
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
  const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`nginx ${name} exited (${code}): ${stderr}`))));
  await Promise.race([waitForPort(port), exited]);
  if (child.pid === undefined) throw new Error(`nginx ${name} did not start`);
  return { name, child, pid: child.pid, port };
}
