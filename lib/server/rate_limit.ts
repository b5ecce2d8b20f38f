// Command rate limiting (ASL spec section 5, "Limits"): token buckets, one per USERID
// across all its sessions once registered, one per session before. Pure: the caller
// passes the clock, so tests need no real waiting.

/** Rate settings: `rate` tokens per second refill a bucket of `burst`; `rate` 0 turns it off. */
export interface RateSettings {
  readonly rate: number;
  readonly burst: number;
}

/** The spec's default: 1 000 commands per second with bursts of 2 000. */
export const DEFAULT_RATE: RateSettings = { rate: 1000, burst: 2000 };

/**
 * One token bucket. Starts full; `take(now)` spends one token or reports the limit.
 *
 * @example
 * ```ts
 * import { TokenBucket } from "./rate_limit.ts";
 * const bucket = new TokenBucket({ rate: 1, burst: 2 }, 0);
 * console.log(bucket.take(0), bucket.take(0), bucket.take(0)); // true true false
 * console.log(bucket.take(1000)); // true (one token refilled after a second)
 * ```
 */
export class TokenBucket {
  #tokens: number;
  #last: number;
  constructor(private readonly settings: RateSettings, now: number) {
    this.#tokens = settings.burst;
    this.#last = now;
  }

  /** Spends one token at time `now` (milliseconds); false when the bucket is empty. */
  take(now: number): boolean {
    const { rate, burst } = this.settings;
    if (rate <= 0) return true;
    if (now > this.#last) {
      this.#tokens = Math.min(burst, this.#tokens + ((now - this.#last) * rate) / 1000);
      this.#last = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** True when the bucket would be full at `now` (it can be forgotten without effect). */
  isFull(now: number): boolean {
    const { rate, burst } = this.settings;
    return rate <= 0 || this.#tokens + ((now - this.#last) * rate) / 1000 >= burst;
  }
}

/**
 * Buckets per USERID, shared by all sessions of that user. Full buckets are forgotten by
 * `sweep`, which keeps memory proportional to the users active in the last few seconds.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, TokenBucket>();
  constructor(readonly settings: RateSettings = DEFAULT_RATE) {}

  /** True when rate limiting is off. */
  get off(): boolean {
    return this.settings.rate <= 0;
  }

  /** Spends one token of `userId`'s bucket. */
  take(userId: string, now: number): boolean {
    if (this.off) return true;
    let bucket = this.#buckets.get(userId);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.settings, now);
      this.#buckets.set(userId, bucket);
    }
    return bucket.take(now);
  }

  /** A bucket for one unregistered session. */
  sessionBucket(now: number): TokenBucket {
    return new TokenBucket(this.settings, now);
  }

  /** Forgets buckets that are full again; returns how many remain. */
  sweep(now: number): number {
    for (const [userId, bucket] of this.#buckets) {
      if (bucket.isFull(now)) this.#buckets.delete(userId);
    }
    return this.#buckets.size;
  }
}
