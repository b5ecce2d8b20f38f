// The fuzz harness's runner (issue 13): runs one target for a number of inputs or seconds
// (seeds first, then mutants of the corpus), checks the invariants on every input — only
// the module's own typed error escapes, the target's own oracles hold, the time per input
// stays under a bound — samples the heap (after a GC when `--expose-gc` is on) and RSS at
// intervals, and stops at the first failure with the input that caused it. Pure of I/O:
// the entry point prints and writes files.

import { mutate, type MutatorContext } from "./mutator.ts";
import { Prng } from "./prng.ts";
import type { FuzzTarget } from "./types.ts";
import { InvariantViolation } from "./types.ts";

/** How long and how strictly to fuzz. */
export interface RunOptions {
  /** PRNG seed: the same seed replays the same inputs. */
  readonly seed: number;
  /** Stop after this many inputs (seeds included). */
  readonly runs?: number;
  /** Stop after this many seconds. */
  readonly seconds?: number;
  /** Bound on one input's time in ms (default: the target's). */
  readonly maxMs?: number;
  /** Most heap growth (MiB, after GC) from the first sample to the last; checked with GC only. */
  readonly maxHeapGrowthMiB?: number;
  /** Interval of heap samples and progress calls, ms (default 2000). */
  readonly sampleMs?: number;
  /** Called at every sample with the inputs so far. */
  readonly onProgress?: (inputs: number, elapsedMs: number) => void;
  /** Called before each input with its iteration and bytes (the hang watchdog's hook). */
  readonly onInput?: (iteration: number, input: Uint8Array) => void;
}

/** One of the slowest inputs of a run. */
export interface SlowInput {
  readonly iteration: number;
  readonly bytes: number;
  readonly ms: number;
  /** The input itself (to write it out and replay it with `--input`). */
  readonly input: Uint8Array;
  /** The least of two more runs at the end, ms: tells a slow input from a pause. */
  replayMs?: number;
}

/** One memory sample. */
export interface MemorySample {
  readonly inputs: number;
  readonly heapUsed: number;
  readonly rss: number;
  /** Memory of ArrayBuffers and other objects outside the V8 heap, after GC. */
  readonly external: number;
  /** Bytes of the inputs the harness keeps in its corpus (not the module's memory). */
  readonly corpusBytes: number;
}

/** Why a run failed. */
export interface Failure {
  readonly kind: "untyped-error" | "invariant" | "slow" | "hang" | "memory";
  readonly iteration: number;
  /** The input (for `memory`: the last input run). */
  readonly input: Uint8Array;
  /** One line: what escaped or what bound was broken. */
  readonly message: string;
  readonly stack?: string;
}

/** What a run measured. */
export interface RunResult {
  readonly target: string;
  readonly seed: number;
  readonly inputs: number;
  readonly seconds: number;
  readonly slowest: readonly SlowInput[];
  readonly memory: {
    readonly gc: boolean;
    readonly samples: readonly MemorySample[];
    /**
     * Heap after GC at the end minus at the first sample after warm-up, bytes, less what the
     * harness's own corpus grew by in between.
     */
    readonly heapGrowth: number;
    readonly rssGrowth: number;
    readonly externalGrowth: number;
  };
  /** Distinct outcomes seen (labels). */
  readonly outcomes: number;
  /** The most frequent outcomes with their counts, most frequent first (at most 40). */
  readonly topOutcomes: readonly (readonly [string, number])[];
  readonly corpus: number;
  readonly failure?: Failure;
}

const MAX_CORPUS = 4096;
const MAX_CORPUS_BYTES = 16 * 1024 * 1024;
const MAX_OUTCOMES = 65_536;
const SLOWEST_KEPT = 5;
const MiB = 1024 * 1024;

/** A stable label for an error: name, code and message with numbers blurred. */
export function errorLabel(err: unknown): string {
  if (!(err instanceof Error)) return `throw:${typeof err}`;
  const code = (err as { code?: unknown }).code;
  return `${err.name}:${String(code ?? "")}:${err.message.replace(/[0-9]+/g, "#").slice(0, 80)}`;
}

function oneLine(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.replace(/\s+/g, " ");
  return `non-Error thrown: ${String(err)}`.replace(/\s+/g, " ");
}

type GcFn = () => void;
function gcFunction(): GcFn | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === "function" ? gc as GcFn : undefined;
}

/** Runs `target` once on `input`: the outcome label, or a Failure (slowness not checked). */
export async function runOne(
  target: FuzzTarget,
  input: Uint8Array,
  iteration = 0,
): Promise<{ label: string; failure?: Failure }> {
  try {
    const r = target.run(input);
    return { label: typeof r === "string" ? r : await r };
  } catch (err) {
    if (!(err instanceof InvariantViolation) && target.expected(err)) {
      return { label: errorLabel(err) };
    }
    const failure: Failure = {
      kind: err instanceof InvariantViolation ? "invariant" : "untyped-error",
      iteration,
      input,
      message: oneLine(err),
      ...(err instanceof Error && err.stack !== undefined ? { stack: err.stack } : {}),
    };
    return { label: "", failure };
  }
}

