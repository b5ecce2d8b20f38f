// Tests lib/deadline.ts: the one timer race (value or error through, TIMEOUT when late,
// the caller's onTimeout). Tiny timeouts only; the test sanitizers fail on a leaked timer.

import assert from "node:assert/strict";
import { deadline, DeadlineError } from "../lib/deadline.ts";

const never = <T>() => new Promise<T>(() => {});

Deno.test("deadline passes a value or an error through and clears its timer", async () => {
  assert.equal(await deadline(Promise.resolve(7), 60_000), 7);
  const boom = new Error("boom");
  await assert.rejects(deadline(Promise.reject(boom), 60_000), (err) => err === boom);
  let called = 0;
  assert.equal(await deadline(Promise.resolve("x"), 60_000, () => called++), "x");
  assert.equal(called, 0);
});

Deno.test("deadline rejects with DeadlineError TIMEOUT naming the operation when late", async () => {
  await assert.rejects(deadline(never(), 1, "REGISTER"), (err: unknown) => {
    assert.ok(err instanceof DeadlineError);
    assert.equal(err.code, "TIMEOUT");
    assert.equal(err.ms, 1);
    assert.equal(err.message, "REGISTER did not finish within 1 ms");
    return true;
  });
  await assert.rejects(
    deadline(never(), 0),
    (err: unknown) =>
      err instanceof DeadlineError && err.message === "operation did not finish within 0 ms",
  );
});

Deno.test("deadline settles with what onTimeout returns, throws or resolves to", async () => {
  assert.equal(await deadline(never<number>(), 1, () => "gave up"), "gave up");
  assert.equal(await deadline(never<number>(), 1, () => Promise.resolve(3)), 3);
  const own = new RangeError("own error");
  await assert.rejects(
    deadline(never(), 1, () => {
      throw own;
    }),
    (err) => err === own,
  );
  await assert.rejects(deadline(never(), 1, () => Promise.reject(own)), (err) => err === own);
});

Deno.test("deadline: a rejection after the timeout is handled, not reported", async () => {
  const late = Promise.withResolvers<number>();
  await assert.rejects(deadline(late.promise, 1), DeadlineError);
  late.reject(new Error("too late"));
  // An unhandled rejection would fail this test; give it the turn to surface.
  await Promise.resolve();
});
