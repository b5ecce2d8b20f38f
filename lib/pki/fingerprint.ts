// The one certificate fingerprint of the project: SHA-256 of a certificate's DER bytes, in two
// written forms. Hex: lowercase hex pairs joined by colons (`ab:cd:…`, the digits `openssl x509
// -fingerprint -sha256` prints, in lower case), used by validation (ValidatedPeer.fingerprint),
// `certs show`, the client's `/who am i` and `whois`, and the per-server seen memory. Base64:
// canonical padded base64 of 44 characters, the form of ASL-E2E/1's `H.fp` and of the pins
// (ASL spec section 7).

async function sha256(der: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(der)));
}

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
  return (await sha256(der)).toHex().replace(/(..)(?!$)/g, "$1:");
}

/**
 * SHA-256 of `der` as canonical padded base64 (44 characters): the fingerprint form of ASL
 * section 7 (`H.fp` of a sealed payload, and the pinned fingerprints).
 *
 * @example
 * ```ts
 * import { sha256FingerprintBase64 } from "./fingerprint.ts";
 * const fp = await sha256FingerprintBase64(new Uint8Array([1, 2, 3]));
 * console.log(fp.length); // 44
 * ```
 */
export async function sha256FingerprintBase64(der: Uint8Array): Promise<string> {
  return (await sha256(der)).toBase64();
}
