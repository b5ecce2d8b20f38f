// MESSAGEID generation (ASL spec section 5: 1 to 64 of A-Z a-z 0-9 - _), unique across
// restarts: milliseconds since the epoch in base 36, then 96 random bits in hex.

/**
 * A fresh MESSAGEID such as `mif3k2x1-9f0c4e1a2b3c4d5e6f708192`: time-ordered prefix,
 * 96 random bits, so two processes (or two runs) never pick the same one.
 */
export function newMessageId(now: number = Date.now()): string {
  const random = crypto.getRandomValues(new Uint8Array(12));
  return `${now.toString(36)}-${random.toHex()}`;
}