/** Fuzzes `target` until `runs` inputs, `seconds`, or the first failure. */
export async function runTarget(target: FuzzTarget, options: RunOptions): Promise<RunResult> {
  if (options.runs === undefined && options.seconds === undefined) {
    throw new RangeError("runTarget needs runs or seconds");
  }
  const maxMs = options.maxMs ?? target.maxMs;
  const sampleMs = options.sampleMs ?? 2000;
  const rng = new Prng(options.seed);
  const seeds = await target.seeds();
  if (seeds.length === 0) throw new RangeError(`target ${target.name} has no seeds`);
  const corpus: Uint8Array[] = seeds.slice();
  const ctx: MutatorContext = {
    maxBytes: target.maxBytes,
    corpus,
    ...(target.dictionary ? { dictionary: target.dictionary } : {}),
  };
  const generic = (input: Uint8Array) => mutate(input, rng, ctx);
  const outcomes = new Map<string, number>();
  let corpusBytes = 0;
  const slowest: SlowInput[] = [];
  const samples: MemorySample[] = [];
  const gc = gcFunction();
  const sample = (inputs: number) => {
    gc?.();
    const m = Deno.memoryUsage();
    samples.push({ inputs, heapUsed: m.heapUsed, rss: m.rss, external: m.external, corpusBytes });
  };

  const start = performance.now();
  const deadline = options.seconds === undefined ? Infinity : start + options.seconds * 1000;
  const runs = options.runs ?? Infinity;
  let nextSample = start + sampleMs;
  let failure: Failure | undefined;
  let last: Uint8Array = seeds[0]!;
  let i = 0;
  sample(0);
  for (; i < runs; i++) {
    const now = performance.now();
    if (now >= deadline) break;
    if (now >= nextSample) {
      sample(i);
      options.onProgress?.(i, now - start);
      nextSample = now + sampleMs;
    }
    let input = i < seeds.length
      ? seeds[i]!
      : target.mutate
      ? target.mutate(rng.pick(corpus), rng, generic)
      : generic(rng.pick(corpus));
    if (input.length > target.maxBytes) input = input.subarray(0, target.maxBytes);
    last = input;
    options.onInput?.(i, input);
    const t0 = performance.now();
    const { label, failure: f } = await runOne(target, input, i);
    let ms = performance.now() - t0;
    if (f) {
      failure = f;
      i++;
      break;
    }
    if (ms > maxMs) {
      // Once more, to tell a slow input from a pause of the (shared) machine.
      const t1 = performance.now();
      await runOne(target, input, i);
      ms = Math.min(ms, performance.now() - t1);
      if (ms > maxMs) {
        failure = {
          kind: "slow",
          iteration: i,
          input,
          message: `one input took ${ms.toFixed(1)} ms (bound ${maxMs} ms), twice`,
        };
        i++;
        break;
      }
    }
    if (slowest.length < SLOWEST_KEPT || ms > slowest[slowest.length - 1]!.ms) {
      slowest.push({ iteration: i, bytes: input.length, ms, input });
      slowest.sort((a, b) => b.ms - a.ms);
      if (slowest.length > SLOWEST_KEPT) slowest.pop();
    }
    const seen = outcomes.get(label);
    if (seen !== undefined) outcomes.set(label, seen + 1);
    else if (outcomes.size < MAX_OUTCOMES) {
      outcomes.set(label, 1);
      if (i >= seeds.length && corpusBytes + input.length <= MAX_CORPUS_BYTES) {
        if (corpus.length < MAX_CORPUS) corpus.push(input);
        else {
          const at = seeds.length + rng.int(MAX_CORPUS - seeds.length);
          corpusBytes -= corpus[at]!.length;
          corpus[at] = input;
        }
        corpusBytes += input.length;
      }
    }
  }
  const seconds = (performance.now() - start) / 1000;
  for (const s of slowest) {
    let best = Infinity;
    for (let k = 0; k < 2; k++) {
      const t0 = performance.now();
      await runOne(target, s.input, s.iteration);
      best = Math.min(best, performance.now() - t0);
    }
    s.replayMs = best;
  }
  sample(i);
  const base = samples.length > 2 ? samples[1]! : samples[0]!;
  const end = samples[samples.length - 1]!;
  const heapGrowth = end.heapUsed - base.heapUsed - (end.corpusBytes - base.corpusBytes);
  const limit = options.maxHeapGrowthMiB ?? 64;
  if (!failure && gc && samples.length > 3 && heapGrowth > limit * MiB) {
    failure = {
      kind: "memory",
      iteration: i - 1,
      input: last,
      message: `heap grew by ${(heapGrowth / MiB).toFixed(1)} MiB after GC (bound ${limit} MiB)`,
    };
  }
  return {
    target: target.name,
    seed: options.seed,
    inputs: i,
    seconds,
    slowest,
    memory: {
      gc: gc !== undefined,
      samples,
      heapGrowth,
      rssGrowth: end.rss - base.rss,
      externalGrowth: end.external - base.external,
    },
    outcomes: outcomes.size,
    topOutcomes: [...outcomes].sort((a, b) => b[1] - a[1]).slice(0, 40),
    corpus: corpus.length,
    ...(failure ? { failure } : {}),
  };
}
