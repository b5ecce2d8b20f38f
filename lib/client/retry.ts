// The client's reconnect loop and its waits: backoff delays (pure arithmetic), an abortable
// sleep, and the attempts themselves (`retryWithBackoff`, the dialling passed in). Timeouts
// are lib/deadline.ts.

import { asError } from "./errors.ts";

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

/** What `retryWithBackoff` calls around each attempt. */
export interface RetryHooks {
  /** Before the wait of attempt `n` (1, 2…), with its delay and the error that led here. */
  waiting(n: number, delayMs: number, last: Error): void;
  /** Attempt `n`; rejects when it failed. */
  attempt(n: number): Promise<void>;
  /** Attempt `n` failed with `error` (not called once the signal has aborted). */
  failed(n: number, error: Error): void;
  /** An error no retry can change: no more attempts. */
  fatal(error: Error): boolean;
}

/**
 * Attempts after a drop caused by `cause`, each after a backoff delay (its attempt number
 * plus `skip`, so quick drops start slower), at most `settings.maxAttempts`. Resolves
 * undefined once an attempt succeeds or `signal` aborts, else with the last error (the
 * attempts ran out, or one failed with an error `fatal` says yes to).
 */
export async function retryWithBackoff(
  settings: BackoffOptions & { readonly maxAttempts?: number },
  skip: number,
  cause: Error,
  signal: AbortSignal,
  hooks: RetryHooks,
): Promise<Error | undefined> {
  const delay = backoff(settings);
  const maxAttempts = settings.maxAttempts ?? Infinity;
  let last: Error = cause;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    if (signal.aborted) return undefined;
    const delayMs = delay(attempt + skip);
    hooks.waiting(attempt + 1, delayMs, last);
    try {
      await sleep(delayMs, signal);
    } catch {
      return undefined;
    }
    try {
      await hooks.attempt(attempt + 1);
      return undefined;
    } catch (err) {
      last = asError(err);
      if (signal.aborted) return undefined;
      hooks.failed(attempt + 1, last);
      if (hooks.fatal(last)) break;
    }
  }
  return last;
}
