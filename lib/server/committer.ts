// Group commit for the store (ASL spec section 5: `OK` only after a durable commit):
// operations submitted while a transaction is being committed are gathered and committed
// together in the next one, so many messages share one disk flush; a lone operation is
// committed at once (no timer), which keeps latency low when the server is quiet.
// Deferrable operations (acknowledgements: nobody waits for them, and one lost in a crash
// only means a redelivery under the same sid, which section 5 has recipients drop) never
// start a transaction of their own: they ride with the next batch, or are committed
// DEFER_MS later when nothing else comes (at once when someone waits in `idle()`).

import { setImmediate } from "node:timers";
import type { Store, StoreOp, StoreResult } from "./store.ts";

/** Called with the op's result after its transaction committed, or with the error. */
export type CommitCallback = (result: StoreResult | undefined, error?: Error) => void;

/** Most operations in one transaction; the rest wait for the next. */
export const MAX_BATCH_OPS = 4096;
/** Longest a deferrable operation waits for company before it is committed alone, ms. */
export const DEFER_MS = 20;

/**
 * Orders operations into batches and owns the durable sid counter.
 *
 * @example
 * ```ts
 * import { GroupCommitter } from "./committer.ts";
 * import { MemoryStore } from "./store_memory.ts";
 * const committer = new GroupCommitter(new MemoryStore(), 1);
 * committer.submit({ kind: "user", userId: "bob", at: Date.now() }, (result) => {
 *   console.log(result?.kind); // "user"
 * });
 * await committer.idle();
 * ```
 */
export class GroupCommitter {
  #ops: StoreOp[] = [];
  #callbacks: CommitCallback[] = [];
  /** Per queued op: deferrable (may wait for company) or not. */
  #deferrable: boolean[] = [];
  #deferTimer: ReturnType<typeof setTimeout> | undefined;
  #busy = false;
  #scheduled = false;
  #nextSid: number;
  #idleWaiters: (() => void)[] = [];
  /** Transactions committed so far, and operations in them (for logs and tests). */
  batches = 0;
  committedOps = 0;

  readonly #deferMs: number;

  /** `deferMs`: longest a deferrable op waits for company (default DEFER_MS). */
  constructor(private readonly store: Store, nextSid: number, deferMs: number = DEFER_MS) {
    this.#nextSid = nextSid;
    this.#deferMs = deferMs;
  }

  /** Reserves `count` consecutive sids (never handed out again, even after a restart). */
  allocateSids(count: number): number {
    const first = this.#nextSid;
    this.#nextSid += count;
    return first;
  }

  /** Operations waiting for a transaction. */
  get queued(): number {
    return this.#ops.length;
  }

  /**
   * Queues `op` for the next transaction; `done` runs after it committed (or failed).
   * A `deferrable` op does not start a transaction itself: it joins the next one, which
   * starts within `deferMs` (DEFER_MS unless the constructor was given another).
   */
  submit(op: StoreOp, done: CommitCallback, deferrable = false): void {
    this.#ops.push(op);
    this.#callbacks.push(done);
    this.#deferrable.push(deferrable);
    if (deferrable) {
      this.#deferLater();
      return;
    }
    if (!this.#busy && !this.#scheduled) {
      this.#scheduled = true;
      // Not a timer (no delay when quiet). A store that commits on this thread gets the
      // rest of the event-loop turn first (the input of every ready connection joins the
      // batch); otherwise a microtask: the current burst of work joins, and what arrives
      // during the commit elsewhere joins the next batch.
      if (this.store.blocking) setImmediate(this.#runLater);
      else queueMicrotask(this.#runLater);
    }
  }

  /** Resolves once nothing is queued or being committed. */
  idle(): Promise<void> {
    if (!this.#busy && !this.#scheduled && this.#ops.length === 0) return Promise.resolve();
    if (!this.#busy && !this.#scheduled) {
      // Only deferrable ops wait: someone is waiting for them now.
      this.#scheduled = true;
      queueMicrotask(this.#runLater);
    }
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Makes sure queued deferrable ops are committed within `deferMs`. */
  #deferLater(): void {
    if (this.#deferTimer !== undefined || this.#busy || this.#scheduled) return;
    this.#deferTimer = setTimeout(this.#runDeferred, this.#deferMs);
  }

  readonly #runDeferred = (): void => {
    this.#deferTimer = undefined;
    if (!this.#scheduled) this.#run();
  };

  readonly #runLater = (): void => this.#run();

  #run(): void {
    this.#scheduled = false;
    if (this.#busy) return;
    if (this.#ops.length === 0) {
      this.#wakeIdle();
      return;
    }
    if (this.#deferTimer !== undefined) {
      clearTimeout(this.#deferTimer);
      this.#deferTimer = undefined;
    }
    const take = Math.min(this.#ops.length, MAX_BATCH_OPS);
    const ops = this.#ops.splice(0, take);
    const callbacks = this.#callbacks.splice(0, take);
    this.#deferrable.splice(0, take);
    this.#busy = true;
    this.store.apply(ops, this.#nextSid).then(
      (results) => {
        this.batches++;
        this.committedOps += ops.length;
        this.#busy = false;
        for (let i = 0; i < callbacks.length; i++) safely(callbacks[i], results[i]);
        this.#next();
      },
      (error: unknown) => {
        const err = error instanceof Error ? error : new Error(String(error));
        this.#busy = false;
        for (const callback of callbacks) safely(callback, undefined, err);
        this.#next();
      },
    );
  }

  /** After a commit: the next batch, gathered like the first (see `submit`). */
  #next(): void {
    if (this.#scheduled) return;
    const onlyDeferrable = this.#ops.length > 0 && !this.#deferrable.includes(false);
    if (onlyDeferrable && this.#idleWaiters.length === 0) {
      return this.#deferLater();
    }
    if (this.#ops.length === 0 || !this.store.blocking) return this.#run();
    this.#scheduled = true;
    setImmediate(this.#runLater);
  }

  #wakeIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

function safely(
  callback: CommitCallback | undefined,
  result: StoreResult | undefined,
  error?: Error,
): void {
  try {
    if (error === undefined) callback?.(result);
    else callback?.(undefined, error);
  } catch {
    // A callback's fault must not stop the commit loop; callbacks handle their own errors.
  }
}
