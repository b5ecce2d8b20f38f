// The one certificate fingerprint of the project: SHA-256 of a certificate's DER bytes as
// lowercase hex pairs joined by colons (`ab:cd:…`, the digits `openssl x509 -fingerprint
// -sha256` prints, in lower case). Used by validation (ValidatedPeer.fingerprint), `certs
// show`, the client's `/who am i` and `whois`, and the per-server seen memory.

/**
 * SHA-256 of `der` as 32 lowercase hex pairs joined by colons (95 characters).
 *
 * @example
 * ```ts
 * import { sha256Fingerprint } from "./fingerprint.ts";
 * const fp = await sha256Fingerprint(new Uint8Array([1, 2, 3]));
 * console.log(fp.slice(0, 8)); // "03:90:58"
 * ```
 */
export async function sha256Fingerprint(der: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(der)));
  return digest.toHex().replace(/(..)(?!$)/g, "$1:");
}
