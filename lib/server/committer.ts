// Group commit for the store (ASL spec section 5: `OK` only after a durable commit):
// operations submitted while a transaction is being committed are gathered and committed
// together in the next one, so many messages share one disk flush; a lone operation is
// committed at once (no timer), which keeps latency low when the server is quiet.
// Deferrable operations (acknowledgements: nobody waits for them, and one lost in a crash
// only means a redelivery under the same sid, which section 5 has recipients drop) never
// start a transaction of their own: they ride with the next batch, or are committed
// DEFER_MS later when nothing else comes (at once when someone waits in `idle()`).
// Sids: accepted messages get theirs when their batch starts, from a lease of the store
// (the whole space at once for a single-node store; blocks from a database sequence for a
// shared one, refilled ahead of need so a batch rarely waits for one).

import { setImmediate } from "node:timers";
import type { SidLease, Store, StoreOp, StoreResult } from "./store.ts";

/** Called with the op's result after its transaction committed, or with the error. */
export type CommitCallback = (result: StoreResult | undefined, error?: Error) => void;

/** Most operations in one transaction; the rest wait for the next. */
export const MAX_BATCH_OPS = 4096;
/** Longest a deferrable operation waits for company before it is committed alone, ms. */
export const DEFER_MS = 20;

/**
 * Orders operations into batches and hands out sids from the store's leases.
 *
 * @example
 * ```ts
 * import { GroupCommitter } from "./committer.ts";
 * import { MemoryStore } from "./store_memory.ts";
 * const committer = new GroupCommitter(new MemoryStore());
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
  /** The current lease: sids `#sid` up to `#sidEnd` are free to hand out. */
  #sid = 0;
  #sidEnd = 0;
  /** The next lease, taken ahead of need (shared stores), and the request for it. */
  #spare: SidLease | undefined;
  #leasing: Promise<void> | undefined;
  #idleWaiters: (() => void)[] = [];
  /** Transactions committed so far, and operations in them (for logs and tests). */
  batches = 0;
  committedOps = 0;

  readonly #deferMs: number;

  /** `deferMs`: longest a deferrable op waits for company (default DEFER_MS). */
  constructor(private readonly store: Store, deferMs: number = DEFER_MS) {
    this.#deferMs = deferMs;
  }

  /**
   * Gives each accept op of `ops` that passed its precheck its sids from the lease; false
   * (nothing assigned) when the lease runs short and a new one must come first.
   */
  #assignSids(ops: readonly StoreOp[]): boolean {
    let sid = this.#sid;
    let end = this.#sidEnd;
    let spare = this.#spare;
    const firsts: number[] = [];
    for (const op of ops) {
      if (op.kind !== "accept" || op.precheck !== "pass" || op.firstSid !== 0) continue;
      const n = op.recipients.length;
      if (sid + n > end) {
        // A message's sids are consecutive: the rest of a block that cannot hold them goes.
        if (spare === undefined || spare.first + n > spare.end) return false;
        sid = spare.first;
        end = spare.end;
        spare = undefined;
      }
      firsts.push(sid);
      sid += n;
    }
    let i = 0;
    for (const op of ops) {
      if (op.kind !== "accept" || op.precheck !== "pass" || op.firstSid !== 0) continue;
      op.firstSid = firsts[i++]!;
    }
    this.#sid = sid;
    this.#sidEnd = end;
    this.#spare = spare;
    // Ahead of need: the next block is asked for when half of this one is spent.
    if (spare === undefined && this.#leasing === undefined && this.#sidEnd !== 0) {
      const size = this.#sidEnd - this.#sid;
      if (size < this.#leaseSize / 2) void this.#lease().catch(() => {});
    }
    return true;
  }

  /** Size of the last lease taken (the refill threshold is half of it). */
  #leaseSize = 0;

  /** Takes one more lease into the spare slot (one request at a time). */
  #lease(): Promise<void> {
    this.#leasing ??= this.store.leaseSids().then((lease) => {
      this.#leasing = undefined;
      this.#leaseSize = lease.end - lease.first;
      if (this.#sidEnd - this.#sid <= 0 && this.#spare === undefined) {
        this.#sid = lease.first;
        this.#sidEnd = lease.end;
      } else this.#spare = lease;
    }, (error: unknown) => {
      this.#leasing = undefined;
      throw error;
    });
    return this.#leasing;
  }

  /** Leases until `ops` can have their sids, then assigns them. */
  async #assignSidsLater(ops: readonly StoreOp[]): Promise<void> {
    for (let tries = 0; !this.#assignSids(ops); tries++) {
      if (tries > 8) throw new Error("no sid lease large enough");
      if (this.#spare !== undefined) {
        // The current block cannot hold the next message: move on to the spare one.
        this.#sid = this.#sidEnd;
      }
      await this.#lease();
    }
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
    const applied = this.#assignSids(ops)
      ? this.store.apply(ops)
      : this.#assignSidsLater(ops).then(() => this.store.apply(ops));
    applied.then(
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
