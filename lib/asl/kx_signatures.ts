// The handshake's signed and MACed inputs (spec section 2, M5 and M6), shared by both key
// exchanges: SIG_C, SIG_S and MAC inputs, RSA-PSS sign/verify with the spec's parameters.

import { buf, type Bytes, concatBytes } from "./bytes.ts";

const encoder = new TextEncoder();
const LABEL_SESSIONKEY = encoder.encode("ASL/1 SESSIONKEY\0");
const LABEL_SESSIONKEYOK = encoder.encode("ASL/1 SESSIONKEYOK\0");
const LABEL_HMAC = encoder.encode("ASL/1 HMAC\0");
const LABEL_HMAC_SERVER = encoder.encode("ASL/1 HMAC SERVER\0");
/** RSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (the key carries the hash). */
const PSS = { name: "RSA-PSS", saltLength: 32 } as const;

/** SIG_C input: "ASL/1 SESSIONKEY" || 0x00 || TH_4 || X, X = E (RSA) or Q_C (X25519). */
export function sigCInput(TH_4: Uint8Array, X: Uint8Array): Bytes {
  return concatBytes([LABEL_SESSIONKEY, TH_4, X]);
}
/** SIG_S input: "ASL/1 SESSIONKEYOK" || 0x00 || TH_5 || X, X = N (RSA) or MAC_S (X25519). */
export function sigSInput(TH_5: Uint8Array, X: Uint8Array): Bytes {
  return concatBytes([LABEL_SESSIONKEYOK, TH_5, X]);
}
/** MAC input: "ASL/1 HMAC" || 0x00 || TH_4. */
export function macInput(TH_4: Uint8Array): Bytes {
  return concatBytes([LABEL_HMAC, TH_4]);
}
/** MAC_S input (X25519 only): "ASL/1 HMAC SERVER" || 0x00 || TH_5. */
export function macSInput(TH_5: Uint8Array): Bytes {
  return concatBytes([LABEL_HMAC_SERVER, TH_5]);
}

/** RSA-PSS signature with the spec's parameters. */
export async function signPss(key: CryptoKey, data: Bytes): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign(PSS, key, data));
}

/** Verifies an RSA-PSS signature; any failure (including a malformed one) is `false`. */
export async function verifyPss(key: CryptoKey, sig: Uint8Array, data: Bytes): Promise<boolean> {
  try {
    return await crypto.subtle.verify(PSS, key, buf(sig), data);
  } catch {
    return false;
  }
}
