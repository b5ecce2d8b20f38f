// Ephemeral X25519 key agreement (spec section 2, "M5 and M6 with X25519_AES_GCM"): M4 carries
// Q_S, M5 Q_C with SIG_C and MAC, M6 MAC_S and SIG_S; K = X25519(d_C, Q_S) = X25519(d_S, Q_C).
// WebCrypto only: private halves are non-extractable and live only in the handshake's memory.
// Pure functions over keys and bytes, checked in the spec's order; no sockets, no state.

import { buf, type Bytes } from "./bytes.ts";
import { AslError } from "./errors.ts";
import { macInput, macSInput, sigCInput, signPss, sigSInput, verifyPss } from "./kx_signatures.ts";
import type { M5X25519, M6X25519 } from "./messages.ts";
import type { Primitives } from "./primitives.ts";

/** Length of an X25519 public key, of K, of MAC and of MAC_S. */
export const X25519_BYTES = 32;
const X25519 = { name: "X25519" } as const;

/** An ephemeral X25519 key pair: the private half non-extractable, the public one raw. */
export interface EphemeralKeyPair {
  readonly privateKey: CryptoKey;
  /** Q = X25519(d, 9), 32 bytes. */
  readonly publicKey: Uint8Array;
}

/** Makes a fresh ephemeral key pair from the platform's CSPRNG (WebCrypto `generateKey`). */
export async function generateEphemeral(): Promise<EphemeralKeyPair> {
  const pair = await crypto.subtle.generateKey(X25519, false, ["deriveBits"]) as CryptoKeyPair;
  const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { privateKey: pair.privateKey, publicKey };
}

/** PKCS#8 wrapping of a raw X25519 private key (RFC 8410): a fixed 16-byte prefix. */
const PKCS8_X25519_PREFIX = Uint8Array.fromHex("302e020100300506032b656e04220420");

/**
 * An ephemeral key pair from a fixed 32-byte private key `d` (conformance vectors and their
 * replays only; real handshakes use `generateEphemeral`): the private half non-extractable,
 * the public one computed as X25519(d, 9) against the base point.
 *
 * @example
 * ```ts
 * import { ephemeralFromPrivateKey } from "./kx_x25519.ts";
 * const pair = await ephemeralFromPrivateKey(new Uint8Array(32).fill(7));
 * console.log(pair.publicKey.length); // 32
 * ```
 */
export async function ephemeralFromPrivateKey(d: Uint8Array): Promise<EphemeralKeyPair> {
  const pkcs8 = new Uint8Array(PKCS8_X25519_PREFIX.length + d.length);
  pkcs8.set(PKCS8_X25519_PREFIX);
  pkcs8.set(d, PKCS8_X25519_PREFIX.length);
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, X25519, false, ["deriveBits"]);
  const basePoint = new Uint8Array(32);
  basePoint[0] = 9;
  return { privateKey, publicKey: await sharedSecret(privateKey, basePoint) };
}

/**
 * K = X25519(own private key, peer's Q): 32 bytes. A peer key the runtime refuses, or an
 * all-zero result (a small-order point), is `DECRYPT_ERROR`.
 */
export async function sharedSecret(own: CryptoKey, peerPublic: Uint8Array): Promise<Bytes> {
  let K: Bytes;
  try {
    const peer = await crypto.subtle.importKey("raw", buf(peerPublic), X25519, false, []);
    K = new Uint8Array(await crypto.subtle.deriveBits({ ...X25519, public: peer }, own, 256));
  } catch (err) {
    throw new AslError("DECRYPT_ERROR", "X25519 key agreement failed", { cause: err });
  }
  if (K.every((b) => b === 0)) {
    throw new AslError("DECRYPT_ERROR", "X25519 shared secret is all zero");
  }
  return K;
}

/**
 * Client, on M4: K from its ephemeral key and Q_S (`DECRYPT_ERROR` when all zero, before
 * M5 is sent), SIG_C over TH_4 || Q_C and MAC over TH_4.
 */
export async function x25519ClientM5(args: {
  readonly TH_4: Uint8Array;
  readonly Q_S: Uint8Array;
  readonly ephemeral: EphemeralKeyPair;
  readonly signKey: CryptoKey;
  readonly prims: Primitives;
}): Promise<{ readonly m5: M5X25519; readonly K: Uint8Array }> {
  const K = await sharedSecret(args.ephemeral.privateKey, args.Q_S);
  const Q_C = args.ephemeral.publicKey;
  const [SIG_C, MAC] = await Promise.all([
    signPss(args.signKey, sigCInput(args.TH_4, Q_C)),
    args.prims.hmac(K, macInput(args.TH_4)),
  ]);
  return { m5: { Q_C, SIG_C, MAC }, K };
}

/**
 * Server, on M5, in the spec's order: SIG_C (`BAD_SIGNATURE`), K (`DECRYPT_ERROR`), MAC in
 * constant time (`DECRYPT_ERROR`). Returns K.
 */
export async function x25519ServerCheckM5(args: {
  readonly m5: M5X25519;
  readonly TH_4: Uint8Array;
  readonly ephemeral: EphemeralKeyPair;
  readonly clientVerify: CryptoKey;
  readonly prims: Primitives;
}): Promise<Uint8Array> {
  const { m5, TH_4 } = args;
  if (!await verifyPss(args.clientVerify, m5.SIG_C, sigCInput(TH_4, m5.Q_C))) {
    throw new AslError("BAD_SIGNATURE", "M5 signature does not verify");
  }
  const K = await sharedSecret(args.ephemeral.privateKey, m5.Q_C);
  if (!await args.prims.hmacVerify(K, m5.MAC, macInput(TH_4))) {
    throw new AslError("DECRYPT_ERROR", "M5 key confirmation does not match");
  }
  return K;
}

/** Server, after M5: MAC_S over TH_5 and SIG_S over TH_5 || MAC_S. */
export async function x25519ServerM6(args: {
  readonly K: Uint8Array;
  readonly TH_5: Uint8Array;
  readonly signKey: CryptoKey;
  readonly prims: Primitives;
}): Promise<M6X25519> {
  const MAC_S = await args.prims.hmac(args.K, macSInput(args.TH_5));
  const SIG_S = await signPss(args.signKey, sigSInput(args.TH_5, MAC_S));
  return { MAC_S, SIG_S };
}

/**
 * Client, on M6, in the spec's order: MAC_S in constant time (`DECRYPT_ERROR`), then SIG_S
 * over TH_5 || MAC_S (`BAD_SIGNATURE`).
 */
export async function x25519ClientCheckM6(args: {
  readonly m6: M6X25519;
  readonly K: Uint8Array;
  readonly TH_5: Uint8Array;
  readonly serverVerify: CryptoKey;
  readonly prims: Primitives;
}): Promise<void> {
  const { m6, TH_5 } = args;
  if (!await args.prims.hmacVerify(args.K, m6.MAC_S, macSInput(TH_5))) {
    throw new AslError("DECRYPT_ERROR", "M6 key confirmation does not match");
  }
  if (!await verifyPss(args.serverVerify, m6.SIG_S, sigSInput(TH_5, m6.MAC_S))) {
    throw new AslError("BAD_SIGNATURE", "M6 signature does not verify");
  }
}
