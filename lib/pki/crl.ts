// X.509 CRLs for ASL spec section 4 ("Where a CRL is configured, a revoked certificate
// fails with CERT_REVOKED"): strict-DER parsing into issuer, signed bytes, algorithm and
// the set of revoked serial numbers; and the check of a CRL's signature against the CA file
// when it is loaded. Whether a CRL applies to a chain is decided in validate.ts.

import { AsnConvert, bytesEqual, CertificateList, toHex, u8 } from "./_asn1.ts";
import {
  type AlgorithmVerdict,
  classifySignatureAlgorithm,
  isAcceptableCaKey,
  verifySignature,
} from "./algorithms.ts";
import { PkiError } from "./errors.ts";
import { nameId, parseCertificate } from "./certificate.ts";

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

/**
 * Checks, when a CRL file is loaded, that a CRL issued by a CA of the CA file is signed by
 * it: returns `verified` when the key of a certificate in `anchors` whose subject is the
 * CRL's issuer verifies the signature, `other-issuer` when no anchor has that subject (an
 * intermediate CA's CRL, whose key is known only from a chain: validate.ts checks it there),
 * and throws `PkiError("BAD_CERTIFICATE")` when anchors match but none verifies.
 *
 * @example
 * ```ts ignore
 * import { checkCrlSignature, parseCrl } from "./crl.ts";
 * console.log(await checkCrlSignature(parseCrl(crlDer), trust.anchors)); // "verified"
 * ```
 */
export async function checkCrlSignature(
  crl: ParsedCrl,
  anchors: readonly Uint8Array[],
): Promise<"verified" | "other-issuer"> {
  let matched = false;
  for (const der of anchors) {
    let anchor;
    try {
      anchor = parseCertificate(der);
    } catch {
      continue; // an unreadable anchor anchors nothing
    }
    if (anchor.subjectId !== crl.issuerId) continue;
    matched = true;
    if (
      crl.sigAlg.status === "ok" && isAcceptableCaKey(anchor.key) &&
      await verifySignature(anchor.spki, anchor.key, crl.sigAlg.alg, crl.tbs, crl.signature)
    ) {
      return "verified";
    }
  }
  if (matched) {
    throw new PkiError("BAD_CERTIFICATE", "the CRL's signature does not verify with its CA's key");
  }
  return "other-issuer";
}
