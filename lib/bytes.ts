// Byte helpers every layer may use (no spec section of their own). For secrets use
// lib/asl/bytes.ts's constantTimeEqual instead: this comparison stops at the first difference.

/**
 * True when two byte arrays hold the same bytes (public data only: not constant-time).
 *
 * @example
 * ```ts
 * import { bytesEqual } from "./bytes.ts";
 * console.log(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))); // true
 * ```
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
