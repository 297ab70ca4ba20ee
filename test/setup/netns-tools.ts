// Set-up step: the commands the network-namespace tests (test/netns) drive
// beyond the shared list in prepare.ts: curl as an unmodified HTTP/1.1 and
// HTTP/2 client, setpriv to run processes as the proxy's UID.
import { execFileSync, spawnSync } from "node:child_process";

const WANTED: Record<string, string> = { curl: "curl", setpriv: "util-linux" };

const missing = Object.entries(WANTED)
  .filter(([cmd]) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status !== 0)
  .map(([, pkg]) => pkg);
if (missing.length > 0) {
  if (process.getuid?.() !== 0) {
    console.warn(`[prepare] not root: cannot install ${missing.join(" ")}; the netns tests will skip`);
  } else {
    console.log(`[prepare] installing Debian packages for the netns tests: ${missing.join(" ")}`);
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
    execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  }
}
