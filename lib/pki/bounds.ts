// The size bounds of ASL spec section 4 ("Precise rules", first point), checked on a
// certificate's raw DER before it is parsed any further: at most 8 192 bytes, 24
// extensions, 16 attributes in each of issuer and subject, 16 names in subjectAltName.
// This is a bounds check, not an ASN.1 decoder: a minimal walk over tags and strict
// definite lengths that only finds and counts elements (it reads no value); the full,
// strict parse comes after it (certificate.ts). Cost: linear in the (bounded) DER size.

import { PkiError } from "./errors.ts";

/** The section 4 size bounds of one certificate. */
export const CERT_BOUNDS = {
  /** Most DER bytes of a certificate. */
  maxBytes: 8192,
  /** Most extensions. */
  maxExtensions: 24,
  /** Most attributes (AttributeTypeAndValue) in each of issuer and subject. */
  maxNameAttributes: 16,
  /** Most GeneralNames in subjectAltName. */
  maxSanNames: 16,
} as const;

const SEQUENCE = 0x30;
const SET = 0x31;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const OID = 0x06;
const BOOLEAN = 0x01;
const VERSION = 0xa0; // [0] EXPLICIT
const ISSUER_UID = 0x81; // [1] IMPLICIT BIT STRING
const SUBJECT_UID = 0x82; // [2] IMPLICIT BIT STRING
const EXTENSIONS = 0xa3; // [3] EXPLICIT
/** Content bytes of OBJECT IDENTIFIER 2.5.29.17 (subjectAltName). */
const SAN_OID = [0x55, 0x1d, 0x11];

/** One TLV: its tag byte and where its content begins and ends. */
interface Tlv {
  readonly tag: number;
  readonly body: number;
  readonly end: number;
}

function fail(message: string): never {
  throw new PkiError("BAD_CERTIFICATE", message);
}

/**
 * Reads the TLV at `pos`, which must end by `limit`. Strict DER framing: a one-byte tag
 * (certificates use no high tag numbers where this walk looks), a definite length in
 * the shortest form (at most two length bytes: nothing here exceeds 8 192 bytes).
 */
function readTlv(der: Uint8Array, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) fail("the certificate is truncated");
  const tag = der[pos]!;
  if ((tag & 0x1f) === 0x1f) fail("the certificate has a high tag number where none belongs");
  let len = der[pos + 1]!;
  let body = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) fail("the certificate uses an indefinite length (not DER)");
    if (n > 2) fail("the certificate has an element longer than it can be");
    if (body + n > limit) fail("the certificate is truncated");
    if (der[body] === 0) fail("the certificate has a length with a leading zero (not DER)");
    len = n === 1 ? der[body]! : (der[body]! << 8) | der[body + 1]!;
    if (len < 0x80) fail("the certificate has a long-form length for a short one (not DER)");
    body += n;
  }
  const end = body + len;
  if (end > limit) fail("the certificate is truncated");
  return { tag, body, end };
}

function expect(der: Uint8Array, pos: number, limit: number, tag: number, what: string): Tlv {
  const tlv = readTlv(der, pos, limit);
  if (tlv.tag !== tag) fail(`the certificate's ${what} is missing or misplaced`);
  return tlv;
}

/** Counts the attributes of a Name (SEQUENCE OF SET OF AttributeTypeAndValue). */
function checkName(der: Uint8Array, name: Tlv, what: "issuer" | "subject"): void {
  let count = 0;
  for (let pos = name.body; pos < name.end;) {
    const rdn = expect(der, pos, name.end, SET, `${what} name`);
    if (rdn.body === rdn.end) fail(`the certificate's ${what} name has an empty RDN`);
    for (let p = rdn.body; p < rdn.end;) {
      p = expect(der, p, rdn.end, SEQUENCE, `${what} name`).end;
      if (++count > CERT_BOUNDS.maxNameAttributes) {
        fail(
          `the certificate's ${what} name has more than ${CERT_BOUNDS.maxNameAttributes} attributes`,
        );
      }
    }
    pos = rdn.end;
  }
}

