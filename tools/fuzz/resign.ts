// Structure-aware certificate mutations for the `cert` fuzz target (issue 13; ASL spec
// section 4): the certificate is parsed with @peculiar/asn1-x509, its signed part changed
// (an extension's value mutated, its critical flag toggled, an extension dropped or
// duplicated, the validity moved, or the TBS bytes mutated) and signed again with the
// vector CA's key (node:crypto, synchronously), so the mutant passes the signature check
// and reaches the later rules. Also the independent signature check the target's oracle
// uses on every chain that validates. The same for CRLs, with an independent reading of a
// CRL (signed by the CA? which issuer? which serials?) for the `crl` target's oracle.

import "reflect-metadata";
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import {
  Certificate,
  CertificateList,
  Extension,
  type Name,
  RevokedCertificate,
  TBSCertificate,
  TBSCertList,
  Time,
} from "@peculiar/asn1-x509";
import { OctetString } from "@peculiar/asn1-schema";
import type { Prng } from "./prng.ts";

/** The vector CA's keys as node:crypto key objects. */
export interface CaKeys {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** Imports the CA's PKCS#8 PEM private key (the public key is derived from it). */
export function caKeys(privatePem: string): CaKeys {
  const privateKey = createPrivateKey(privatePem);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** True when `der` is a certificate whose signature verifies under `ca` (sha256WithRSA). */
export function signedBy(der: Uint8Array, ca: CaKeys): boolean {
  try {
    const asn = AsnConvert.parse(der, Certificate);
    const tbs = asn.tbsCertificateRaw
      ? new Uint8Array(asn.tbsCertificateRaw)
      : new Uint8Array(AsnConvert.serialize(asn.tbsCertificate));
    return verify("sha256", tbs, ca.publicKey, new Uint8Array(asn.signatureValue));
  } catch {
    return false;
  }
}

const DAY = 86_400_000;

/**
 * A re-signed structural mutant of `der`, or undefined when `der` does not parse or the
 * mutation gives no TBS that encodes.
 */
export function resignedMutant(
  der: Uint8Array,
  rng: Prng,
  ca: CaKeys,
  bytes: (input: Uint8Array) => Uint8Array,
): Uint8Array | undefined {
  let asn: Certificate;
  try {
    asn = AsnConvert.parse(der, Certificate);
  } catch {
    return undefined;
  }
  const tbs = asn.tbsCertificate;
  const exts = tbs.extensions ?? [];
  const ext = exts.length > 0 ? exts[rng.int(exts.length)]! : undefined;
  switch (rng.int(6)) {
    case 0: // an extension's value (strict DER inside, finding 4)
      if (!ext) return undefined;
      ext.extnValue = new OctetString(bytes(new Uint8Array(ext.extnValue.buffer)));
      break;
    case 1:
      if (!ext) return undefined;
      ext.critical = !ext.critical;
      break;
    case 2:
      if (!ext) return undefined;
      exts.splice(exts.indexOf(ext), 1);
      break;
    case 3:
      if (!ext) return undefined;
      exts.splice(
        rng.int(exts.length + 1),
        0,
        new Extension({
          extnID: ext.extnID,
          critical: ext.critical,
          extnValue: new OctetString(new Uint8Array(ext.extnValue.buffer)),
        }),
      );
      break;
    case 4: { // validity
      const base = Date.UTC(2026, 11, 5);
      const at = (d: number) => new Time(new Date(base + d * DAY));
      tbs.validity.notBefore = at(rng.range(-4000, 400));
      tbs.validity.notAfter = at(rng.range(-400, 40_000));
      break;
    }
    default: { // the TBS bytes
      try {
        asn.tbsCertificate = AsnConvert.parse(
          bytes(new Uint8Array(AsnConvert.serialize(tbs))),
          TBSCertificate,
        );
      } catch {
        return undefined;
      }
    }
  }
  try {
    delete asn.tbsCertificateRaw;
    const signed = new Uint8Array(AsnConvert.serialize(asn.tbsCertificate));
    asn.signatureValue = sign("sha256", signed, ca.privateKey).buffer as ArrayBuffer;
    return new Uint8Array(AsnConvert.serialize(asn));
  } catch {
    return undefined;
  }
}

/**
 * What an independent reading (asn1-x509 and node:crypto) says of a CRL: whether the CA
 * signed it (sha256WithRSA, inner = outer algorithm, signature over the exact TBS bytes),
 * its issuer's DER, and its revoked serials as unsigned hex without leading zero bytes.
 */
export function readCrl(
  der: Uint8Array,
  ca: CaKeys,
): { signed: boolean; issuer: string; serials: Set<string> } | undefined {
  let asn: CertificateList;
  try {
    asn = AsnConvert.parse(der, CertificateList);
  } catch {
    return undefined;
  }
  const tbsL = asn.tbsCertList;
  const tbs = asn.tbsCertListRaw
    ? new Uint8Array(asn.tbsCertListRaw)
    : new Uint8Array(AsnConvert.serialize(tbsL));
  const outer = new Uint8Array(AsnConvert.serialize(asn.signatureAlgorithm)).toHex();
  const inner = new Uint8Array(AsnConvert.serialize(tbsL.signature)).toHex();
  let signed = false;
  try {
    signed = asn.signatureAlgorithm.algorithm === SHA256_WITH_RSA && outer === inner &&
      verify("sha256", tbs, ca.publicKey, new Uint8Array(asn.signature));
  } catch {
    signed = false;
  }
  const serials = new Set<string>();
  for (const e of tbsL.revokedCertificates ?? []) {
    serials.add(new Uint8Array(e.userCertificate).toHex().replace(/^(00)+(?=.)/, ""));
  }
  return {
    signed,
    issuer: new Uint8Array(AsnConvert.serialize(tbsL.issuer)).toHex(),
    serials,
  };
}

const SHA256_WITH_RSA = "1.2.840.113549.1.1.11";

/**
 * A re-signed structural mutant of a CRL: a revoked serial mutated, added (`addSerials`) or
 * dropped, the issuer replaced, the dates moved, or the TBS bytes mutated; undefined when
 * `der` does not parse or the mutant does not encode.
 */
export function resignedCrlMutant(
  der: Uint8Array,
  rng: Prng,
  ca: CaKeys,
  bytes: (input: Uint8Array) => Uint8Array,
  addSerials: readonly Uint8Array[],
  otherNames: readonly Name[],
): Uint8Array | undefined {
  let asn: CertificateList;
  try {
    asn = AsnConvert.parse(der, CertificateList);
  } catch {
    return undefined;
  }
  const tbsL = asn.tbsCertList;
  const entries = tbsL.revokedCertificates ?? [];
  const entry = entries.length > 0 ? entries[rng.int(entries.length)]! : undefined;
  switch (rng.int(6)) {
    case 0: // a serial's bytes
      if (!entry) return undefined;
      entry.userCertificate = bytes(new Uint8Array(entry.userCertificate)).slice()
        .buffer as ArrayBuffer;
      break;
    case 1: { // add a serial that matters (a vector leaf's)
      const serial = rng.pick(addSerials).slice();
      const added = new RevokedCertificate({
        userCertificate: serial.buffer as ArrayBuffer,
        revocationDate: new Time(new Date(Date.UTC(2026, 10, 1))),
      });
      entries.splice(rng.int(entries.length + 1), 0, added);
      tbsL.revokedCertificates = entries;
      break;
    }
    case 2:
      if (!entry) return undefined;
      entries.splice(entries.indexOf(entry), 1);
      if (entries.length === 0) delete tbsL.revokedCertificates;
      break;
    case 3:
      tbsL.issuer = rng.pick(otherNames);
      break;
    case 4: {
      const base = Date.UTC(2026, 11, 5);
      tbsL.thisUpdate = new Time(new Date(base + rng.range(-4000, 4000) * DAY));
      if (rng.chance(0.2)) delete tbsL.nextUpdate;
      else tbsL.nextUpdate = new Time(new Date(base + rng.range(-4000, 4000) * DAY));
      break;
    }
    default:
      try {
        asn.tbsCertList = AsnConvert.parse(
          bytes(new Uint8Array(AsnConvert.serialize(tbsL))),
          TBSCertList,
        );
      } catch {
        return undefined;
      }
  }
  try {
    delete asn.tbsCertListRaw;
    const signed = new Uint8Array(AsnConvert.serialize(asn.tbsCertList));
    asn.signature = sign("sha256", signed, ca.privateKey).buffer as ArrayBuffer;
    return new Uint8Array(AsnConvert.serialize(asn));
  } catch {
    return undefined;
  }
}
