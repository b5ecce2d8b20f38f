// Certificate signature algorithms and public keys for ASL spec section 4: which
// AlgorithmIdentifiers are accepted (RSA PKCS#1 v1.5, RSASSA-PSS, ECDSA with
// SHA-256/384/512), which are refused as MD5/SHA-1, the SPKI key facts the rules need,
// and WebCrypto signature verification with a bounded cache of imported keys.

import {
  AlgorithmIdentifier,
  AsnConvert,
  ECDSASigValue,
  ECParameters,
  RSAPublicKey,
  RsaSaPssParams,
  stripLeadingZeros,
  toHex,
  u8,
} from "./_asn1.ts";

/** A hash WebCrypto can verify certificate signatures with. */
export type HashName = "SHA-256" | "SHA-384" | "SHA-512";

/** An accepted certificate (or CRL) signature algorithm. */
export type SignatureAlgorithm =
  | { readonly kind: "RSASSA-PKCS1-v1_5"; readonly hash: HashName }
  | { readonly kind: "RSA-PSS"; readonly hash: HashName; readonly saltLength: number }
  | { readonly kind: "ECDSA"; readonly hash: HashName };

/** The verdict on an AlgorithmIdentifier: accepted, weak (MD5/SHA-1 family) or unsupported. */
export type AlgorithmVerdict =
  | { readonly status: "ok"; readonly alg: SignatureAlgorithm }
  | { readonly status: "weak"; readonly name: string }
  | { readonly status: "unsupported"; readonly name: string };

/** What section 4 needs to know about a SubjectPublicKeyInfo. */
export type KeyInfo =
  | { readonly type: "RSA"; readonly bits: number; readonly exponentHex: string }
  | { readonly type: "EC"; readonly curve: "P-256" | "P-384" | string }
  | { readonly type: "other"; readonly oid: string };

const RSA_ENCRYPTION = "1.2.840.113549.1.1.1";
const RSASSA_PSS = "1.2.840.113549.1.1.10";
const MGF1 = "1.2.840.113549.1.1.8";
const EC_PUBLIC_KEY = "1.2.840.10045.2.1";

const HASHES: Record<string, HashName | "SHA-1" | "MD5"> = {
  "2.16.840.1.101.3.4.2.1": "SHA-256",
  "2.16.840.1.101.3.4.2.2": "SHA-384",
  "2.16.840.1.101.3.4.2.3": "SHA-512",
  "1.3.14.3.2.26": "SHA-1",
  "1.2.840.113549.2.5": "MD5",
};

const PKCS1: Record<string, HashName> = {
  "1.2.840.113549.1.1.11": "SHA-256",
  "1.2.840.113549.1.1.12": "SHA-384",
  "1.2.840.113549.1.1.13": "SHA-512",
};

const ECDSA: Record<string, HashName> = {
  "1.2.840.10045.4.3.2": "SHA-256",
  "1.2.840.10045.4.3.3": "SHA-384",
  "1.2.840.10045.4.3.4": "SHA-512",
};

/** MD2/MD4/MD5/SHA-1 signature algorithms: refused as "MD5/SHA-1" (section 4). */
const WEAK: Record<string, string> = {
  "1.2.840.113549.1.1.2": "md2WithRSAEncryption",
  "1.2.840.113549.1.1.3": "md4WithRSAEncryption",
  "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
  "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
  "1.3.14.3.2.29": "sha1WithRSASignature",
  "1.2.840.10045.4.1": "ecdsa-with-SHA1",
  "1.2.840.10040.4.3": "dsa-with-sha1",
};

const CURVES: Record<string, string> = {
  "1.2.840.10045.3.1.7": "P-256",
  "1.3.132.0.34": "P-384",
  "1.3.132.0.35": "P-521",
};

const DER_NULL = new Uint8Array([0x05, 0x00]);

function paramsAreNullOrAbsent(params: ArrayBuffer | null | undefined): boolean {
  if (params === undefined || params === null) return true;
  const p = u8(params);
  return p.length === 2 && p[0] === DER_NULL[0] && p[1] === DER_NULL[1];
}

/**
 * Classifies a signature AlgorithmIdentifier per section 4.
 *
 * @example
 * ```ts
 * import { AlgorithmIdentifier } from "@peculiar/asn1-x509";
 * import { classifySignatureAlgorithm } from "./algorithms.ts";
 * const v = classifySignatureAlgorithm(new AlgorithmIdentifier({ algorithm: "1.2.840.10045.4.3.2" }));
 * console.log(v); // { status: "ok", alg: { kind: "ECDSA", hash: "SHA-256" } }
 * ```
 */
