// Child processes for tests: the control plane, proxies, the CLI, Jaeger,
// agents inside network namespaces. Output is kept (stdout, stderr and both
// interleaved) for assertions and for a failed test's report; waiting for a
// line is event-driven; stopping is SIGTERM, then SIGKILL after a grace period;
// and a test run that crashes or is interrupted still leaves no child behind.
//
// (The test cluster's processes, which log to files and are killed by process
// group from signal handlers, keep their own module: test/cluster/processes.ts.)
import { spawn, type ChildProcess } from "node:child_process";
import { formatDuration } from "./wait.ts";

export interface StartOptions {
  /** Added to (or, when undefined, removed from) the test process's environment. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /**
   * Run in its own process group, and signal the whole group: for a child that
   * forks what must go with it (`ip netns exec` → setpriv → node, a shell).
   */
  group?: boolean;
  /** Characters of output kept: the tail, per stream and interleaved (default 1 MiB). */
  keepChars?: number;
  /** Called after every chunk of output, e.g. to act on a progress line. */
  onOutput?(p: TestProcess): void;
}

// Every child not yet known to have exited, killed if the test process exits first.
const live = new Set<TestProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const p of live) p.kill();
  });
}

export class TestProcess {
  readonly name: string;
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  /** stdout and stderr interleaved as they arrived. */
  output = "";
  /**
   * The exit code (null when a signal ended it) once the process has exited
   * and its output is complete; null too when it could not be started. A
   * grandchild that inherited its output keeps this pending; kill() cuts it short.
   */
  readonly exited: Promise<number | null>;
  /** Why the process could not be started (e.g. ENOENT), if it could not. */
  startError: Error | undefined;
  readonly #group: boolean;
  readonly #keep: number;
  #done = false;
  readonly #watchers = new Set<() => void>();

  constructor(name: string, command: string, args: readonly string[], options: StartOptions = {}) {
    this.name = name;
    this.#group = options.group ?? false;
    this.#keep = options.keepChars ?? 1 << 20;
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const [key, value] of Object.entries(options.env ?? {})) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
    this.child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env, cwd: options.cwd, detached: this.#group });
    live.add(this);
    installExitHook();
    const take = (stream: "stdout" | "stderr") => (chunk: string) => {
      this[stream] = (this[stream] + chunk).slice(-this.#keep);
      this.output = (this.output + chunk).slice(-this.#keep);
      options.onOutput?.(this);
      this.#notify();
    };
    this.child.stdout!.setEncoding("utf8").on("data", take("stdout"));
    this.child.stderr!.setEncoding("utf8").on("data", take("stderr"));
    this.exited = new Promise((resolve) => {
      const finish = (code: number | null) => {
        if (this.#done) return;
        this.#done = true;
        live.delete(this);
        resolve(code);
        this.#notify();
      };
      // "close", not "exit": by then every byte it wrote has been read.
      this.child.once("close", (code) => finish(code));
      this.child.once("error", (err) => {
        if (this.child.pid !== undefined) return; // a failed kill(); "close" still comes
        this.startError = err;
        finish(null);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Started and not yet exited. */
  get running(): boolean {
    return this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** "exit 0", "signal SIGKILL", "running", or why it did not start. */
  get state(): string {
    if (this.startError) return `not started: ${this.startError.message}`;
    if (this.child.signalCode !== null) return `signal ${this.child.signalCode}`;
    if (this.child.exitCode !== null) return `exit ${this.child.exitCode}`;
    return "running";
  }

  /**
   * The first match of `pattern` (no g flag) in the output so far or to come.
   * Rejects, with the output, when the process exits without printing it or
   * after `timeoutMs` (default 30 s).
   */
  waitForOutput(pattern: RegExp, options: { timeoutMs?: number } = {}): Promise<RegExpMatchArray> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const settle = (outcome: () => void): void => {
        clearTimeout(timer);
        this.#watchers.delete(look);
        outcome();
      };
      const look = (): void => {
        const m = this.output.match(pattern);
        if (m) settle(() => resolve(m));
        else if (this.#done) settle(() => reject(new Error(`${this.name} ended (${this.state}) without printing ${pattern}:\n${this.tail()}`)));
      };
      const timer = setTimeout(() => settle(() => reject(new Error(`timed out after ${formatDuration(timeoutMs)} waiting for ${this.name} to print ${pattern}:\n${this.tail()}`))), timeoutMs);
      this.#watchers.add(look);
      look();
    });
  }

  /** Sends `signal` (to its group, when it has one); a process already gone is not an error. */
  signal(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    // A leader that has exited may have a group left behind; a lone process is gone for good.
    if (pid === undefined || (this.#done && !this.#group)) return;
    try {
      if (this.#group) process.kill(-pid, signal);
      else this.child.kill(signal);
    } catch {
      // already gone
    }
  }

  /** SIGKILL now, without waiting; its output after this point is not awaited. */
  kill(): void {
    this.signal("SIGKILL");
    // A grandchild that inherited the pipes would hold "close" back forever.
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
  }

  /**
   * SIGTERM, then SIGKILL if it has not exited within `graceMs` (a bound for a
   * process that ignores SIGTERM, not a wait); resolves with the exit code.
   */
  async stop(graceMs = 5_000): Promise<number | null> {
    if (this.#done) return this.exited;
    if (this.running || this.#group) this.signal("SIGTERM");
    const timer = setTimeout(() => this.kill(), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The last `chars` of its output, for error messages. */
  tail(chars = 4_000): string {
    return this.output.slice(-chars);
  }

  #notify(): void {
    for (const watcher of [...this.#watchers]) watcher();
  }
}

/** Starts `command`; stdin is closed, stdout and stderr are kept. */
export function startProcess(name: string, command: string, args: readonly string[], options?: StartOptions): TestProcess {
  return new TestProcess(name, command, args, options);
}

/** Starts a Node script (or `-e` code) with the Node that runs the tests. */
export function startNode(name: string, args: readonly string[], options?: StartOptions): TestProcess {
  return new TestProcess(name, process.execPath, args, options);
}

/** The processes one suite starts: stopped together, reported together when a test fails. */
export class Processes {
  readonly all: TestProcess[] = [];

  start(name: string, command: string, args: readonly string[], options?: StartOptions): TestProcess {
    const p = startProcess(name, command, args, options);
    this.all.push(p);
    return p;
  }

  node(name: string, args: readonly string[], options?: StartOptions): TestProcess {
    return this.start(name, process.execPath, args, options);
  }

  /** Stops every process, the last started first (proxies before their control plane). */
  async stopAll(graceMs = 5_000): Promise<void> {
    for (const p of [...this.all].reverse()) await p.stop(graceMs);
  }

  /** Each process's name, state and output tail: print it when a test fails. */
  report(chars = 20_000): string {
    return this.all.map((p) => `--- ${p.name} (${p.state})\n${p.tail(chars)}`).join("\n");
  }
}
