// `deno task fuzz` (issue 13): the fuzz harness's entry point. Parses flags, runs each
// target (tools/fuzz/runner.ts) and prints a summary line per target; on the first failure
// prints the input as hex, writes it under --out and exits with 1. Bad flags: one line on
// stderr, exit 2. `--input FILE` replays one saved input.

import { parseFuzzArgs, USAGE, UsageError } from "./fuzz/args.ts";
import { failureText, slowestLines, summaryLine } from "./fuzz/report.ts";
import { runOne } from "./fuzz/runner.ts";
import { findTarget, TARGETS } from "./fuzz/targets/mod.ts";
import { runInWorker } from "./fuzz/watchdog.ts";
import { errLine as err, outLine as out } from "./out.ts";

/** Writes `bytes` to `file` in `dir`; on failure says why on stderr and returns false. */
async function save(dir: string, file: string, bytes: Uint8Array): Promise<boolean> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeFile(file, bytes);
    return true;
  } catch (e) {
    err(`fuzz: cannot write ${file}: ${(e as Error).message.split("\n")[0]}`);
    return false;
  }
}

/** Runs the fuzz tool with `argv`; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let opts;
  try {
    opts = parseFuzzArgs(argv, TARGETS.map((t) => t.name));
  } catch (e) {
    if (e instanceof UsageError) {
      err(`fuzz: ${e.message} (see --help)`);
      return 2;
    }
    throw e;
  }
  if (opts.help) {
    out(USAGE);
    return 0;
  }
  if (opts.list) {
    for (const t of TARGETS) out(`${t.name.padEnd(10)} ${t.description}`);
    return 0;
  }
  if (opts.input !== undefined) {
    const target = findTarget(opts.targets[0]!)!;
    await target.seeds();
    let input: Uint8Array;
    try {
      input = await Deno.readFile(opts.input);
    } catch (e) {
      err(`fuzz: cannot read ${opts.input}: ${(e as Error).message.split("\n")[0]}`);
      return 2;
    }
    const t0 = performance.now();
    const r = await runOne(target, input);
    const ms = performance.now() - t0;
    if (r.failure) {
      err(failureText(target.name, opts.seed, r.failure));
      return 1;
    }
    out(`${target.name}: ${input.length} bytes, ${ms.toFixed(1)} ms, outcome ${r.label}`);
    return 0;
  }
  const gc = typeof (globalThis as { gc?: unknown }).gc === "function";
  out(
    `fuzz: seed ${opts.seed}, ${opts.runs ?? "unbounded"} inputs${
      opts.seconds ? ` / ${opts.seconds} s` : ""
    } per target, GC ${gc ? "on" : "off (run with --v8-flags=--expose-gc)"}`,
  );
  for (const name of opts.targets) {
    const result = await runInWorker(name, {
      seed: opts.seed,
      ...(opts.runs !== undefined ? { runs: opts.runs } : {}),
      ...(opts.seconds !== undefined ? { seconds: opts.seconds } : {}),
      ...(opts.maxMs !== undefined ? { maxMs: opts.maxMs } : {}),
      maxHeapGrowthMiB: opts.maxHeapGrowthMiB,
    }, {
      hangSeconds: opts.hangSeconds,
      progressMs: 10_000,
      onProgress: (n, ms) => err(`  ${name}: ${n} inputs, ${Math.round(n / (ms / 1000))}/s`),
    });
    out(summaryLine(result));
    for (const line of slowestLines(result)) out(line);
    if (opts.outcomes) {
      for (const [label, n] of result.topOutcomes) out(`  ${String(n).padStart(9)}  ${label}`);
    }
    const slowest = result.slowest[0];
    if (opts.keepSlowest && slowest) {
      const file = `${opts.outDir}/${name}-seed${opts.seed}-slowest-iter${slowest.iteration}.bin`;
      if (await save(opts.outDir, file, slowest.input)) out(`  slowest input written to ${file}`);
    }
    if (result.failure) {
      const f = result.failure;
      const file = `${opts.outDir}/${name}-seed${opts.seed}-iter${f.iteration}.bin`;
      const written = await save(opts.outDir, file, f.input);
      err(failureText(name, opts.seed, f, written ? file : undefined));
      return 1;
    }
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