export function classifySignatureAlgorithm(id: AlgorithmIdentifier): AlgorithmVerdict {
  const oid = id.algorithm;
  const weak = WEAK[oid];
  if (weak) return { status: "weak", name: weak };
  const pkcs1 = PKCS1[oid];
  if (pkcs1) {
    if (!paramsAreNullOrAbsent(id.parameters)) {
      return { status: "unsupported", name: `${oid} with parameters` };
    }
    return { status: "ok", alg: { kind: "RSASSA-PKCS1-v1_5", hash: pkcs1 } };
  }
  const ecdsa = ECDSA[oid];
  if (ecdsa) {
    if (id.parameters !== undefined && id.parameters !== null) {
      return { status: "unsupported", name: `${oid} with parameters` };
    }
    return { status: "ok", alg: { kind: "ECDSA", hash: ecdsa } };
  }
  if (oid === RSASSA_PSS) return classifyPss(id.parameters);
  return { status: "unsupported", name: oid };
}

function classifyPss(params: ArrayBuffer | null | undefined): AlgorithmVerdict {
  // Absent parameters mean all defaults: SHA-1 and MGF1-SHA-1 (RFC 4055).
  if (params === undefined || params === null) return { status: "weak", name: "RSASSA-PSS/SHA-1" };
  let p: RsaSaPssParams;
  try {
    p = AsnConvert.parse(params, RsaSaPssParams);
  } catch {
    return { status: "unsupported", name: "RSASSA-PSS with malformed parameters" };
  }
  const hash = HASHES[p.hashAlgorithm.algorithm];
  if (hash === "SHA-1" || hash === "MD5") return { status: "weak", name: `RSASSA-PSS/${hash}` };
  if (p.maskGenAlgorithm.algorithm !== MGF1 || !p.maskGenAlgorithm.parameters) {
    return { status: "unsupported", name: "RSASSA-PSS with a mask generator other than MGF1" };
  }
  let mgfHashOid: string;
  try {
    mgfHashOid = AsnConvert.parse(
      p.maskGenAlgorithm.parameters,
      AlgorithmIdentifier,
    ).algorithm;
  } catch {
    return { status: "unsupported", name: "RSASSA-PSS with malformed MGF1 parameters" };
  }
  const mgfHash = HASHES[mgfHashOid];
  if (mgfHash === "SHA-1" || mgfHash === "MD5") {
    return { status: "weak", name: `RSASSA-PSS/MGF1-${mgfHash}` };
  }
  if (hash === undefined || mgfHash !== hash) {
    return { status: "unsupported", name: "RSASSA-PSS with an unsupported hash" };
  }
  if (p.trailerField !== 1 || p.saltLength < 0 || p.saltLength > 1024) {
    return { status: "unsupported", name: "RSASSA-PSS with unsupported parameters" };
  }
  return { status: "ok", alg: { kind: "RSA-PSS", hash, saltLength: p.saltLength } };
}

/**
 * Reads the key type, size and (RSA) exponent from an SPKI's algorithm and key bits.
 *
 * @example
 * ```ts
 * import { describeKey } from "./algorithms.ts";
 * console.log(describeKey("1.3.101.112", undefined, new Uint8Array(32))); // { type: "other", oid: "1.3.101.112" }
 * ```
 */
export function describeKey(
  algorithmOid: string,
  parameters: ArrayBuffer | null | undefined,
  publicKey: ArrayBuffer | Uint8Array,
): KeyInfo {
  if (algorithmOid === RSA_ENCRYPTION) {
    const rsa = AsnConvert.parse(publicKey, RSAPublicKey);
    const modulus = stripLeadingZeros(u8(rsa.modulus));
    const top = modulus[0] ?? 0;
    const bits = top === 0 ? 0 : (modulus.length - 1) * 8 + (32 - Math.clz32(top));
    return { type: "RSA", bits, exponentHex: toHex(stripLeadingZeros(u8(rsa.publicExponent))) };
  }
  if (algorithmOid === EC_PUBLIC_KEY) {
    let curveOid = "";
    if (parameters) {
      // namedCurve parameters: an OBJECT IDENTIFIER.
      curveOid = AsnConvert.parse(parameters, ECParameters).namedCurve ?? "";
    }
    return { type: "EC", curve: CURVES[curveOid] ?? (curveOid || "explicit curve") };
  }
  return { type: "other", oid: algorithmOid };
}

/** A short human name of a key, e.g. `RSA 2048` or `EC P-256`. */
export function keyName(key: KeyInfo): string {
  if (key.type === "RSA") return `RSA ${key.bits}`;
  if (key.type === "EC") return `EC ${key.curve}`;
  return `key ${key.oid}`;
}

/** What section 4 allows a CA key to be, for messages. */
export const CA_KEYS_ALLOWED = "RSA of 2048 to 4096 bits, or ECDSA P-256 or P-384";

/**
 * True when `key` may sign certificates (section 4: RSA 2048–4096 bits, ECDSA P-256/P-384;
 * WebCrypto implementations commonly refuse larger RSA keys).
 */
