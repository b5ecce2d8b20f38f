// The one timer race of the project (issue 14, item 5): settle like a promise, or do what
// the caller says when it has not settled in time (by default reject with DeadlineError).
// The timer is cleared as soon as the promise settles, so nothing keeps a process alive.

/**
 * A {@link deadline} passed without its promise settling: `code` is always `TIMEOUT`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DeadlineError } from "./deadline.ts";
 * const err = new DeadlineError(50, "REGISTER");
 * assert.equal(err.code, "TIMEOUT");
 * assert.equal(err.message, "REGISTER did not finish within 50 ms");
 * ```
 */
export class DeadlineError extends Error {
  /** Always `DeadlineError`. */
  override name = "DeadlineError";
  /** The machine-readable code: always `TIMEOUT`. */
  readonly code = "TIMEOUT";
  /** The milliseconds that were allowed. */
  readonly ms: number;
  /** Names the late operation (`what`, default "operation") in the message. */
  constructor(ms: number, what = "operation") {
    super(`${what} did not finish within ${ms} ms`);
    this.ms = ms;
  }
}

/**
 * Settles like `promise` when it settles within `ms` milliseconds. Otherwise: when
 * `onTimeout` is a function, the deadline settles with what it returns (or rejects with what
 * it throws), e.g. `() => undefined` to just stop waiting, or a thrower of the layer's own
 * error; when it is a string or absent, it rejects with a {@link DeadlineError} naming it.
 * The timer is cleared either way; a late rejection of `promise` is handled, not reported.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deadline, DeadlineError } from "./deadline.ts";
 * assert.equal(await deadline(Promise.resolve(7), 1_000), 7);
 * const never = new Promise<number>(() => {});
 * await assert.rejects(deadline(never, 1, "REGISTER"), DeadlineError);
 * assert.equal(await deadline(never, 1, () => "gave up"), "gave up");
 * ```
 */
export function deadline<T, U = never>(
  promise: PromiseLike<T>,
  ms: number,
  onTimeout?: string | (() => U | PromiseLike<U>),
): Promise<T | U> {
  return new Promise<T | U>((resolve, reject) => {
    const timer = setTimeout(() => {
      if (typeof onTimeout !== "function") return reject(new DeadlineError(ms, onTimeout));
      try {
        Promise.resolve(onTimeout()).then(resolve, reject);
      } catch (err) {
        reject(err);
      }
    }, ms);
    Promise.resolve(promise).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