/** Counts the GeneralNames inside a subjectAltName extension value. */
function checkSan(der: Uint8Array, value: Tlv): void {
  const names = expect(der, value.body, value.end, SEQUENCE, "subjectAltName");
  if (names.end !== value.end) fail("the certificate's subjectAltName has trailing bytes");
  let count = 0;
  for (let pos = names.body; pos < names.end;) {
    pos = readTlv(der, pos, names.end).end;
    if (++count > CERT_BOUNDS.maxSanNames) {
      fail(`the certificate's subjectAltName has more than ${CERT_BOUNDS.maxSanNames} names`);
    }
  }
}

function isSan(der: Uint8Array, oid: Tlv): boolean {
  return oid.end - oid.body === SAN_OID.length &&
    SAN_OID.every((b, i) => der[oid.body + i] === b);
}

/** Counts the extensions and checks each subjectAltName. */
function checkExtensions(der: Uint8Array, wrapper: Tlv): void {
  const list = expect(der, wrapper.body, wrapper.end, SEQUENCE, "extensions");
  if (list.end !== wrapper.end) fail("the certificate's extensions have trailing bytes");
  let count = 0;
  for (let pos = list.body; pos < list.end;) {
    const ext = expect(der, pos, list.end, SEQUENCE, "extensions");
    if (++count > CERT_BOUNDS.maxExtensions) {
      fail(`the certificate has more than ${CERT_BOUNDS.maxExtensions} extensions`);
    }
    const oid = expect(der, ext.body, ext.end, OID, "extension");
    let next = readTlv(der, oid.end, ext.end);
    if (next.tag === BOOLEAN) next = readTlv(der, next.end, ext.end);
    if (next.tag !== OCTET_STRING || next.end !== ext.end) {
      fail("the certificate has a malformed extension");
    }
    if (isSan(der, oid)) checkSan(der, next);
    pos = ext.end;
  }
}

/**
 * Checks the section 4 size bounds on a certificate's DER without parsing it; throws
 * `PkiError("BAD_CERTIFICATE")` naming the bound (or the framing fault) otherwise. Also
 * refuses what no strict DER X.509 certificate has: indefinite or non-minimal lengths,
 * trailing bytes, an empty RDN, misplaced top-level fields.
 *
 * @example
 * ```ts
 * import { checkCertificateBounds } from "./bounds.ts";
 * try {
 *   checkCertificateBounds(new Uint8Array(9000));
 * } catch (e) {
 *   console.log((e as Error).message); // "the certificate has 9000 bytes (at most 8192)"
 * }
 * ```
 */
export function checkCertificateBounds(der: Uint8Array): void {
  if (der.length > CERT_BOUNDS.maxBytes) {
    fail(`the certificate has ${der.length} bytes (at most ${CERT_BOUNDS.maxBytes})`);
  }
  const cert = expect(der, 0, der.length, SEQUENCE, "outer SEQUENCE");
  if (cert.end !== der.length) fail("the certificate has trailing bytes");
  const tbs = expect(der, cert.body, cert.end, SEQUENCE, "signed part");
  const sigAlg = expect(der, tbs.end, cert.end, SEQUENCE, "signature algorithm");
  const sig = expect(der, sigAlg.end, cert.end, BIT_STRING, "signature");
  if (sig.end !== cert.end) fail("the certificate has trailing bytes");

  let field = readTlv(der, tbs.body, tbs.end);
  if (field.tag === VERSION) field = readTlv(der, field.end, tbs.end);
  if (field.tag !== INTEGER) fail("the certificate's serial number is missing or misplaced");
  const alg = expect(der, field.end, tbs.end, SEQUENCE, "inner signature algorithm");
  const issuer = expect(der, alg.end, tbs.end, SEQUENCE, "issuer name");
  checkName(der, issuer, "issuer");
  const validity = expect(der, issuer.end, tbs.end, SEQUENCE, "validity");
  const subject = expect(der, validity.end, tbs.end, SEQUENCE, "subject name");
  checkName(der, subject, "subject");
  const spki = expect(der, subject.end, tbs.end, SEQUENCE, "public key");
  let pos = spki.end;
  for (const tag of [ISSUER_UID, SUBJECT_UID]) {
    if (pos < tbs.end && der[pos] === tag) pos = readTlv(der, pos, tbs.end).end;
  }
  if (pos < tbs.end) {
    const exts = expect(der, pos, tbs.end, EXTENSIONS, "extensions");
    checkExtensions(der, exts);
    pos = exts.end;
  }
  if (pos !== tbs.end) fail("the certificate's signed part has trailing bytes");
}
