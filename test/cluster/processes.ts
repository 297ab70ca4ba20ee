// Child processes of a test cluster: each runs in its own process group so that it and
// everything it forked can be killed by one signal, and every live group is remembered
// so that an interrupted or crashing mocha process still leaves no orphans behind.
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, readFileSync } from "node:fs";

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  logPath: string;
  exited: Promise<number | null>;
}

// Synchronous clean-up actions, run on exit and on SIGINT/SIGTERM. Each cluster
// registers one and removes it when it stops normally.
const emergencyCleanups = new Set<() => void>();
let hooksInstalled = false;

function runEmergencyCleanups(): void {
  for (const cleanup of [...emergencyCleanups]) {
    emergencyCleanups.delete(cleanup);
    try {
      cleanup();
    } catch (err) {
      process.stderr.write(`[test-cluster] clean-up failed: ${String(err)}\n`);
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  process.stderr.write(`[test-cluster] ${signal}: tearing down test clusters\n`);
  runEmergencyCleanups();
  process.exit(signal === "SIGINT" ? 130 : 143);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", runEmergencyCleanups);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

export function registerEmergencyCleanup(cleanup: () => void): () => void {
  installHooks();
  emergencyCleanups.add(cleanup);
  return () => emergencyCleanups.delete(cleanup);
}

export function startProcess(name: string, command: string, args: string[], logPath: string, env?: NodeJS.ProcessEnv): ManagedProcess {
  const fd = openSync(logPath, "a");
  const child = spawn(command, args, { detached: true, stdio: ["ignore", fd, fd], env: env ?? process.env });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(null));
  });
  return { name, child, logPath, exited };
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Kills a process group at once and waits (bounded) until it is gone. For exit paths. */
export function killGroupSync(proc: ManagedProcess | undefined): void {
  const pid = proc?.child.pid;
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    return;
  }
  for (let i = 0; i < 50 && groupAlive(pid); i++) sleepSync(20);
}

/** Asks a process group to stop, then kills it if it has not within the grace period. */
export async function stopProcess(proc: ManagedProcess | undefined, graceMs = 5000): Promise<void> {
  const pid = proc?.child.pid;
  if (proc === undefined || pid === undefined) return;
  if (proc.child.exitCode === null && proc.child.signalCode === null) {
    try {
      process.kill(-pid, "SIGTERM");
    } catch {
      // already gone
    }
    const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), graceMs).unref());
    if ((await Promise.race([proc.exited, timer])) === "timeout") killGroupSync(proc);
  }
  // Children that ignored SIGTERM while their leader exited.
  if (groupAlive(pid)) killGroupSync(proc);
}

export function logTail(proc: ManagedProcess, lines = 30): string {
  try {
    return readFileSync(proc.logPath, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

export function isRunning(proc: ManagedProcess | undefined): boolean {
  return proc !== undefined && proc.child.exitCode === null && proc.child.signalCode === null;
}
