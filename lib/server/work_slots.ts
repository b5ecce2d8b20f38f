// A counting gate for the server's handshake work (ASL spec section 2; issue 13): at most N
// stretches of expensive handshake work at once, the others waiting in FIFO order; opened
// for good at shutdown so nobody waits on a stopping server.

/**
 * At most `limit` holders at once; `take()` waits (FIFO) for a free slot and resolves with
 * the function that gives it back (idempotent). After `open()` every wait ends at once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WorkSlots } from "./work_slots.ts";
 * const slots = new WorkSlots(1);
 * const release = await slots.take();
 * let second = false;
 * const waiting = slots.take().then((r) => (second = true, r));
 * await Promise.resolve();
 * assert.equal(second, false);
 * release();
 * (await waiting)();
 * assert.equal(slots.busy, 0);
 * ```
 */
export class WorkSlots {
  #busy = 0;
  #waiters: (() => void)[] = [];
  #open = false;

  constructor(readonly limit: number) {}

  /** Slots taken now. */
  get busy(): number {
    return this.#busy;
  }

  /** Waits for a slot; resolves with its release function. */
  async take(): Promise<() => void> {
    while (this.#busy >= this.limit && !this.#open) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    this.#busy++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#busy--;
      this.#waiters.shift()?.();
    };
  }

  /** Lets every waiter through, now and later (shutdown). */
  open(): void {
    this.#open = true;
    for (const wake of this.#waiters.splice(0)) wake();
  }
}
