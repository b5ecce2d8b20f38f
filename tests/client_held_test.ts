// Tests lib/client/held.ts: the inbox's held deliveries (by digest, in order, per key) and
// their backoff timers, with the timers injected (nothing waits).

import assert from "node:assert/strict";
import {
  defaultRetryDelay,
  type Held,
  HeldDeliveries,
  type HeldTimers,
} from "../lib/client/held.ts";

/** Timers that run only when `fire` is called. */
function manualTimers() {
  let next = 1;
  const pending = new Map<number, { fn: () => void; ms: number }>();
  const timers: HeldTimers = {
    set: (fn, ms) => {
      const id = next++;
      pending.set(id, { fn, ms });
      return id;
    },
    clear: (id) => void pending.delete(id as number),
  };
  const fire = () => {
    const due = [...pending.values()];
    pending.clear();
    for (const t of due) t.fn();
  };
  return { timers, pending, fire };
}

function held(key: string, retry: boolean, attempts = 1): Held<string> {
  return {
    target: "session",
    delivery: { sid: "1", from: key, payload: new Uint8Array() },
    key,
    retry,
    attempts,
  };
}

Deno.test("held: digests by key in the order held; take removes; size counts", () => {
  const list = new HeldDeliveries<string>(() => assert.fail("no timer expected"));
  list.hold("d1", held("bob", false), 0);
  list.hold("d2", held("carol", false), 0);
  list.hold("d3", held("bob", false), 0);
  assert.equal(list.size, 3);
  assert.deepEqual(list.digests("bob"), ["d1", "d3"]);
  assert.deepEqual(list.digests(), ["d1", "d2", "d3"]);
  assert.equal(list.get("d2")?.key, "carol");
  assert.equal(list.take("d1")?.key, "bob");
  assert.equal(list.take("d1"), undefined);
  assert.deepEqual(list.digests("bob"), ["d3"]);
  assert.equal(list.size, 2);
});

Deno.test("held: a retrying delivery is due after its attempt's delay; take cancels the timer", () => {
  const { timers, pending, fire } = manualTimers();
  const due: string[] = [];
  const list = new HeldDeliveries<string>(
    (d) => due.push(d),
    (attempt) => 100 * (attempt + 1),
    timers,
  );
  list.hold("d1", held("bob", true, 3), 2);
  list.hold("d2", held("bob", true), 0);
  list.hold("d3", held("bob", false), 0); // waits for retryHeld only
  assert.deepEqual([...pending.values()].map((t) => t.ms), [300, 100]);
  list.take("d2");
  assert.equal(pending.size, 1);
  fire();
  assert.deepEqual(due, ["d1"]);
  assert.equal(list.size, 2); // due only tells the inbox; it takes the delivery itself
});

Deno.test("held: stop cancels every timer and keeps the deliveries counted", () => {
  const { timers, pending, fire } = manualTimers();
  const due: string[] = [];
  const list = new HeldDeliveries<string>((d) => due.push(d), defaultRetryDelay, timers);
  list.hold("d1", held("bob", true), 0);
  list.hold("d2", held("carol", true), 1);
  list.stop();
  assert.equal(pending.size, 0);
  fire();
  assert.deepEqual(due, []);
  assert.equal(list.size, 2);
});

Deno.test("held: the default backoff is 1 s doubling to 60 s", () => {
  assert.deepEqual([0, 1, 2, 5, 6, 7, 50].map(defaultRetryDelay), [
    1_000,
    2_000,
    4_000,
    32_000,
    60_000,
    60_000,
    60_000,
  ]);
});
