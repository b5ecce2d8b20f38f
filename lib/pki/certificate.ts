// One X.509 certificate parsed once into the facts ASL spec section 4 checks: the size
// bounds on the raw DER first (bounds.ts), then strict DER,
// v3, inner = outer signature algorithm, names as DER bytes, validity, key, and the
// understood extensions (basicConstraints, keyUsage, extendedKeyUsage, subjectAltName,
// subjectKeyIdentifier, authorityKeyIdentifier), whose values must be strict DER too.
// Parsed results are cached (bounded).

import {
  AsnConvert,
  type AsnName,
  AuthorityKeyIdentifier,
  BasicConstraints,
  bytesEqual,
  Certificate,
  ExtendedKeyUsage,
  KeyUsage,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  toHex,
  u8,
} from "./_asn1.ts";
import {
  type AlgorithmVerdict,
  classifySignatureAlgorithm,
  describeKey,
  type KeyInfo,
} from "./algorithms.ts";
import { checkCertificateBounds } from "./bounds.ts";
import { PkiError } from "./errors.ts";
import { parseIpAddress } from "./names.ts";

/** OIDs of the extensions section 4 understands. */
export const EXT = {
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extendedKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyIdentifier: "2.5.29.14",
  authorityKeyIdentifier: "2.5.29.35",
} as const;

/** Extended key usage OIDs. */
export const EKU = {
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  anyExtendedKeyUsage: "2.5.29.37.0",
} as const;

/** keyUsage bits as asn1-x509 numbers them (bit 0 = digitalSignature = 1). */
export const KU = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  dataEncipherment: 8,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
  encipherOnly: 128,
  decipherOnly: 256,
} as const;

const COMMON_NAME = "2.5.4.3";
const UNDERSTOOD = new Set<string>(Object.values(EXT));

/** A certificate reduced to what validation needs; immutable and time-independent. */
export interface ParsedCertificate {
  /** The certificate's exact DER. */
  readonly der: Uint8Array;
  /** The exact signed bytes (the TBSCertificate DER). */
  readonly tbs: Uint8Array;
  /** The signature value bytes. */
  readonly signature: Uint8Array;
  /** The verdict on the (outer = inner) signature algorithm. */
  readonly sigAlg: AlgorithmVerdict;
  /**
   * Issuer and subject names as comparison keys (see `nameId`): equal exactly when the
   * names' DER bytes are equal.
   */
  readonly issuerId: string;
  readonly subjectId: string;
  /** Serial number, unsigned big-endian hex without leading zero bytes. */
  readonly serialHex: string;
  /** Validity bounds, milliseconds since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
  /** SubjectPublicKeyInfo DER and what it holds. */
  readonly spki: Uint8Array;
  readonly key: KeyInfo;
  /** basicConstraints, when present. */
  readonly basicConstraints?: { readonly ca: boolean; readonly pathLen?: number };
  /** keyUsage bits (see `KU`), when present. */
  readonly keyUsage?: number;
  /** extendedKeyUsage OIDs, when present. */
  readonly extKeyUsage?: readonly string[];
  /** subjectAltName dNSNames (as written) and iPAddresses (4 or 16 bytes). */
  readonly sanDns: readonly string[];
  readonly sanIp: readonly Uint8Array[];
  /** OIDs of critical extensions this implementation does not understand. */
  readonly unknownCritical: readonly string[];
  /** Every subject CN value, in order. */
  readonly subjectCommonNames: readonly string[];
  /** The parsed ASN.1 (for display). */
  readonly asn: Certificate;
}

/**
 * Parsed certificates kept (LRU). Each holds its parsed ASN.1 tree (several KiB), so the
 * bound is small: trust anchors and intermediates hit it on every validation, while a
 * client's leaf is rarely parsed twice (lib/pki/validation_cache.ts catches repeats first).
 */
const CACHE_LIMIT = 64;
/** Keyed by length and the last 32 bytes (inside the signature); a hit compares all bytes. */
const cache = new Map<string, ParsedCertificate>();

function cacheKeyOf(der: Uint8Array): string {
  return `${der.length}:${der.subarray(-32).toHex()}`;
}

/**
 * Parses one DER certificate, or throws `PkiError("BAD_CERTIFICATE")` when it is not
 * strict-DER X.509 v3 with matching inner and outer signature algorithms, has a
 * duplicated or malformed understood extension, or an unreadable key. Results are cached.
 *
 * @example
 * ```ts
 * import { parseCertificate } from "./certificate.ts";
 * try {
 *   parseCertificate(new Uint8Array([0x30, 0x00]));
 * } catch (e) {
 *   console.log((e as { code: string }).code); // "BAD_CERTIFICATE"
 * }
 * ```
 */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  const cacheKey = cacheKeyOf(der);
  const hit = cache.get(cacheKey);
  if (hit && bytesEqual(hit.der, der)) {
    cache.delete(cacheKey);
    cache.set(cacheKey, hit);
    return hit;
  }
  const parsed = parseUncached(der.slice());
  cache.delete(cacheKey);
  cache.set(cacheKey, parsed);
  if (cache.size > CACHE_LIMIT) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  return parsed;
}

