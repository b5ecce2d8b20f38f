// /proc readers for the load tool (issue #6): a process's CPU time from /proc/<pid>/stat
// and its resident set size from /proc/<pid>/status. Parsing is pure; reading is the edge.

import process from "node:process";

/** CPU time and memory of one process at one instant. */
export interface ProcSample {
  /** User plus system CPU time, seconds (all threads). */
  readonly cpuSeconds: number;
  /** Resident set size, KiB. */
  readonly rssKib: number;
}

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on every mainstream kernel). */
export const CLOCK_TICKS_PER_SECOND = 100;

/**
 * Parses /proc/<pid>/stat and returns utime + stime in clock ticks. The command name
 * (field 2) may contain spaces and parentheses, so fields are counted after the last `)`.
 * Throws a SyntaxError for text that is not a stat line.
 *
 * @example
 * ```ts
 * import { parseStatCpuTicks } from "./proc.ts";
 * parseStatCpuTicks("42 (deno) S 1 42 42 0 -1 0 0 0 0 0 150 25 0 0 20 0 9 0 1 2 3");
 * // 175
 * ```
 */
export function parseStatCpuTicks(text: string): number {
  const close = text.lastIndexOf(")");
  if (close < 0 || !/^\d+ \(/.test(text)) throw new SyntaxError("not a /proc/<pid>/stat line");
  // After ") ": field 3 (state) is index 0, so utime (field 14) is index 11, stime index 12.
  const rest = text.slice(close + 2).trim().split(" ");
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isSafeInteger(utime) || !Number.isSafeInteger(stime) || utime < 0 || stime < 0) {
    throw new SyntaxError("/proc/<pid>/stat has no numeric utime/stime");
  }
  return utime + stime;
}

/**
 * Parses the `VmRSS:` line of /proc/<pid>/status, in KiB. Throws a SyntaxError when absent.
 *
 * @example
 * ```ts
 * import { parseStatusRssKib } from "./proc.ts";
 * parseStatusRssKib("Name:\tdeno\nVmRSS:\t  51234 kB\n"); // 51234
 * ```
 */
export function parseStatusRssKib(text: string): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  if (match === null) throw new SyntaxError("/proc/<pid>/status has no VmRSS line");
  return Number(match[1]);
}

/**
 * Reads a /proc file. Deno's permission model refuses /proc to anything short of
 * --allow-all, so without it the file is read through `cat` (needs --allow-run).
 */
export function readProcText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotCapable)) throw err;
  }
  const out = new Deno.Command("cat", { args: [path], stdout: "piped", stderr: "null" })
    .outputSync();
  if (!out.success) throw new Error(`cannot read ${path}`);
  return new TextDecoder().decode(out.stdout);
}

/** Reads the CPU time (seconds, all threads) of process `pid` ("self" for this process). */
export function readCpuSeconds(pid: number | "self"): number {
  if (pid === "self") {
    const { user, system } = process.cpuUsage(); // getrusage(RUSAGE_SELF), microseconds
    return (user + system) / 1e6;
  }
  return parseStatCpuTicks(readProcText(`/proc/${pid}/stat`)) / CLOCK_TICKS_PER_SECOND;
}

/** Reads the RSS (KiB) of process `pid` ("self" for this process). */
export function readRssKib(pid: number | "self"): number {
  if (pid === "self") return Math.round(Deno.memoryUsage().rss / 1024);
  return parseStatusRssKib(readProcText(`/proc/${pid}/status`));
}

/** Reads CPU time and RSS of process `pid` together. */
export function sampleProc(pid: number | "self"): ProcSample {
  return { cpuSeconds: readCpuSeconds(pid), rssKib: readRssKib(pid) };
}

/**
 * Parses /proc/<pid>/stat and returns the parent's pid (field 4). Throws a SyntaxError for
 * text that is not a stat line.
 *
 * @example
 * ```ts
 * import { parseStatPpid } from "./proc.ts";
 * parseStatPpid("42 (post gres) S 7 42 42 0 -1 0 0 0 0 0 150 25 0 0 20 0 9 0 1 2 3"); // 7
 * ```
 */
export function parseStatPpid(text: string): number {
  const close = text.lastIndexOf(")");
  if (close < 0 || !/^\d+ \(/.test(text)) throw new SyntaxError("not a /proc/<pid>/stat line");
  const ppid = Number(text.slice(close + 2).trim().split(" ")[1]);
  if (!Number.isSafeInteger(ppid) || ppid < 0) {
    throw new SyntaxError("/proc/<pid>/stat has no numeric ppid");
  }
  return ppid;
}

/**
 * Sums utime + stime (seconds) of every process whose parent is `ppid` (e.g. a PostgreSQL
 * postmaster's backends and auxiliary processes), from `ps` for the list and one `cat` of
 * their /proc/<pid>/stat. A process that exits between the two is left out.
 */
export function readChildrenCpuSeconds(ppid: number): { cpuSeconds: number; processes: number } {
  const ps = new Deno.Command("ps", {
    args: ["-o", "pid=", "--ppid", String(ppid)],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  const pids = new TextDecoder().decode(ps.stdout).split("\n").map((l) => l.trim())
    .filter((l) => /^\d+$/.test(l));
  if (pids.length === 0) return { cpuSeconds: 0, processes: 0 };
  const cat = new Deno.Command("cat", {
    args: pids.map((p) => `/proc/${p}/stat`),
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  let ticks = 0;
  let processes = 0;
  for (const line of new TextDecoder().decode(cat.stdout).split("\n")) {
    if (line.trim() === "") continue;
    try {
      if (parseStatPpid(line) !== ppid) continue;
      ticks += parseStatCpuTicks(line);
      processes++;
    } catch {
      // a partial line: skip it
    }
  }
  return { cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND, processes };
}
