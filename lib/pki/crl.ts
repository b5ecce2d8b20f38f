// X.509 CRLs for ASL spec section 4 ("Where a CRL is configured, a revoked certificate
// fails with CERT_REVOKED"): strict-DER parsing into issuer, signed bytes, algorithm and
// the set of revoked serial numbers. Whether a CRL applies is decided in validate.ts.

import { AsnConvert, bytesEqual, CertificateList, toHex, u8 } from "./_asn1.ts";
import { type AlgorithmVerdict, classifySignatureAlgorithm } from "./algorithms.ts";
import { PkiError } from "./errors.ts";
import { nameId } from "./certificate.ts";

/** A parsed CRL. */
export interface ParsedCrl {
  /** The CRL's exact DER. */
  readonly der: Uint8Array;
  /** The exact signed bytes (TBSCertList DER). */
  readonly tbs: Uint8Array;
  /** The signature value. */
  readonly signature: Uint8Array;
  /** The verdict on the signature algorithm (inner = outer is required). */
  readonly sigAlg: AlgorithmVerdict;
  /** The issuer name's comparison key (`nameId` of certificate.ts). */
  readonly issuerId: string;
  /** Revoked serial numbers: unsigned big-endian hex without leading zero bytes. */
  readonly revoked: ReadonlySet<string>;
  /** thisUpdate / nextUpdate, ms since the epoch (informational: section 4 does not use them). */
  readonly thisUpdate: number;
  readonly nextUpdate?: number;
  /** The parsed ASN.1. */
  readonly asn: CertificateList;
}

function serialHex(bytes: ArrayBuffer): string {
  const b = u8(bytes);
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return toHex(b.subarray(i));
}

/**
 * Parses one DER CRL, or throws `PkiError("BAD_CERTIFICATE")` when it is not strict-DER
 * X.509 CRL with equal inner and outer signature algorithms.
 *
 * @example
 * ```ts
 * import { parseCrl } from "./crl.ts";
 * try {
 *   parseCrl(new Uint8Array([0x30, 0x00]));
 * } catch (e) {
 *   console.log((e as { code: string }).code); // "BAD_CERTIFICATE"
 * }
 * ```
 */
export function parseCrl(der: Uint8Array): ParsedCrl {
  let asn: CertificateList;
  let again: Uint8Array;
  try {
    asn = AsnConvert.parse(der, CertificateList);
    again = u8(AsnConvert.serialize(asn));
  } catch (e) {
    throw new PkiError("BAD_CERTIFICATE", "not a DER X.509 CRL", { cause: e });
  }
  if (!bytesEqual(again, der)) {
    throw new PkiError(
      "BAD_CERTIFICATE",
      "CRL is not strict DER (trailing or non-canonical bytes)",
    );
  }
  const tbsL = asn.tbsCertList;
  const outer = u8(AsnConvert.serialize(asn.signatureAlgorithm));
  const inner = u8(AsnConvert.serialize(tbsL.signature));
  if (!bytesEqual(outer, inner)) {
    throw new PkiError("BAD_CERTIFICATE", "CRL signature algorithms inside and outside differ");
  }
  const revoked = new Set<string>();
  for (const entry of tbsL.revokedCertificates ?? []) revoked.add(serialHex(entry.userCertificate));
  const next = tbsL.nextUpdate?.getTime().getTime();
  return {
    der: der.slice(),
    tbs: asn.tbsCertListRaw ? u8(asn.tbsCertListRaw) : u8(AsnConvert.serialize(tbsL)),
    signature: u8(asn.signature),
    sigAlg: classifySignatureAlgorithm(asn.signatureAlgorithm),
    issuerId: nameId(tbsL.issuer),
    revoked,
    thisUpdate: tbsL.thisUpdate.getTime().getTime(),
    ...(next === undefined ? {} : { nextUpdate: next }),
    asn,
  };
}
