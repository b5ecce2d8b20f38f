// Test helper: fuzz targets with planted faults, to show that the harness (tools/fuzz/)
// reports them: a plain TypeError, a broken oracle, a slow input and a hang, each on inputs
// that hold the byte 0x42 ("B"), which the seeds lack and the mutator soon produces.

import { AslError } from "../../lib/asl/errors.ts";
import { type FuzzTarget, InvariantViolation } from "../../tools/fuzz/types.ts";

const MARK = 0x42;

function planted(name: string, fault: (input: Uint8Array) => string): FuzzTarget {
  return {
    name,
    description: `planted fault: ${name}`,
    maxBytes: 64,
    maxMs: 1000,
    seeds: () => Promise.resolve([new TextEncoder().encode("hello, fuzz"), Uint8Array.of(1, 2, 3)]),
    run(input) {
      if (!input.includes(MARK)) {
        // The module's own error on some inputs, a value on the others.
        if (input.length % 2 === 0) throw new AslError("PROTOCOL_ERROR", "even length");
        return `len ${input.length % 5}`;
      }
      return fault(input);
    },
    expected: (err) => err instanceof AslError,
  };
}

/** Throws a TypeError (not the module's typed error) on marked inputs. */
export const typeErrorTarget = planted("type-error", (input) => {
  const missing = undefined as unknown as { length: number };
  return `never ${input.length + missing.length}`;
});

/** Its oracle fails on marked inputs. */
export const invariantTarget = planted("invariant", () => {
  throw new InvariantViolation("planted oracle failure");
});

/** Spins for 300 ms on marked inputs. */
export const slowTarget = planted("slow", () => {
  const end = performance.now() + 300;
  while (performance.now() < end) { /* spin */ }
  return "slow";
});

/** Never returns on marked inputs. */
export const hangTarget = planted("hang", () => {
  for (;;) { /* spin forever */ }
});

/** The planted targets, for the watchdog's worker. */
export const TARGETS: readonly FuzzTarget[] = [
  typeErrorTarget,
  invariantTarget,
  slowTarget,
  hangTarget,
];
