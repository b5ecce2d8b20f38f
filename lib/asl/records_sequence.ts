// The record sequence numbers (spec section 3, "Records"): each direction counts its records
// from 0, one per record; a side sends at most 2^23 per direction in one connection and closes
// before it would send more (a receiver that sees more closes too).

import { AslError } from "./errors.ts";

/** Most records one side sends (or accepts) per direction in one connection: 2^23. */
export const MAX_RECORDS = 2 ** 23;

/**
 * Owns one direction's sequence number: starts at 0, `take()` returns the next and refuses to
 * go past `limit` (2^23 by default) with `AslError("CLOSED")`.
 */
export class SequenceCounter {
  #next = 0;
  constructor(readonly limit: number = MAX_RECORDS) {}
  /** The number the next record will get. */
  get value(): number {
    return this.#next;
  }
  /** True when no further record may pass. */
  get exhausted(): boolean {
    return this.#next >= this.limit;
  }
  /** Returns the next sequence number and advances. */
  take(): number {
    if (this.#next >= this.limit) {
      throw new AslError("CLOSED", `record limit of ${this.limit} per direction reached`);
    }
    return this.#next++;
  }
}
