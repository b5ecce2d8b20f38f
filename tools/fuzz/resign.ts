// Structure-aware certificate mutations for the `cert` fuzz target (issue 13; ASL spec
// section 4): the certificate is parsed with @peculiar/asn1-x509, its signed part changed
// (an extension's value mutated, its critical flag toggled, an extension dropped or
// duplicated, the validity moved, or the TBS bytes mutated) and signed again with the
// vector CA's key (node:crypto, synchronously), so the mutant passes the signature check
// and reaches the later rules. Also the independent signature check the target's oracle
// uses on every chain that validates.

import "reflect-metadata";
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate, Extension, TBSCertificate, Time } from "@peculiar/asn1-x509";
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
