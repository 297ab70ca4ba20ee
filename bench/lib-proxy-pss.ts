// Memory as a node sees it (issue 24): N proxies running at once, as on a busy
// node, each read from /proc/<pid>/smaps_rollup after a short load. RSS counts
// every page a process maps, shared or not (the node executable's text is in
// every Node process's RSS); PSS divides each shared page among the processes
// that map it; private (USS) is what only that process holds, the memory a
// further proxy adds. A shared page is divided among ALL processes mapping it,
// including the benchmark's and any other Node process on the machine, so the
// report says how many processes ran the same executable.
import { readFileSync, readdirSync, readlinkSync, realpathSync } from "node:fs";

export interface SmapsFigures {
  rssBytes: number;
  pssBytes: number;
  privateBytes: number;
  /** PSS of anonymous memory (heaps, malloc, stacks) and of file mappings (the executable, libraries). */
  pssAnonBytes: number;
  pssFileBytes: number;
}

/** Parses smaps_rollup's Rss, Pss (and its anon and file parts) and Private_Clean + Private_Dirty (kB) into bytes. */
export function parseSmapsRollup(text: string): SmapsFigures {
  const kb = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN) * 1024;
  return {
    rssBytes: kb(/^Rss:\s+(\d+) kB/m),
    pssBytes: kb(/^Pss:\s+(\d+) kB/m),
    privateBytes: kb(/^Private_Clean:\s+(\d+) kB/m) + kb(/^Private_Dirty:\s+(\d+) kB/m),
    pssAnonBytes: kb(/^Pss_Anon:\s+(\d+) kB/m),
    pssFileBytes: kb(/^Pss_File:\s+(\d+) kB/m),
  };
}

export function smapsRollup(pid: number): SmapsFigures {
  return parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
}

/** How many processes on the machine run `exe` (the dilution of its shared pages in PSS). */
export function processesRunning(exe: string): number {
  let n = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try { if (readlinkSync(`/proc/${entry}/exe`) === exe) n++; } catch { /* gone, or not ours to read */ }
  }
  return n;
}

export interface MemorySummary {
  proxies: number;
  /** Medians over the proxies, bytes. */
  rss: number;
  pss: number;
  private: number;
  pssMax: number;
  pssAnon: number;
  pssFile: number;
}

const median = (v: number[]) => {
  const s = v.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export function summarise(figures: SmapsFigures[]): MemorySummary {
  return {
    proxies: figures.length,
    rss: median(figures.map((f) => f.rssBytes)),
    pss: median(figures.map((f) => f.pssBytes)),
    private: median(figures.map((f) => f.privateBytes)),
    pssMax: Math.max(...figures.map((f) => f.pssBytes)),
    pssAnon: median(figures.map((f) => f.pssAnonBytes)),
    pssFile: median(figures.map((f) => f.pssFileBytes)),
  };
}

export interface TenProxiesOptions {
  /** Pairs of each kind to run (2 proxies each). */
  pairs: number;
  /** Starts one pair of the kind; returns what to load and the proxies' pids, and how to stop it. */
  startWeft(i: number): Promise<{ url: string; pids: number[]; stop(): Promise<void> }>;
  startNginx(i: number): Promise<{ url: string; pids: number[]; stop(): Promise<void> }>;
  /** Load through one pair before reading (its heap and buffers at their working size). */
  load(url: string): Promise<unknown>;
}

export interface TenProxiesResult {
  weft: MemorySummary;
  nginx: MemorySummary;
  /** Processes running the proxies' node executable while Weft's were read (the PSS divisor of its shared pages). */
  nodeProcesses: number;
}

/** Starts `pairs` pairs of each kind, loads each in turn, then reads every proxy's smaps_rollup. */
export async function measureManyProxies(o: TenProxiesOptions): Promise<TenProxiesResult> {
  const read = async (start: (i: number) => Promise<{ url: string; pids: number[]; stop(): Promise<void> }>) => {
    const pairs: { url: string; pids: number[]; stop(): Promise<void> }[] = [];
    try {
      for (let i = 0; i < o.pairs; i++) pairs.push(await start(i));
      for (const p of pairs) await o.load(p.url);
      const figures = pairs.flatMap((p) => p.pids.map(smapsRollup));
      return { summary: summarise(figures), nodeProcesses: processesRunning(realpathSync(process.execPath)) };
    } finally {
      for (const p of pairs) await p.stop();
    }
  };
  const weft = await read(o.startWeft);
  const nginx = await read(o.startNginx);
  return { weft: weft.summary, nginx: nginx.summary, nodeProcesses: weft.nodeProcesses };
}
