// The waits of the client's reconnect loop: backoff delays (pure arithmetic) and an
// abortable sleep. Timeouts are lib/deadline.ts.

/** How reconnect delays grow.
 *
 * @example
 * ```ts
 * import type { BackoffOptions } from "@netsec/msg";
 * const gentle: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.5 };
 * ```
 */
export interface BackoffOptions {
  /** Delay before the first retry, ms; default 250. */
  readonly initialMs?: number;
  /** Largest delay, ms; default 10 000. */
  readonly maxMs?: number;
  /** Growth per attempt; default 2. */
  readonly factor?: number;
  /** Fraction of each delay that is random (0 to 1); default 0.5. */
  readonly jitter?: number;
  /** Random source in [0, 1); default `Math.random`. */
  readonly random?: () => number;
}

/**
 * Returns `delay(attempt)` for attempt 0, 1, 2…: `min(maxMs, initialMs * factor^attempt)`,
 * of which the `jitter` fraction is scaled by a random number, so clients that lost the
 * same server do not all come back at once.
 */
export function backoff(options: BackoffOptions = {}): (attempt: number) => number {
  const initial = options.initialMs ?? 250;
  const max = options.maxMs ?? 10_000;
  const factor = options.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const random = options.random ?? Math.random;
  return (attempt) => {
    const base = Math.min(max, initial * factor ** Math.max(0, attempt));
    return Math.round(base * (1 - jitter) + base * jitter * random());
  };
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
