// Which of local mode's two ways a command runs in, and why, as data: the
// network-namespace mode (transparent capture, needs root and `ip netns`) or
// loopback ports (no privileges). `--mode auto` picks netns when the probe
// passes; forcing netns when it cannot work is a one-line error saying what to do.
import { fail, ok, type Result } from "../../lib/result.ts";

export type LocalMode = "loopback" | "netns";
export type ModeRequest = LocalMode | "auto";

export interface ModeChoice { mode: LocalMode; why: string }

export function parseModeFlag(text: string | undefined): Result<ModeRequest> {
  const v = text ?? "auto";
  return v === "auto" || v === "loopback" || v === "netns" ? ok(v) : fail("bad-mode", `--mode: "${v}" is not auto, loopback or netns`);
}

/** For commands that set up their own mesh (`weft local`, `weft demo`). */
export function chooseMode(request: ModeRequest, probe: Result<void>): Result<ModeChoice> {
  if (request === "loopback") return ok({ mode: "loopback", why: "--mode loopback" });
  if (probe.ok) return ok({ mode: "netns", why: request === "netns" ? "--mode netns" : "running as root and `ip netns` works" });
  if (request === "netns") return fail(probe.code, netnsUnavailableHint(probe.code, probe.message));
  return ok({ mode: "loopback", why: probe.message });
}

/** `weft run` joins whatever `weft local` runs: its workloads must reach that control plane. */
export function chooseRunMode(request: ModeRequest, local: LocalMode, probe: () => Result<void>): Result<ModeChoice> {
  if (request !== "auto" && request !== local) {
    return fail("mode-mismatch", `weft local runs in ${local === "netns" ? "network-namespace" : "loopback"} mode; restart it with \`weft local --mode ${request}\` or drop --mode`);
  }
  if (local === "loopback") return ok({ mode: "loopback", why: request === "loopback" ? "--mode loopback" : "weft local runs its control plane on loopback" });
  const p = probe();
  if (!p.ok) return fail(p.code, netnsUnavailableHint(p.code, p.message));
  return ok({ mode: "netns", why: request === "netns" ? "--mode netns" : "weft local runs in network-namespace mode" });
}

export function netnsUnavailableHint(code: string, message: string): string {
  if (code === "not-root") return "network-namespace mode needs root (ip netns, iptables): run it with sudo, or use --mode loopback";
  return `network-namespace mode cannot run here: ${message}; fix that, or use --mode loopback`;
}
