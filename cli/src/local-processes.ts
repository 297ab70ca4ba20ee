// Child processes of local mode (control plane, apps, sidecars): each in its
// own process group so stopping one also stops anything it started; output is
// kept as a short tail for error messages. stopAll() sends SIGTERM to every
// group, waits, then SIGKILLs what is left, so nothing outlives the command.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXT = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

/** A module of this project by its source path without extension (works from a clone and from the built dist/). */
export function projectModule(path: string): string {
  return join(ROOT, `${path}${EXT}`);
}

export interface LocalChild {
  name: string;
  proc: ChildProcess;
  pid: number;
  output(): string;
  exited(): boolean;
}

export class LocalProcesses {
  readonly children: LocalChild[] = [];

  /** A user's command: output goes to this terminal. */
  startCommand(name: string, command: string, args: string[], env: Record<string, string> = {}): LocalChild {
    const proc = spawn(command, args, { detached: true, stdio: "inherit", env: { ...process.env, ...env } });
    return this.#track(name, proc, () => "");
  }

  /** A Node module of this project (args[0]) with its output kept. */
  start(name: string, args: string[], env: Record<string, string> = {}, onLine?: (line: string) => void): LocalChild {
    return this.startProgram(name, [process.execPath, ...args], env, onLine);
  }

  /** Any program (argv[0]), e.g. `ip netns exec …`, with its output kept. */
  startProgram(name: string, argv: string[], env: Record<string, string> = {}, onLine?: (line: string) => void): LocalChild {
    const [command, ...args] = argv;
    const proc = spawn(command!, args, { detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let tail = "";
    let partial = "";
    const keep = (d: Buffer): void => {
      tail = (tail + d.toString()).slice(-8_000);
      if (!onLine) return;
      partial += d.toString();
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) onLine(l);
    };
    proc.stdout!.on("data", keep);
    proc.stderr!.on("data", keep);
    return this.#track(name, proc, () => tail);
  }

  #track(name: string, proc: ChildProcess, output: () => string): LocalChild {
    let done = false;
    proc.once("exit", () => (done = true));
    // A command that cannot start (ENOENT) reports "error" and never "exit".
    proc.once("error", () => {
      done = true;
      proc.emit("exit", 127, null);
    });
    const child: LocalChild = { name, proc, pid: proc.pid ?? -1, output, exited: () => done || proc.exitCode !== null || proc.signalCode !== null };
    this.children.push(child);
    return child;
  }

  /** The first child that has exited, if any (a demo cannot run with one missing). */
  firstExited(): LocalChild | undefined {
    return this.children.find((c) => c.exited());
  }

  async stopAll(graceMs = 8_000): Promise<void> {
    const signal = (c: LocalChild, sig: NodeJS.Signals): void => {
      if (!(c.pid > 1)) return; // never signal a group that is not ours (a child that failed to spawn has no pid)
      try {
        process.kill(-c.pid, sig);
      } catch {
        // already gone
      }
    };
    for (const c of this.children) if (!c.exited()) signal(c, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (this.children.some((c) => !c.exited()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // Also the groups of children that exited: anything they started goes too.
    for (const c of this.children) signal(c, "SIGKILL");
  }
}

/**
 * Ctrl-C and SIGTERM as a latch for the commands that build things they must
 * tear down: `stopping` stays true once a signal came, and the waiter given to
 * `onStop` is woken (at once, if the signal came first).
 */
export class StopSignals {
  #stopping = false;
  #wake: () => void = () => undefined;
  readonly #signalled = (): void => {
    this.#stopping = true;
    this.#wake();
  };

  constructor() {
    process.on("SIGINT", this.#signalled);
    process.on("SIGTERM", this.#signalled);
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /** Replaces the waiter. */
  onStop(wake: () => void): void {
    this.#wake = wake;
    if (this.#stopping) wake();
  }

  dispose(): void {
    process.off("SIGINT", this.#signalled);
    process.off("SIGTERM", this.#signalled);
  }
}

/**
 * How `weft run` waits on its workload, in either mode: the app's exit code when
 * it ends, 1 when the sidecar dies first (its last line on stderr), 0 when the
 * caller stops it through the function handed to `onStop`.
 */
export function untilWorkloadEnds(sidecar: LocalChild, app: LocalChild, onStop: (stop: () => void) => void): Promise<number> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (code: number): void => {
      if (settled) return;
      settled = true;
      resolve(code);
    };
    onStop(() => settle(0));
    sidecar.proc.once("exit", () => {
      if (settled) return; // stopped by us after the command ended
      console.error(`weft run: the sidecar exited: ${sidecar.output().trim().split("\n").at(-1) ?? ""}`);
      settle(1);
    });
    app.proc.once("exit", (c) => settle(c ?? 0));
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
