// Strict base64 (RFC 4648 section 4) as ASL section 1 requires: standard alphabet,
// padded, no whitespace, canonical padding bits. Built on the runtime's
// Uint8Array.fromBase64 / toBase64 (standing in for @std/encoding).

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Encodes bytes as padded standard base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

/** True when `text` is strict padded base64 by its alphabet and length (padding bits unchecked). */
export function isBase64Shape(text: string): boolean {
  return STRICT_BASE64.test(text);
}

/**
 * Decodes strict base64, or returns `undefined` when `text` is not strict:
 * wrong alphabet, whitespace, missing or extra padding, non-zero padding bits.
 */
export function decodeBase64Strict(text: string): Uint8Array | undefined {
  if (!STRICT_BASE64.test(text)) return undefined;
  try {
    return Uint8Array.fromBase64(text, { lastChunkHandling: "strict" });
  } catch {
    return undefined;
  }
}