function bad(message: string, cause?: unknown): PkiError {
  return new PkiError("BAD_CERTIFICATE", message, cause === undefined ? undefined : { cause });
}

/**
 * Parser options: primitive OCTET and BIT STRINGs (extension values, keys, signatures) are
 * not speculatively decoded as nested ASN.1 (asn1js does so by default, at a cost a
 * hostile certificate could multiply); the values the rules need are parsed on their own.
 */
const PARSE_OPTIONS = { berOptions: { parseEmbedded: false } };

function parseUncached(der: Uint8Array): ParsedCertificate {
  // Section 4: the size bounds on the raw DER first, before any parse.
  checkCertificateBounds(der);
  let asn: Certificate;
  try {
    asn = AsnConvert.parse(der, Certificate, PARSE_OPTIONS);
  } catch (e) {
    throw bad("not a DER X.509 certificate", e);
  }
  let reencoded: Uint8Array;
  try {
    reencoded = u8(AsnConvert.serialize(asn));
  } catch (e) {
    throw bad("not a DER X.509 certificate", e);
  }
  if (!bytesEqual(reencoded, der)) {
    throw bad("certificate is not strict DER (trailing or non-canonical bytes)");
  }
  const tbsC = asn.tbsCertificate;
  if (tbsC.version !== 2) throw bad("certificate is not X.509 v3");
  const tbs = asn.tbsCertificateRaw ? u8(asn.tbsCertificateRaw) : u8(AsnConvert.serialize(tbsC));
  const outerAlg = u8(AsnConvert.serialize(asn.signatureAlgorithm));
  const innerAlg = u8(AsnConvert.serialize(tbsC.signature));
  if (!bytesEqual(outerAlg, innerAlg)) {
    throw bad("the signature algorithm inside the signed part differs from the outer one");
  }
  const spkiAsn = tbsC.subjectPublicKeyInfo;
  let key: KeyInfo;
  try {
    key = describeKey(
      spkiAsn.algorithm.algorithm,
      spkiAsn.algorithm.parameters,
      spkiAsn.subjectPublicKey,
    );
  } catch (e) {
    throw bad("the certificate's public key cannot be read", e);
  }
  let notBefore: number;
  let notAfter: number;
  try {
    notBefore = tbsC.validity.notBefore.getTime().getTime();
    notAfter = tbsC.validity.notAfter.getTime().getTime();
  } catch (e) {
    throw bad("the certificate's validity cannot be read", e);
  }
  if (Number.isNaN(notBefore) || Number.isNaN(notAfter)) {
    throw bad("the certificate's validity cannot be read");
  }

  const ext = readExtensions(asn);
  const subjectCommonNames: string[] = [];
  for (const rdn of tbsC.subject) {
    for (const atv of rdn) {
      if (atv.type === COMMON_NAME) subjectCommonNames.push(atv.value.toString());
    }
  }
  const serial = u8(tbsC.serialNumber);
  let start = 0;
  while (start < serial.length - 1 && serial[start] === 0) start++;
  return {
    der,
    tbs,
    signature: u8(asn.signatureValue),
    sigAlg: classifySignatureAlgorithm(asn.signatureAlgorithm),
    issuerId: nameId(tbsC.issuer),
    subjectId: nameId(tbsC.subject),
    serialHex: toHex(serial.subarray(start)),
    notBefore,
    notAfter,
    spki: u8(AsnConvert.serialize(spkiAsn)),
    key,
    ...ext,
    subjectCommonNames,
    asn,
  };
}

/**
 * A string that identifies a Name by its content: every RDN's attributes in encoded
 * order, each as type OID, string kind and value. For names parsed from strict DER (every
 * certificate and CRL is checked to re-encode to its exact bytes) two names have the same
 * id exactly when their DER bytes are equal, the section 4 rule, without re-encoding.
 *
 * @example
 * ```ts ignore
 * if (nameId(cert.tbsCertificate.issuer) === nameId(ca.tbsCertificate.subject)) { ... }
 * ```
 */
