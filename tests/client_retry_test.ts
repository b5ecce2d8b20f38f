// Tests lib/client/retry.ts: backoff arithmetic with injected randomness, sleep (deadline:
// tests/deadline_test.ts).

import assert from "node:assert/strict";
import { backoff, sleep } from "../lib/client/retry.ts";

Deno.test("backoff grows by the factor and stops at the maximum", () => {
  const delay = backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 });
  assert.deepEqual([0, 1, 2, 3, 4, 10].map(delay), [100, 200, 400, 800, 1000, 1000]);
});

Deno.test("backoff jitter spreads the delay inside [base*(1-j), base]", () => {
  const low = backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5, random: () => 0 });
  const high = backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5, random: () => 0.999999 });
  assert.equal(low(0), 50);
  assert.equal(high(0), 100);
  assert.equal(low(3), 400);
  assert.equal(high(3), 800);
  const values = [0.1, 0.7, 0.3];
  let i = 0;
  const seq = backoff({ initialMs: 1000, jitter: 1, random: () => values[i++]! });
  assert.deepEqual([seq(0), seq(0), seq(0)], [100, 700, 300]);
});

Deno.test("backoff clamps jitter and negative attempts", () => {
  const delay = backoff({ initialMs: 200, jitter: 5, random: () => 0.5 });
  assert.equal(delay(-3), 100);
});

Deno.test("sleep is cut short by an abort signal", async () => {
  const ctl = new AbortController();
  const p = sleep(60_000, ctl.signal);
  ctl.abort(new Error("stop"));
  await assert.rejects(p, /stop/);
  await assert.rejects(sleep(1, AbortSignal.abort(new Error("already"))), /already/);
  await sleep(0);
});
