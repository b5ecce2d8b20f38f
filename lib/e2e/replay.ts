// The replay memory of ASL-E2E/1 (ASL spec section 7, receiving step 7): the (H.from, H.id)
// pairs of envelopes opened, each kept until 30 days after the later of H.ts and the moment
// it was seen. An interface (async, so that a file-backed one is a drop-in) and the pure
// in-memory MemoryReplayMemory for tests and short-lived use.

/** How long a pair is remembered past the later of H.ts and when it was seen: 30 days. */
export const REPLAY_MEMORY_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * Where seen (from, id) pairs live. `remember` must be atomic for one pair and, in a
 * file-backed store, durable when it resolves.
 */
export interface ReplayMemory {
  /**
   * Remembers (`from`, `id`) until `keepUntil` (ms since 1970; an entry already held keeps
   * the later of its own and this one) and tells whether the pair was already remembered
   * and not yet expired at `now`.
   */
  remember(from: string, id: string, now: number, keepUntil: number): Promise<boolean>;
}

/**
 * An in-memory ReplayMemory (nothing survives the process). Expired pairs are dropped
 * every 1 024 insertions and by `prune`.
 *
 * @example
 * ```ts
 * import { MemoryReplayMemory } from "./replay.ts";
 * const memory = new MemoryReplayMemory();
 * console.log(await memory.remember("alice", "X7CEemEaSSNqS8Op0ECcFQ", 0, 10)); // false
 * console.log(await memory.remember("alice", "X7CEemEaSSNqS8Op0ECcFQ", 5, 10)); // true
 * ```
 */
export class MemoryReplayMemory implements ReplayMemory {
  readonly #until = new Map<string, number>();
  #inserts = 0;

  /** Number of pairs held (expired ones included until pruned). */
  get size(): number {
    return this.#until.size;
  }

  /** Remembers the pair; true when it was already remembered at `now`. */
  remember(from: string, id: string, now: number, keepUntil: number): Promise<boolean> {
    const key = `${from}\u0000${id}`;
    const held = this.#until.get(key);
    const seen = held !== undefined && held >= now;
    this.#until.set(key, seen ? Math.max(held, keepUntil) : keepUntil);
    if (!seen && ++this.#inserts % 1024 === 0) this.prune(now);
    return Promise.resolve(seen);
  }

  /** Drops every pair whose time ran out before `now`. */
  prune(now: number): void {
    for (const [key, until] of this.#until) if (until < now) this.#until.delete(key);
  }
}