export function nameId(name: AsnName): string {
  const parts: string[] = [];
  for (const rdn of name) {
    parts.push("/");
    for (const atv of rdn) {
      const v = atv.value;
      const [kind, text] = v.anyValue !== undefined
        ? ["any", toHex(u8(v.anyValue))]
        : v.printableString !== undefined
        ? ["ps", v.printableString]
        : v.utf8String !== undefined
        ? ["utf8", v.utf8String]
        : v.ia5String !== undefined
        ? ["ia5", v.ia5String]
        : v.teletexString !== undefined
        ? ["t61", v.teletexString]
        : v.bmpString !== undefined
        ? ["bmp", v.bmpString]
        : v.universalString !== undefined
        ? ["univ", v.universalString]
        : ["?", ""];
      parts.push(JSON.stringify([atv.type, kind, text]));
    }
  }
  return parts.join("");
}

interface ExtensionFacts {
  basicConstraints?: { ca: boolean; pathLen?: number };
  keyUsage?: number;
  extKeyUsage?: string[];
  sanDns: string[];
  sanIp: Uint8Array[];
  unknownCritical: string[];
}

/**
 * Parses an understood extension's value strictly: the schema parse must re-serialise to
 * exactly the same bytes (DER round trip: no trailing bytes, no BER booleans or long-form
 * lengths, no explicitly encoded DEFAULT, which the serialiser omits).
 */
function strictParse<T>(value: ArrayBuffer, type: new () => T): T {
  const parsed = AsnConvert.parse(value, type);
  if (!bytesEqual(u8(AsnConvert.serialize(parsed)), u8(value))) {
    throw new Error("not strict DER");
  }
  return parsed;
}

/**
 * DER of a named bit list (X.690 11.2.2): no trailing zero bits, so the last content byte
 * is not zero and the unused-bits count is exactly its trailing zero bits (which also makes
 * every unused bit zero). asn1-schema keeps the bytes as read, so this is checked here.
 */
function strictNamedBits(value: ArrayBuffer): void {
  const v = u8(value);
  // BIT STRING, short-form length (the round trip has checked the framing).
  const unused = v[2] ?? 0;
  const last = v.length > 3 ? v[v.length - 1]! : undefined;
  if (last === undefined) {
    if (unused !== 0) throw new Error("not strict DER");
    return;
  }
  if (last === 0 || unused > 7 || (last & ((1 << (unused + 1)) - 1)) !== 1 << unused) {
    throw new Error("not strict DER (named bit list)");
  }
}

const DOTTED_OID = /^[0-2](\.(0|[1-9][0-9]*))+$/;

function readExtensions(asn: Certificate): ExtensionFacts {
  const facts: ExtensionFacts = { sanDns: [], sanIp: [], unknownCritical: [] };
  const seen = new Set<string>();
  for (const e of asn.tbsCertificate.extensions ?? []) {
    if (seen.has(e.extnID)) throw bad(`extension ${e.extnID} appears twice`);
    seen.add(e.extnID);
    if (!UNDERSTOOD.has(e.extnID)) {
      if (e.critical) facts.unknownCritical.push(e.extnID);
      continue;
    }
    const value = e.extnValue.buffer;
    try {
      switch (e.extnID) {
        case EXT.basicConstraints: {
          const bc = strictParse(value, BasicConstraints);
          const pathLen = bc.pathLenConstraint;
          if (pathLen !== undefined && !(Number.isSafeInteger(pathLen) && pathLen >= 0)) {
            throw new Error("pathLenConstraint is not a non-negative integer");
          }
          facts.basicConstraints = pathLen === undefined ? { ca: bc.cA } : { ca: bc.cA, pathLen };
          break;
        }
        case EXT.keyUsage:
          strictNamedBits(value);
          facts.keyUsage = strictParse(value, KeyUsage).toNumber();
          break;
        case EXT.extendedKeyUsage: {
          const ekus = [...strictParse(value, ExtendedKeyUsage)];
          if (
            ekus.length === 0 || !ekus.every((o) => typeof o === "string" && DOTTED_OID.test(o))
          ) {
            throw new Error("extendedKeyUsage holds something other than OIDs");
          }
          facts.extKeyUsage = ekus;
          break;
        }
        case EXT.subjectAltName:
          for (const name of strictParse(value, SubjectAlternativeName)) {
            if (name.dNSName !== undefined) facts.sanDns.push(name.dNSName);
            if (name.iPAddress !== undefined) {
              const ip = parseIpAddress(name.iPAddress);
              if (ip) facts.sanIp.push(ip);
            }
          }
          break;
        case EXT.subjectKeyIdentifier:
          strictParse(value, SubjectKeyIdentifier);
          break;
        case EXT.authorityKeyIdentifier:
          strictParse(value, AuthorityKeyIdentifier);
          break;
      }
    } catch (err) {
      throw bad(`extension ${e.extnID} is malformed or not strict DER`, err);
    }
  }
  return facts;
}