export function isAcceptableCaKey(key: KeyInfo): boolean {
  if (key.type === "RSA") return key.bits >= 2048 && key.bits <= 4096;
  if (key.type === "EC") return key.curve === "P-256" || key.curve === "P-384";
  return false;
}

/**
 * Why `key` may not sign certificates (one phrase naming the key and the allowed range), or
 * undefined when it may.
 *
 * @example
 * ```ts
 * import { caKeyProblem } from "./algorithms.ts";
 * console.log(caKeyProblem({ type: "RSA", bits: 8192, exponentHex: "010001" }));
 * // "an RSA key of 8192 bits (CA keys: RSA of 2048 to 4096 bits, or ECDSA P-256 or P-384)"
 * ```
 */
export function caKeyProblem(key: KeyInfo): string | undefined {
  if (isAcceptableCaKey(key)) return undefined;
  const what = key.type === "RSA"
    ? `an RSA key of ${key.bits} bits`
    : key.type === "EC"
    ? `an EC key on ${key.curve}`
    : `a key of type ${key.oid}`;
  return `${what} (CA keys: ${CA_KEYS_ALLOWED})`;
}

/** True when `alg` fits `key` (RSA algorithms with RSA keys, ECDSA with EC keys). */
export function algorithmFitsKey(alg: SignatureAlgorithm, key: KeyInfo): boolean {
  return alg.kind === "ECDSA" ? key.type === "EC" : key.type === "RSA";
}

const KEY_CACHE_LIMIT = 256;
const keyCache = new Map<string, Promise<CryptoKey>>();

function importVerifyKey(spki: Uint8Array, alg: SignatureAlgorithm, key: KeyInfo) {
  const params = alg.kind === "ECDSA"
    ? { name: "ECDSA", namedCurve: key.type === "EC" ? key.curve : "" }
    : { name: alg.kind, hash: alg.hash };
  const cacheKey = `${params.name}/${"hash" in params ? params.hash : params.namedCurve}/` +
    spki.toBase64();
  let pending = keyCache.get(cacheKey);
  if (pending) {
    keyCache.delete(cacheKey); // refresh its place in the LRU order
  } else {
    pending = crypto.subtle.importKey("spki", spki as Uint8Array<ArrayBuffer>, params, false, [
      "verify",
    ]);
    pending.catch(() => keyCache.delete(cacheKey));
  }
  keyCache.set(cacheKey, pending);
  if (keyCache.size > KEY_CACHE_LIMIT) {
    const oldest = keyCache.keys().next().value;
    if (oldest !== undefined) keyCache.delete(oldest);
  }
  return pending;
}

function ecdsaRawSignature(der: Uint8Array, size: number): Uint8Array | undefined {
  let sig: ECDSASigValue;
  try {
    sig = AsnConvert.parse(der, ECDSASigValue);
    const again = u8(AsnConvert.serialize(sig));
    if (again.length !== der.length || !again.every((b, i) => b === der[i])) return undefined;
  } catch {
    return undefined;
  }
  const r = stripLeadingZeros(u8(sig.r));
  const s = stripLeadingZeros(u8(sig.s));
  if (r.length > size || s.length > size) return undefined;
  const raw = new Uint8Array(size * 2);
  raw.set(r, size - r.length);
  raw.set(s, 2 * size - s.length);
  return raw;
}

/**
 * Verifies `signature` over `data` with the issuer's SPKI. Resolves false on any failure
 * (bad key, malformed signature, mismatch); never throws.
 *
 * @example
 * ```ts ignore
 * const ok = await verifySignature(issuerSpki, issuerKeyInfo, alg, tbsBytes, signatureBytes);
 * ```
 */
export async function verifySignature(
  spki: Uint8Array,
  key: KeyInfo,
  alg: SignatureAlgorithm,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (!algorithmFitsKey(alg, key)) return false;
  try {
    const cryptoKey = await importVerifyKey(spki, alg, key);
    let sig = signature;
    let params: AlgorithmIdentifierLike;
    if (alg.kind === "ECDSA") {
      const raw = ecdsaRawSignature(
        signature,
        key.type === "EC" && key.curve === "P-384" ? 48 : 32,
      );
      if (!raw) return false;
      sig = raw;
      params = { name: "ECDSA", hash: alg.hash };
    } else if (alg.kind === "RSA-PSS") {
      params = { name: "RSA-PSS", saltLength: alg.saltLength };
    } else {
      params = { name: "RSASSA-PKCS1-v1_5" };
    }
    return await crypto.subtle.verify(
      params,
      cryptoKey,
      sig as Uint8Array<ArrayBuffer>,
      data as Uint8Array<ArrayBuffer>,
    );
  } catch {
    return false;
  }
}

type AlgorithmIdentifierLike = { name: string; hash?: string; saltLength?: number };
