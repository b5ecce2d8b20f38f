// /proc readers of the load tool (issue #6) and tools/harness.ts: a process's CPU time from
// /proc/<pid>/stat, its resident set size from /proc/<pid>/status, and the CPU time of a
// process's children. Parsing is pure; reading is the edge.

import process from "node:process";

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on every mainstream kernel). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * Field `index` (1-based, as in proc(5)) of a /proc/<pid>/stat line, a whole number. The
 * command name (field 2) may hold spaces and parentheses, so fields are counted after the
 * last `)`. Throws a SyntaxError for text that is not a stat line.
 */
function statField(text: string, index: number, name: string): number {
  const close = text.lastIndexOf(")");
  if (close < 0 || !/^\d+ \(/.test(text)) throw new SyntaxError("not a /proc/<pid>/stat line");
  const value = Number(text.slice(close + 2).trim().split(" ")[index - 3]);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new SyntaxError(`/proc/<pid>/stat has no numeric ${name}`);
  }
  return value;
}

/** utime + stime (fields 14 and 15) of a /proc/<pid>/stat line, in clock ticks. */
export function parseStatCpuTicks(text: string): number {
  return statField(text, 14, "utime") + statField(text, 15, "stime");
}

/** The parent's pid (field 4) of a /proc/<pid>/stat line. */
export function parseStatPpid(text: string): number {
  return statField(text, 4, "ppid");
}

/** The `VmRSS:` line of /proc/<pid>/status, in KiB. Throws a SyntaxError when absent. */
export function parseStatusRssKib(text: string): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  if (match === null) throw new SyntaxError("/proc/<pid>/status has no VmRSS line");
  return Number(match[1]);
}

/** Runs `cmd args` to its end; its stdout as text. */
function runSync(cmd: string, args: string[]): { success: boolean; text: string } {
  const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).outputSync();
  return { success: out.success, text: new TextDecoder().decode(out.stdout) };
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
  const { success, text } = runSync("cat", [path]);
  if (!success) throw new Error(`cannot read ${path}`);
  return text;
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

/**
 * Sums utime + stime (seconds) of every process whose parent is `ppid` (e.g. a PostgreSQL
 * postmaster's backends and auxiliary processes), from `ps` for the list and one `cat` of
 * their /proc/<pid>/stat. A process that exits between the two is left out.
 */
export function readChildrenCpuSeconds(ppid: number): { cpuSeconds: number; processes: number } {
  const pids = runSync("ps", ["-o", "pid=", "--ppid", String(ppid)]).text.match(/\d+/g) ?? [];
  if (pids.length === 0) return { cpuSeconds: 0, processes: 0 }; // `cat` alone would read stdin
  let ticks = 0;
  let processes = 0;
  for (const line of runSync("cat", pids.map((p) => `/proc/${p}/stat`)).text.split("\n")) {
    try {
      if (parseStatPpid(line) !== ppid) continue;
      ticks += parseStatCpuTicks(line);
      processes++;
    } catch {
      // an empty or partial line: skip it
    }
  }
  return { cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND, processes };
}
