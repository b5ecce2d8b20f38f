// Key material of the PKI maker (lib/pki/issuer.ts): RSA and ECDSA key generation, the
// certificate signing algorithm that fits a key, PKCS#8 PEM export and import, ECDSA
// signature encoding, and ASL credentials (RSA-PSS sign + RSA-OAEP decrypt, spec section
// 2) from a generated key pair. WebCrypto only.

import { PkiInputError } from "./errors.ts";
import { encodePem } from "./pem.ts";
import { decodePrivateKeyPem } from "./credentials.ts";
import type { KeyInfo } from "./algorithms.ts";
import type { Credentials } from "./types.ts";
import { AsnConvert, ECDSASigValue, stripLeadingZeros } from "./_asn1.ts";

/** A key pair; the private key signs certificates (or, for a leaf, is exported for ASL). */
export interface KeyPair {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

/** A WebCrypto signing algorithm for certificates and CRLs. */
export type SigningAlgorithm = { readonly name: string; readonly hash: string };

/**
 * Generates an RSA key pair (exponent 65537, RSASSA-PKCS1-v1_5 with SHA-256), exportable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateRsaKeys } from "./keys.ts";
 * const keys = await generateRsaKeys(2048);
 * assert.equal((keys.publicKey.algorithm as RsaHashedKeyAlgorithm).modulusLength, 2048);
 * ```
 */
export async function generateRsaKeys(bits: number): Promise<KeyPair> {
  return await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: bits,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
}

/**
 * Generates an ECDSA key pair on `curve`, exportable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateEcKeys } from "./keys.ts";
 * const keys = await generateEcKeys("P-256");
 * assert.equal((keys.privateKey.algorithm as EcKeyAlgorithm).namedCurve, "P-256");
 * ```
 */
export async function generateEcKeys(curve: "P-256" | "P-384"): Promise<KeyPair> {
  return await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: curve }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
}

/**
 * The WebCrypto signing algorithm for certificates signed by `key`: RSA PKCS#1 v1.5 with
 * SHA-256, ECDSA with SHA-256 (P-256) or SHA-384 (P-384).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { signingAlgorithmFor } from "./keys.ts";
 * assert.deepEqual(signingAlgorithmFor({ type: "EC", curve: "P-384" }), {
 *   name: "ECDSA",
 *   hash: "SHA-384",
 * });
 * ```
 */
export function signingAlgorithmFor(key: KeyInfo): SigningAlgorithm {
  if (key.type === "EC") {
    return { name: "ECDSA", hash: key.curve === "P-384" ? "SHA-384" : "SHA-256" };
  }
  return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
}

/**
 * `signingAlgorithmFor` read from a WebCrypto private key: an ECDSA key signs with its
 * curve's hash, any other key (RSA) with RSA PKCS#1 v1.5 SHA-256.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateEcKeys, signingAlgorithmOf } from "./keys.ts";
 * const keys = await generateEcKeys("P-384");
 * assert.deepEqual(signingAlgorithmOf(keys.privateKey), { name: "ECDSA", hash: "SHA-384" });
 * ```
 */
export function signingAlgorithmOf(key: CryptoKey): SigningAlgorithm {
  if (key.algorithm.name === "ECDSA") {
    const curve = (key.algorithm as EcKeyAlgorithm).namedCurve;
    return signingAlgorithmFor({ type: "EC", curve: curve === "P-384" ? "P-384" : "P-256" });
  }
  return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
}

/**
 * Exports a private key as PKCS#8 PEM (`PRIVATE KEY`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportPrivateKeyPem, generateEcKeys } from "./keys.ts";
 * const pem = await exportPrivateKeyPem((await generateEcKeys("P-256")).privateKey);
 * assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
 * ```
 */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  return encodePem("PRIVATE KEY", new Uint8Array(await crypto.subtle.exportKey("pkcs8", key)));
}

/**
 * Imports a PKCS#8 PEM private key for signing certificates with the algorithm that fits
 * `key` (the matching certificate's key facts). Throws `PkiInputError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportPrivateKeyPem, generateEcKeys, importSigningKey } from "./keys.ts";
 * const pem = await exportPrivateKeyPem((await generateEcKeys("P-256")).privateKey);
 * const key = await importSigningKey(pem, { type: "EC", curve: "P-256" });
 * assert.deepEqual(key.usages, ["sign"]);
 * ```
 */
export async function importSigningKey(pem: string, key: KeyInfo): Promise<CryptoKey> {
  const der = decodePrivateKeyPem(pem) as Uint8Array<ArrayBuffer>;
  const params = key.type === "EC"
    ? { name: "ECDSA", namedCurve: key.curve }
    : { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  try {
    return await crypto.subtle.importKey("pkcs8", der, params, false, ["sign"]);
  } catch (e) {
    throw new PkiInputError(
      "the CA private key cannot be imported for its certificate's key type",
      { cause: e },
    );
  }
}

/**
 * A WebCrypto ECDSA signature (r ‖ s, each half the length) as the DER
 * `SEQUENCE { r INTEGER, s INTEGER }` that X.509 signature fields carry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ecdsaSignatureDer } from "./keys.ts";
 * const der = ecdsaSignatureDer(new Uint8Array([0, 1, 0x80, 2]));
 * assert.deepEqual([...der], [0x30, 8, 2, 1, 1, 2, 3, 0, 0x80, 2]);
 * ```
 */
export function ecdsaSignatureDer(raw: Uint8Array): Uint8Array<ArrayBuffer> {
  const half = raw.length / 2;
  const int = (bytes: Uint8Array): ArrayBuffer => {
    const v = stripLeadingZeros(bytes);
    const out = (v[0]! & 0x80) ? new Uint8Array([0, ...v]) : v.slice();
    return out.buffer;
  };
  return new Uint8Array(
    AsnConvert.serialize(
      new ECDSASigValue({ r: int(raw.subarray(0, half)), s: int(raw.subarray(half)) }),
    ),
  );
}

const aslKeys = new WeakMap<CryptoKey, Promise<Pick<Credentials, "signKey" | "decryptKey">>>();

/**
 * ASL credentials (spec section 2) for `chain` (leaf first) whose leaf holds the RSA key
 * `privateKey` (exportable): the key imported once, non-extractable, for RSA-PSS signing
 * and RSA-OAEP decryption with SHA-256, as `parseCredentials` does from files. The imported
 * pair is cached per key, so many certificates sharing one key cost one import.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { credentialsFor, generateRsaKeys } from "./keys.ts";
 * const keys = await generateRsaKeys(2048);
 * const creds = await credentialsFor([new Uint8Array([0x30, 0])], keys.privateKey);
 * assert.deepEqual(creds.decryptKey.usages, ["decrypt"]);
 * ```
 */
export async function credentialsFor(
  chain: readonly Uint8Array[],
  privateKey: CryptoKey,
): Promise<Credentials> {
  let imported = aslKeys.get(privateKey);
  if (imported === undefined) {
    imported = (async () => {
      const pkcs8 = await crypto.subtle.exportKey("pkcs8", privateKey);
      const hash = "SHA-256";
      const [signKey, decryptKey] = await Promise.all([
        crypto.subtle.importKey("pkcs8", pkcs8, { name: "RSA-PSS", hash }, false, ["sign"]),
        crypto.subtle.importKey("pkcs8", pkcs8, { name: "RSA-OAEP", hash }, false, ["decrypt"]),
      ]);
      return { signKey, decryptKey };
    })();
    aslKeys.set(privateKey, imported);
  }
  return { chain: [...chain], ...(await imported) };
}
