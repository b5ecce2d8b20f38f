// What the inbox's `open` step decides for a delivery (`Opened`), and the held deliveries
// (ASL spec section 7, "Receiving": a delivery whose sender's certificate waits for the
// person's decision, or whose `CERT` could not be asked, is set aside unanswered).
// Bookkeeping only: which deliveries are held, by digest, what each waits
// for (`key`), how many times it was tried, and the backoff timer that hands it back to the
// inbox (inbox.ts) to be opened again. The timers are injectable, so it is tested without
// waiting.

import type { Delivery } from "./replies.ts";
import type { IncomingMessage } from "./types.ts";

/** What the `open` step decided for a delivery. */
export type Opened =
  /** Show it (acknowledged once the consumer took it). */
  | { readonly kind: "show"; readonly message: IncomingMessage }
  /** Answer `FAILED <sid> <reason>`; never shown; counts as seen. */
  | { readonly kind: "refuse"; readonly reason: string }
  /** Answer `OK <sid>` without showing it (a replay); counts as seen. */
  | { readonly kind: "drop" }
  /**
   * Set it aside, unanswered and not seen. `key` names what it waits for (the sender, for
   * `retryHeld`); `retry`: try again by itself after a backoff.
   */
  | { readonly kind: "hold"; readonly key: string; readonly retry: boolean };

/** One held delivery; `T` is the inbox's acknowledgement target. */
export interface Held<T> {
  readonly target: T;
  readonly delivery: Delivery;
  /** What it waits for (the sender, for `retryHeld`). */
  readonly key: string;
  /** Opened again by itself after a backoff. */
  readonly retry: boolean;
  /** Times it has been opened. */
  readonly attempts: number;
}

/** The timer functions `HeldDeliveries` uses; `setTimeout`/`clearTimeout` by default. */
export interface HeldTimers {
  set(fn: () => void, ms: number): unknown;
  clear(timer: unknown): void;
}

const REAL_TIMERS: HeldTimers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
};

/** Delay before a held delivery is opened again, by attempt: 1 s doubling to 60 s. */
export function defaultRetryDelay(attempt: number): number {
  return Math.min(1_000 * 2 ** Math.min(attempt, 6), 60_000);
}

/**
 * Held deliveries by digest, in the order they were held.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HeldDeliveries } from "./held.ts";
 * const due: string[] = [];
 * const held = new HeldDeliveries<string>((digest) => due.push(digest));
 * const delivery = { sid: "1", from: "bob", payload: new Uint8Array() };
 * held.hold("d1", { target: "s", delivery, key: "bob", retry: false, attempts: 1 }, 0);
 * assert.deepEqual(held.digests("bob"), ["d1"]);
 * assert.equal(held.take("d1")?.attempts, 1);
 * assert.equal(held.size, 0);
 * ```
 */
export class HeldDeliveries<T> {
  readonly #held = new Map<string, Held<T>>();
  readonly #timers = new Map<string, unknown>();
  readonly #due: (digest: string) => void;
  readonly #delay: (attempt: number) => number;
  readonly #clock: HeldTimers;

  /** `due(digest)`: a held delivery's backoff ended (the inbox opens it again). */
  constructor(
    due: (digest: string) => void,
    retryDelay: (attempt: number) => number = defaultRetryDelay,
    timers: HeldTimers = REAL_TIMERS,
  ) {
    this.#due = due;
    this.#delay = retryDelay;
    this.#clock = timers;
  }

  /** How many deliveries are held. */
  get size(): number {
    return this.#held.size;
  }

  /** The held delivery of `digest`, if any. */
  get(digest: string): Held<T> | undefined {
    return this.#held.get(digest);
  }

  /**
   * Holds `held` under `digest`; with `retry`, `due(digest)` is called after the backoff of
   * attempt `attempt` (the number of times it had been tried before this one).
   */
  hold(digest: string, held: Held<T>, attempt: number): void {
    this.#held.set(digest, held);
    if (held.retry) {
      this.#timers.set(digest, this.#clock.set(() => this.#due(digest), this.#delay(attempt)));
    }
  }

  /** Removes and returns the held delivery of `digest` (its timer cancelled). */
  take(digest: string): Held<T> | undefined {
    const held = this.#held.get(digest);
    if (held === undefined) return undefined;
    this.#cancel(digest);
    this.#held.delete(digest);
    return held;
  }

  /** The digests held for `key` (all when undefined), in the order they were held. */
  digests(key?: string): string[] {
    const out: string[] = [];
    for (const [digest, held] of this.#held) {
      if (key === undefined || held.key === key) out.push(digest);
    }
    return out;
  }

  /** Cancels every backoff timer (the inbox closed); the deliveries stay counted. */
  stop(): void {
    for (const digest of [...this.#timers.keys()]) this.#cancel(digest);
  }

  #cancel(digest: string): void {
    if (!this.#timers.has(digest)) return;
    this.#clock.clear(this.#timers.get(digest));
    this.#timers.delete(digest);
  }
}
