// Text output of `deno task fuzz` (issue 13): one summary line per target, and a failure
// report naming target, seed, iteration and the input as hex. Pure: results in, text out.

import type { Failure, RunResult } from "./runner.ts";

const MiB = 1024 * 1024;
/** Longest hex dump printed (the whole input is in the written file). */
const MAX_HEX_CHARS = 8192;

function mib(bytes: number): string {
  return `${bytes >= 0 ? "+" : ""}${(bytes / MiB).toFixed(1)} MiB`;
}

/** One summary line for a run. */
export function summaryLine(r: RunResult): string {
  const rate = r.seconds > 0 ? Math.round(r.inputs / r.seconds) : 0;
  const slow = r.slowest[0];
  const replayed = r.slowest.reduce((m, s) => Math.max(m, s.replayMs ?? 0), 0);
  const slowText = slow
    ? `slowest ${slow.ms.toFixed(1)} ms (${slow.bytes} B, #${slow.iteration}; ` +
      `slowest replayed ${replayed.toFixed(1)} ms)`
    : "slowest -";
  const heap = `heap ${mib(r.memory.heapGrowth)}${r.memory.gc ? " after GC" : " (no GC)"}`;
  return [
    r.target.padEnd(9),
    `${r.inputs} inputs`,
    `${r.seconds.toFixed(1)} s`,
    `${rate}/s`,
    slowText,
    heap,
    `external ${mib(r.memory.externalGrowth)}`,
    `rss ${mib(r.memory.rssGrowth)}`,
    `${r.outcomes} outcomes`,
    r.failure ? `FAILED (${r.failure.kind})` : "ok",
  ].join("  ");
}

/** The slowest inputs, one per line. */
export function slowestLines(r: RunResult): string[] {
  return r.slowest.map((s) =>
    `  ${s.ms.toFixed(2)} ms  ${s.bytes} bytes  iteration ${s.iteration}` +
    (s.replayMs === undefined ? "" : `  (replayed: ${s.replayMs.toFixed(2)} ms)`)
  );
}

/** The failure report. */
export function failureText(target: string, seed: number, f: Failure, file?: string): string {
  const hex = f.input.toHex();
  const shown = hex.length > MAX_HEX_CHARS ? `${hex.slice(0, MAX_HEX_CHARS)}… (truncated)` : hex;
  return [
    `FAILURE in target ${target}: ${f.kind}`,
    `  seed ${seed}, iteration ${f.iteration}, input ${f.input.length} bytes`,
    `  ${f.message}`,
    ...(file ? [`  input written to ${file}`] : []),
    `  input (hex): ${shown}`,
    ...(f.stack ? [`  stack:`, ...f.stack.split("\n").slice(1, 8).map((l) => `  ${l}`)] : []),
  ].join("\n");
}
