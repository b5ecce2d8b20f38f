// RSA key transport (spec section 2, M5 and M6 for `AES_GCM` and `AES_CBC`): the client sends
// E = RSA-OAEP(server key, N || K); the server answers E2 = RSA-OAEP(client key, N). Pure
// functions over WebCrypto keys and bytes, checked in the spec's order; no sockets, no state.

import { buf, constantTimeEqual } from "./bytes.ts";
import { AslError } from "./errors.ts";
import { macInput, sigCInput, signPss, sigSInput, verifyPss } from "./kx_signatures.ts";
import type { M5, M6 } from "./messages.ts";
import type { Primitives } from "./primitives.ts";

/** Length of N and K in bytes. */
export const RSA_KX_SECRET_BYTES = 32;
const OAEP = { name: "RSA-OAEP" } as const;

/** The client's M5 and the secrets it must keep until M6. */
export interface RsaClientM5 {
  readonly m5: M5;
  /** The nonce N, checked against M6's E2. */
  readonly N: Uint8Array;
  /** The session key K. */
  readonly K: Uint8Array;
}

/**
 * Client, on M4: draws N and K, encrypts P = N || K to the server (E), signs TH_4 || E
 * (SIG_C) and proves K (MAC).
 */
export async function rsaClientM5(args: {
  readonly TH_4: Uint8Array;
  readonly serverEncrypt: CryptoKey;
  readonly signKey: CryptoKey;
  readonly random: (length: number) => Uint8Array;
  readonly prims: Primitives;
}): Promise<RsaClientM5> {
  const N = args.random(RSA_KX_SECRET_BYTES);
  const K = args.random(RSA_KX_SECRET_BYTES);
  const P = new Uint8Array(2 * RSA_KX_SECRET_BYTES);
  P.set(N);
  P.set(K, RSA_KX_SECRET_BYTES);
  const E = new Uint8Array(await crypto.subtle.encrypt(OAEP, args.serverEncrypt, P));
  const [SIG_C, MAC] = await Promise.all([
    signPss(args.signKey, sigCInput(args.TH_4, E)),
    args.prims.hmac(K, macInput(args.TH_4)),
  ]);
  return { m5: { E, SIG_C, MAC }, N, K };
}

/**
 * Server, on M5, in the spec's order: SIG_C (`BAD_SIGNATURE`), decrypt E to 64 bytes, MAC in
 * constant time (both `DECRYPT_ERROR`). Returns N and K.
 */
export async function rsaServerCheckM5(args: {
  readonly m5: M5;
  readonly TH_4: Uint8Array;
  readonly clientVerify: CryptoKey;
  readonly decryptKey: CryptoKey;
  readonly prims: Primitives;
}): Promise<{ readonly N: Uint8Array; readonly K: Uint8Array }> {
  const { m5, TH_4 } = args;
  if (!await verifyPss(args.clientVerify, m5.SIG_C, sigCInput(TH_4, m5.E))) {
    throw new AslError("BAD_SIGNATURE", "M5 signature does not verify");
  }
  let P: Uint8Array;
  try {
    P = new Uint8Array(await crypto.subtle.decrypt(OAEP, args.decryptKey, buf(m5.E)));
  } catch (err) {
    throw new AslError("DECRYPT_ERROR", "M5 key material does not decrypt", { cause: err });
  }
  if (P.length !== 2 * RSA_KX_SECRET_BYTES) {
    throw new AslError("DECRYPT_ERROR", "M5 key material is not 64 bytes");
  }
  const N = P.subarray(0, RSA_KX_SECRET_BYTES);
  const K = P.subarray(RSA_KX_SECRET_BYTES);
  if (!await args.prims.hmacVerify(K, m5.MAC, macInput(TH_4))) {
    throw new AslError("DECRYPT_ERROR", "M5 key confirmation does not match");
  }
  return { N, K };
}

/** Server, after M5: E2 = RSA-OAEP(client key, N) and SIG_S over TH_5 || N. */
export async function rsaServerM6(args: {
  readonly N: Uint8Array;
  readonly TH_5: Uint8Array;
  readonly clientEncrypt: CryptoKey;
  readonly signKey: CryptoKey;
}): Promise<M6> {
  const [E2, SIG_S] = await Promise.all([
    crypto.subtle.encrypt(OAEP, args.clientEncrypt, buf(args.N)),
    signPss(args.signKey, sigSInput(args.TH_5, args.N)),
  ]);
  return { E2: new Uint8Array(E2), SIG_S };
}

/**
 * Client, on M6, in the spec's order: E2 decrypts to its N, compared in constant time
 * (`DECRYPT_ERROR`), then SIG_S over TH_5 || N (`BAD_SIGNATURE`).
 */
export async function rsaClientCheckM6(args: {
  readonly m6: M6;
  readonly N: Uint8Array;
  readonly TH_5: Uint8Array;
  readonly decryptKey: CryptoKey;
  readonly serverVerify: CryptoKey;
}): Promise<void> {
  let n2: Uint8Array;
  try {
    n2 = new Uint8Array(await crypto.subtle.decrypt(OAEP, args.decryptKey, buf(args.m6.E2)));
  } catch (err) {
    throw new AslError("DECRYPT_ERROR", "M6 nonce does not decrypt", { cause: err });
  }
  if (!constantTimeEqual(n2, args.N)) {
    throw new AslError("DECRYPT_ERROR", "M6 nonce does not match");
  }
  if (!await verifyPss(args.serverVerify, args.m6.SIG_S, sigSInput(args.TH_5, args.N))) {
    throw new AslError("BAD_SIGNATURE", "M6 signature does not verify");
  }
}
