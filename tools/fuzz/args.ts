// Command-line flags of `deno task fuzz` (issue 13): node:util parseArgs in strict mode
// into typed FuzzOptions. Pure: argv in, options or UsageError out.

import { parseArgs } from "node:util";

/** A bad command line; the entry point prints the message on one line and exits with 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** What one run of the fuzz tool does. */
export interface FuzzOptions {
  /** Target names to run (default: all). */
  readonly targets: readonly string[];
  /** Inputs per target (seeds included); default 10 000 unless `seconds` is given. */
  readonly runs?: number;
  /** Seconds per target. */
  readonly seconds?: number;
  readonly seed: number;
  /** Per-input time bound in ms (default: each target's own). */
  readonly maxMs?: number;
  /** An input running longer than this many seconds is a hang (default 10). */
  readonly hangSeconds: number;
  /** Heap growth bound in MiB after GC (default 64). */
  readonly maxHeapGrowthMiB: number;
  /** Where failing inputs are written. */
  readonly outDir: string;
  /** Replay this saved input (binary) against the one `--target` instead of fuzzing. */
  readonly input?: string;
  /** Print each target's most frequent outcomes. */
  readonly outcomes: boolean;
  /** Write each target's slowest input under `outDir`. */
  readonly keepSlowest: boolean;
  readonly list: boolean;
  readonly help: boolean;
}

/** The help text. */
export const USAGE = `Usage: deno task fuzz [flags]

Feeds mutated inputs to the protocol parsers and checks, on every input, that only the
module's own typed error escapes (AslError, PkiError; the command parser throws nothing),
that the target's own checks hold, that one input takes less than a bound, and that the
heap (after GC) does not grow. Seeds: the conformance vectors (tests/fixtures/asl-vectors).

  --target NAME        run only this target (repeatable; see --list); default all
  --runs N             inputs per target, seeds included (default 10000)
  --seconds S          seconds per target (with --runs: whichever ends first)
  --seed N             PRNG seed; the same seed replays the same inputs (default 1)
  --max-ms MS          bound on one input's time (default per target: 250, PKI 2000)
  --hang-seconds S     an input running longer is a hang: stopped, reported (default 10)
  --max-heap-growth M  bound on heap growth after GC, MiB (default 64)
  --out DIR            where a failing input is written, under data/ (default data/fuzz)
  --input FILE         replay one saved input against --target, report, exit
  --keep-slowest       write each target's slowest input under --out too
  --outcomes           print each target's most frequent outcomes (how deep inputs get)
  --list               list the targets
  --help, -h           this text

A failure prints the target, seed, iteration and the input (hex), writes the input to
DIR/<target>-seed<N>-iter<I>.bin and exits with 1. Bad flags exit with 2.`;

function integer(flag: string, text: string | undefined, min: number, max: number) {
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(
      `--${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`,
    );
  }
  return Number(text);
}

function positive(flag: string, text: string | undefined) {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || !(n > 0)) {
    throw new UsageError(`--${flag} must be a number above 0, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** Parses argv; `known` are the target names. Throws UsageError. */
export function parseFuzzArgs(argv: readonly string[], known: readonly string[]): FuzzOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        target: { type: "string", multiple: true },
        runs: { type: "string" },
        seconds: { type: "string" },
        seed: { type: "string" },
        "max-ms": { type: "string" },
        "max-heap-growth": { type: "string" },
        "hang-seconds": { type: "string" },
        out: { type: "string" },
        input: { type: "string" },
        "keep-slowest": { type: "boolean" },
        outcomes: { type: "boolean" },
        list: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]!);
  }
  const v = parsed.values;
  const targets = v.target ?? [];
  for (const t of targets) {
    if (!known.includes(t)) {
      throw new UsageError(`unknown target ${JSON.stringify(t)} (targets: ${known.join(", ")})`);
    }
  }
  if (v.input !== undefined && targets.length !== 1) {
    throw new UsageError("--input needs exactly one --target");
  }
  if (v.out === "") throw new UsageError("--out must not be empty");
  const runs = integer("runs", v.runs, 1, 1e12);
  const seconds = positive("seconds", v.seconds);
  const maxMs = positive("max-ms", v["max-ms"]);
  const seed = integer("seed", v.seed, 0, 0xffff_ffff) ?? 1;
  const growth = positive("max-heap-growth", v["max-heap-growth"]) ?? 64;
  return {
    targets: targets.length > 0 ? targets : known,
    ...(runs !== undefined || seconds === undefined ? { runs: runs ?? 10_000 } : {}),
    ...(seconds !== undefined ? { seconds } : {}),
    seed,
    ...(maxMs !== undefined ? { maxMs } : {}),
    maxHeapGrowthMiB: growth,
    hangSeconds: positive("hang-seconds", v["hang-seconds"]) ?? 10,
    outDir: v.out ?? "data/fuzz",
    ...(v.input !== undefined ? { input: v.input } : {}),
    keepSlowest: v["keep-slowest"] ?? false,
    outcomes: v.outcomes ?? false,
    list: v.list ?? false,
    help: v.help ?? false,
  };
}
