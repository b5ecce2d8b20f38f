// Shapes of the fuzz harness (issue 13): a target (seeds, one run per input, which errors
// are the module's own), and the error a target throws when one of its own oracles fails.

import type { Prng } from "./prng.ts";

/**
 * One thing to fuzz. `run` feeds one input to the module under test and returns an
 * outcome label (used to keep inputs that reach a new outcome as further seeds); it may
 * throw, and `expected` says whether what it threw is the module's own typed error.
 */
export interface FuzzTarget {
  /** Name used by `--target`. */
  readonly name: string;
  /** One line for `--help` and the report. */
  readonly description: string;
  /** Largest input the mutator may produce, in bytes. */
  readonly maxBytes: number;
  /** Default bound on the time of one input, in milliseconds. */
  readonly maxMs: number;
  /** Byte strings the mutator may insert (keywords, separators). */
  readonly dictionary?: readonly Uint8Array[];
  /** Builds the seed inputs (reads the vectors; may build certificates). */
  seeds(): Promise<Uint8Array[]>;
  /** Optional target-specific mutation (e.g. mutate decoded bytes, re-encode); else generic. */
  mutate?(input: Uint8Array, rng: Prng, generic: (input: Uint8Array) => Uint8Array): Uint8Array;
  /** Runs one input. Returns an outcome label; throws whatever the module throws. */
  run(input: Uint8Array): string | Promise<string>;
  /** True when `err` is the module's own typed error (anything else is a finding). */
  expected(err: unknown): boolean;
}

/**
 * A target's own oracle failed (e.g. a parse result that does not serialise back to its
 * input, or two decoders that disagree): always a finding, never `expected`.
 */
export class InvariantViolation extends Error {
  override name = "InvariantViolation";
}
