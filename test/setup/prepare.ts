// Brings a fresh machine to the point where `npm test` can run: Debian packages
// the tests drive for real (iptables, tcpdump, nginx, ...) and, through the
// steps registered below, anything that must be built once and cached.
// Every step says what it does, and does nothing when its work is already there.
import { execFileSync, spawnSync } from "node:child_process";
import { ensureKubernetesBinaries } from "./kubernetes-binaries.ts";
import { startConformanceBuilds } from "./conformance-binaries.ts";
import { startPrometheusBuild } from "./prometheus-binary.ts";

const DEBIAN_PACKAGES: Record<string, string> = {
  // command that proves the package is present -> Debian package that provides it
  iptables: "iptables",
  tcpdump: "tcpdump",
  nginx: "nginx-light",
  wrk: "wrk",
  h2load: "nghttp2-client",
  openssl: "openssl",
  ip: "iproute2",
  // the test cluster's node (test/cluster/node.ts)
  containerd: "containerd",
  runc: "runc",
  "/usr/lib/cni/bridge": "containernetworking-plugins",
  busybox: "busybox-static",
  // the dashboard's browser tests (test/dashboard, test/e2e/dashboard-on-node.ts), driven by puppeteer-core
  chromium: "chromium",
  "firefox-esr": "firefox-esr",
};

function has(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

export function ensureDebianPackages(wanted: Record<string, string>): void {
  const missing = Object.entries(wanted).filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.warn(`[prepare] not root: cannot install ${missing.join(" ")}; tests that need them will fail`);
    return;
  }
  console.log(`[prepare] installing Debian packages: ${missing.join(" ")}`);
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}

ensureDebianPackages(DEBIAN_PACKAGES);
// test/conformance: the Gateway API suite, its echo image and CoreDNS, built beside the steps below
const conformanceBuilds = startConformanceBuilds();
// test/prometheus: Prometheus for the metrics tests and the chart's prometheus.enabled, beside them too
const prometheusBuild = startPrometheusBuild();
ensureKubernetesBinaries();
await import("./fortio-binary.ts"); // bench/lib-proxy-fortio.ts: the proxy benchmark's load generator
await import("./jaeger-binary.ts"); // test/tracing: the Jaeger v2 backend the tracing tests start
await import("./netns-tools.ts"); // test/netns: curl and setpriv for the network-namespace tests
await import("./h2spec-binary.ts"); // test/sidecar/h2spec.test.ts: the HTTP/2 conformance checker
await conformanceBuilds;
await prometheusBuild;
