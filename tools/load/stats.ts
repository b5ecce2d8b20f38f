// Statistics for the load tool (issue #6): nearest-rank percentiles over latency samples,
// a latency summary, and ratios against the baseline. Pure functions, no I/O.

/** A latency summary in ms: sample count, nearest-rank p50 and p99, largest. */
export interface LatencySummary {
  readonly count: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
}

/**
 * The nearest-rank percentile `p` (0 < p ≤ 100) of samples already sorted ascending, e.g.
 * 2 for `([1, 2, 3, 4], 50)`. Throws a RangeError for an empty list or a `p` outside (0, 100].
 */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError("percentile of an empty sample list");
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile ${p} is outside (0, 100]`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** Summarises latency samples (milliseconds, any order). An empty list gives zeros. */
export function summarize(samples: ArrayLike<number>): LatencySummary {
  const n = samples.length;
  if (n === 0) return { count: 0, p50_ms: 0, p99_ms: 0, max_ms: 0 };
  const sorted = Float64Array.from(samples).sort();
  return {
    count: n,
    p50_ms: percentileSorted(sorted, 50),
    p99_ms: percentileSorted(sorted, 99),
    max_ms: sorted[n - 1] as number,
  };
}

/** A figure that may not have been measured. */
export type Measured = number | null | undefined;

/** `value / base`, or `null` when either is missing or the base is not positive. */
export function ratio(value: Measured, base: Measured): number | null {
  if (value === null || value === undefined || base === null || base === undefined) return null;
  return base > 0 && Number.isFinite(value) ? value / base : null;
}

/** Rounds to `digits` decimals (for reports and JSON). */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A growable array of float samples that never reallocates per sample (chunks of 64 Ki). */
export class SampleBuffer {
  #chunks: Float64Array[] = [];
  #fill = 0;
  #count = 0;
  static readonly CHUNK = 65_536;

  /** Appends one sample. */
  push(value: number): void {
    let last = this.#chunks[this.#chunks.length - 1];
    if (last === undefined || this.#fill === SampleBuffer.CHUNK) {
      last = new Float64Array(SampleBuffer.CHUNK);
      this.#chunks.push(last);
      this.#fill = 0;
    }
    last[this.#fill++] = value;
    this.#count++;
  }

  /** Number of samples. */
  get length(): number {
    return this.#count;
  }

  /** All samples as one array. */
  toArray(): Float64Array {
    const out = new Float64Array(this.#count);
    let at = 0;
    for (const chunk of this.#chunks) {
      const take = Math.min(chunk.length, this.#count - at);
      out.set(chunk.subarray(0, take), at);
      at += take;
    }
    return out;
  }
}
