// Tests of tools/load/stats.ts: nearest-rank percentiles, summaries, ratios, SampleBuffer.

import assert from "node:assert/strict";
import { percentileSorted, ratio, round, SampleBuffer, summarize } from "../tools/load/stats.ts";

Deno.test("percentileSorted uses the nearest rank", () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  assert.equal(percentileSorted(xs, 50), 50);
  assert.equal(percentileSorted(xs, 99), 99);
  assert.equal(percentileSorted(xs, 100), 100);
  assert.equal(percentileSorted(xs, 0.5), 1);
  assert.equal(percentileSorted([7], 99), 7);
  assert.equal(percentileSorted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99), 10);
  assert.equal(percentileSorted([1, 2, 3, 4], 50), 2);
  assert.equal(percentileSorted([1, 2, 3, 4], 51), 3);
});

Deno.test("percentileSorted rejects an empty list and p outside (0, 100]", () => {
  assert.throws(() => percentileSorted([], 50), RangeError);
  assert.throws(() => percentileSorted([1], 0), RangeError);
  assert.throws(() => percentileSorted([1], 100.5), RangeError);
  assert.throws(() => percentileSorted([1], Number.NaN), RangeError);
});

Deno.test("summarize sorts numerically and reports p50/p99/max", () => {
  // Lexical sorting would put 10 before 9; numeric must not.
  const s = summarize([10, 9, 1, 100, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(s.count, 11);
  assert.equal(s.p50_ms, 6);
  assert.equal(s.p99_ms, 100);
  assert.equal(s.max_ms, 100);
  assert.deepEqual(summarize([]), { count: 0, p50_ms: 0, p99_ms: 0, max_ms: 0 });
});

Deno.test("ratio is null for a missing or non-positive base", () => {
  assert.equal(ratio(30, 60), 0.5);
  assert.equal(ratio(30, 0), null);
  assert.equal(ratio(undefined, 10), null);
  assert.equal(ratio(10, undefined), null);
  assert.equal(ratio(Number.NaN, 10), null);
  assert.equal(round(1.23456, 2), 1.23);
  assert.equal(round(1234.5, 0), 1235);
});

Deno.test("SampleBuffer keeps every sample across chunk boundaries", () => {
  const b = new SampleBuffer();
  const n = SampleBuffer.CHUNK * 2 + 17;
  for (let i = 0; i < n; i++) b.push(i * 0.5);
  assert.equal(b.length, n);
  const all = b.toArray();
  assert.equal(all.length, n);
  assert.equal(all[0], 0);
  assert.equal(all[SampleBuffer.CHUNK], SampleBuffer.CHUNK * 0.5);
  assert.equal(all[n - 1], (n - 1) * 0.5);
  assert.equal(new SampleBuffer().toArray().length, 0);
});
