// Tests lib/client/retry.ts: backoff arithmetic with injected randomness, sleep, the reconnect
// loop (retryWithBackoff) with (near) zero delays (deadline: tests/deadline_test.ts).

import assert from "node:assert/strict";
import { backoff, retryWithBackoff, sleep } from "../lib/client/retry.ts";

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

const NO_WAIT = { initialMs: 0, maxMs: 0, jitter: 0 };

function recorder(outcomes: Array<Error | undefined>, fatal: (e: Error) => boolean = () => false) {
  const seen: string[] = [];
  return {
    seen,
    hooks: {
      waiting: (n: number, ms: number, last: Error) => seen.push(`wait ${n} ${ms} ${last.message}`),
      attempt: (n: number) => {
        seen.push(`try ${n}`);
        const outcome = outcomes[n - 1];
        return outcome === undefined ? Promise.resolve() : Promise.reject(outcome);
      },
      failed: (n: number, e: Error) => seen.push(`failed ${n} ${e.message}`),
      fatal,
    },
  };
}

Deno.test("retryWithBackoff: retries until an attempt succeeds, then resolves undefined", async () => {
  const { seen, hooks } = recorder([new Error("a"), new Error("b"), undefined]);
  const last = await retryWithBackoff(
    NO_WAIT,
    0,
    new Error("drop"),
    new AbortController().signal,
    hooks,
  );
  assert.equal(last, undefined);
  assert.deepEqual(seen, [
    "wait 1 0 drop",
    "try 1",
    "failed 1 a",
    "wait 2 0 a",
    "try 2",
    "failed 2 b",
    "wait 3 0 b",
    "try 3",
  ]);
});

Deno.test("retryWithBackoff: maxAttempts ends with the last error; a fatal one ends at once", async () => {
  const signal = new AbortController().signal;
  const two = recorder([new Error("a"), new Error("b"), undefined]);
  const last = await retryWithBackoff(
    { ...NO_WAIT, maxAttempts: 2 },
    0,
    new Error("drop"),
    signal,
    two.hooks,
  );
  assert.equal(last?.message, "b");
  assert.equal(two.seen.filter((s) => s.startsWith("try")).length, 2);
  const fatal = recorder([new Error("refused"), undefined], (e) => e.message === "refused");
  const stop = await retryWithBackoff(NO_WAIT, 0, new Error("drop"), signal, fatal.hooks);
  assert.equal(stop?.message, "refused");
  assert.deepEqual(fatal.seen, ["wait 1 0 drop", "try 1", "failed 1 refused"]);
});

Deno.test("retryWithBackoff: skip starts the delays later; an aborted signal tries nothing", async () => {
  const { seen, hooks } = recorder([undefined]);
  const slow = { initialMs: 1, maxMs: 1000, jitter: 0 };
  await retryWithBackoff(slow, 3, new Error("drop"), new AbortController().signal, hooks);
  assert.deepEqual(seen, ["wait 1 8 drop", "try 1"]); // attempt 0 + skip 3: 1 * 2^3 ms
  const aborted = new AbortController();
  aborted.abort(new Error("closed"));
  const none = recorder([undefined]);
  assert.equal(
    await retryWithBackoff(NO_WAIT, 0, new Error("drop"), aborted.signal, none.hooks),
    undefined,
  );
  assert.deepEqual(none.seen, []);
});
