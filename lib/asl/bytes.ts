// Small byte helpers shared by the ASL modules (no spec section of their own).

import { Buffer } from "node:buffer";

/** Bytes backed by a plain ArrayBuffer, as WebCrypto's `BufferSource` requires. */
export type Bytes = Uint8Array<ArrayBuffer>;

/** Returns `bytes` typed for WebCrypto, copying only when backed by a SharedArrayBuffer. */
export function buf(bytes: Uint8Array): Bytes {
  return bytes.buffer instanceof ArrayBuffer ? bytes as Bytes : new Uint8Array(bytes);
}

/**
 * `n` bytes of pooled memory as a plain Uint8Array (not a Buffer, whose `slice` does not copy):
 * a view into node:buffer's shared pool (its `.buffer` holds other data), no new ArrayBuffer.
 * Pooled slices are never handed out twice, so the view stays valid; its bytes are not zeroed.
 */
export function pooled(n: number): Bytes {
  const b = Buffer.allocUnsafe(n);
  return new Uint8Array(b.buffer as ArrayBuffer, b.byteOffset, n);
}

/** Concatenates byte arrays into one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Bytes {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Compares two byte arrays in time independent of where they differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Lowercase hex of bytes (for tests and traces of public values only). */
export function toHex(bytes: Uint8Array): string {
  return bytes.toHex();
}
