// Queue bookkeeping of the messenger (ASL spec section 5, "Limits"): how many undelivered
// messages each recipient has queued and how many of them come from each sender, and the
// in-memory precheck of a MESSAGE's recipients (UNKNOWN_USER before QUEUE_FULL) that the
// store applies after its MESSAGEID check. Pure: counts in, verdicts out; no store, no
// session, no clock.

/** The precheck's verdict on a MESSAGE's recipients (the store's AcceptOp carries it). */
export type Precheck = "pass" | "UNKNOWN_USER" | "QUEUE_FULL";

/** Which USERIDs exist (known, or whose first REGISTER is being committed). */
export interface KnownUsers {
  has(userId: string): boolean;
}

/** A (recipient, sender) queue count, as a store's snapshot lists them. */
export interface QueueCount {
  readonly recipient: string;
  readonly sender: string;
  readonly count: number;
}

/** The spec's defaults: 10 000 per recipient, 1 000 per sender and recipient. */
export const DEFAULT_QUEUE_MAX = 10_000;
export const DEFAULT_SENDER_QUEUE_MAX = 1_000;

/**
 * Queue and pair counts with their limits. A MESSAGE that passes the precheck is counted at
 * once (`add`), before its commit, so that MESSAGEs pipelined behind it see its place taken;
 * the router gives the place back (`remove`) if the store did not accept it, and when the
 * recipient acknowledges the delivery.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Quota } from "./quota.ts";
 * const quota = new Quota(2, 1);
 * const users = new Set(["alice", "bob", "carol"]);
 * assert.equal(quota.precheck("alice", ["bob"], users), "pass");
 * quota.add("alice", ["bob"]);
 * assert.equal(quota.precheck("alice", ["bob"], users), "QUEUE_FULL"); // alice → bob: 1 of 1
 * assert.equal(quota.precheck("carol", ["bob", "zed"], users), "UNKNOWN_USER");
 * assert.equal(quota.queuedFor("bob"), 1);
 * ```
 */
export class Quota {
  readonly #queueCount = new Map<string, number>();
  readonly #pairCount = new Map<string, number>();

  /**
   * `queueMax` undelivered messages per recipient, `senderQueueMax` per sender and
   * recipient; `queues` the counts already queued (a store's snapshot).
   */
  constructor(
    readonly queueMax: number = DEFAULT_QUEUE_MAX,
    readonly senderQueueMax: number = DEFAULT_SENDER_QUEUE_MAX,
    queues: Iterable<QueueCount> = [],
  ) {
    for (const { recipient, sender, count } of queues) {
      bump(this.#queueCount, recipient, count);
      bump(this.#pairCount, pairKey(sender, recipient), count);
    }
  }

  /**
   * The verdict on `sender`'s MESSAGE to `recipients`: `UNKNOWN_USER` if one of them is not
   * in `users`, else `QUEUE_FULL` if one of them has `queueMax` messages queued or
   * `senderQueueMax` from `sender`, else `pass`. Counts nothing.
   */
  precheck(sender: string, recipients: readonly string[], users: KnownUsers): Precheck {
    for (const r of recipients) {
      if (!users.has(r)) return "UNKNOWN_USER";
    }
    for (const r of recipients) {
      if (
        (this.#queueCount.get(r) ?? 0) >= this.queueMax ||
        (this.#pairCount.get(pairKey(sender, r)) ?? 0) >= this.senderQueueMax
      ) {
        return "QUEUE_FULL";
      }
    }
    return "pass";
  }

  /** Counts one message from `sender` queued for each of `recipients`. */
  add(sender: string, recipients: readonly string[]): void {
    for (const r of recipients) this.#bump(sender, r, +1);
  }

  /** Gives back what `add` counted (the message was not accepted after all). */
  remove(sender: string, recipients: readonly string[]): void {
    for (const r of recipients) this.#bump(sender, r, -1);
  }

  /** One message from `sender` left `recipient`'s queue (acknowledged). */
  removeOne(sender: string, recipient: string): void {
    this.#bump(sender, recipient, -1);
  }

  /** Messages queued for `recipient`. */
  queuedFor(recipient: string): number {
    return this.#queueCount.get(recipient) ?? 0;
  }

  /** Messages from `sender` queued for `recipient`. */
  queuedFrom(sender: string, recipient: string): number {
    return this.#pairCount.get(pairKey(sender, recipient)) ?? 0;
  }

  /** Messages queued in all (walks every recipient: for stats, not the hot path). */
  get queued(): number {
    let queued = 0;
    for (const n of this.#queueCount.values()) queued += n;
    return queued;
  }

  /** Recipients with something queued (the memory this bookkeeping holds). */
  get recipients(): number {
    return this.#queueCount.size;
  }

  #bump(sender: string, recipient: string, delta: number): void {
    bump(this.#queueCount, recipient, delta);
    bump(this.#pairCount, pairKey(sender, recipient), delta);
  }
}

/** A USERID has no spaces, so this names one (sender, recipient) pair uniquely. */
function pairKey(sender: string, recipient: string): string {
  return `${sender} ${recipient}`;
}

/** Adds `delta` to `key`'s count; a count that falls to 0 (or below) is forgotten. */
function bump(map: Map<string, number>, key: string, delta: number): void {
  const next = (map.get(key) ?? 0) + delta;
  if (next > 0) map.set(key, next);
  else map.delete(key);
}
