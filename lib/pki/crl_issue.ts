// CRL making for the PKI maker (lib/pki/issuer.ts; `certs revoke`): the entries of earlier
// CRLs of a CA, adding one serial to them, and signing an X.509 v2 CRL (RFC 5280) that
// strict DER parsers and `openssl crl` accept (ASL spec section 4 reads it). Pure apart
// from signing.

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { parseCrl } from "./crl.ts";
import { ecdsaSignatureDer, type SigningAlgorithm } from "./keys.ts";
import { CRL_NEXT_UPDATE_DAYS, DAY_MS } from "./profiles.ts";
import { AsnConvert, bytesEqual, CertificateList } from "./_asn1.ts";

/** One revoked certificate on a CRL. */
export interface RevokedEntry {
  /** Serial number, hex as @peculiar/x509 writes it (a leading `00` keeps it positive). */
  readonly serialNumber: string;
  /** When it was revoked. */
  readonly revocationDate: Date;
}

/** What signs a CRL: the CA certificate and its private key. */
export interface CrlSigner {
  readonly cert: x509.X509Certificate;
  readonly signingKey: CryptoKey;
  readonly signingAlgorithm: SigningAlgorithm;
}

const norm = (hex: string) => hex.toLowerCase().replace(/^(00)+(?=.)/, "");

/**
 * The entries of those `crls` (DER) whose issuer is `issuerId` (the CA's subject, as
 * `parseCertificate(...).subjectId`), each serial once, in order. Throws what `parseCrl`
 * throws on a malformed CRL.
 */
export function entriesOf(crls: readonly Uint8Array[], issuerId: string): RevokedEntry[] {
  const seen = new Set<string>();
  const out: RevokedEntry[] = [];
  for (const der of crls) {
    if (parseCrl(der).issuerId !== issuerId) continue;
    for (const e of new x509.X509Crl(der as Uint8Array<ArrayBuffer>).entries) {
      const s = norm(e.serialNumber);
      if (seen.has(s)) continue;
      seen.add(s);
      out.push({ serialNumber: e.serialNumber, revocationDate: e.revocationDate });
    }
  }
  return out;
}

/**
 * `entries` plus `serialHex` (revoked at `now`) unless it is already there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withRevoked } from "./crl_issue.ts";
 * const once = withRevoked([], "8a", new Date(0));
 * assert.deepEqual(once.entries.map((e) => e.serialNumber), ["008a"]);
 * assert.equal(withRevoked(once.entries, "8a").alreadyRevoked, true);
 * ```
 */
export function withRevoked(
  entries: readonly RevokedEntry[],
  serialHex: string,
  now: Date = new Date(),
): { entries: RevokedEntry[]; alreadyRevoked: boolean } {
  const alreadyRevoked = entries.some((e) => norm(e.serialNumber) === norm(serialHex));
  if (alreadyRevoked) return { entries: [...entries], alreadyRevoked };
  const hex = serialHex.length % 2 === 1 ? "0" + serialHex : serialHex;
  const serialNumber = /^[89a-f]/.test(hex) ? "00" + hex : hex;
  return { entries: [...entries, { serialNumber, revocationDate: now }], alreadyRevoked };
}

/**
 * Signs a CRL (DER) listing `entries`: thisUpdate `now`, nextUpdate 30 days later, an
 * authorityKeyIdentifier, and no entry extensions.
 */
export async function signCrl(
  ca: CrlSigner,
  entries: readonly RevokedEntry[],
  now: number = Date.now(),
): Promise<Uint8Array> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subjectName,
    thisUpdate: new Date(now),
    nextUpdate: new Date(now + CRL_NEXT_UPDATE_DAYS * DAY_MS),
    entries: entries.map((e) => ({ ...e })),
    signingAlgorithm: ca.signingAlgorithm,
    signingKey: ca.signingKey,
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(ca.cert)],
  });
  return await dropEmptyEntryExtensions(new Uint8Array(crl.rawData), ca);
}

/**
 * @peculiar/x509 2.2.0 writes an empty `crlEntryExtensions` SEQUENCE for entries without
 * extensions, which RFC 5280 forbids (SIZE (1..MAX)) and strict DER parsers refuse. This
 * removes them and signs the corrected TBSCertList again with the CA key.
 */
async function dropEmptyEntryExtensions(der: Uint8Array, ca: CrlSigner): Promise<Uint8Array> {
  const asn = AsnConvert.parse(der, CertificateList);
  for (const entry of asn.tbsCertList.revokedCertificates ?? []) {
    if (entry.crlEntryExtensions?.length === 0) delete entry.crlEntryExtensions;
  }
  const tbs = new Uint8Array(AsnConvert.serialize(asn.tbsCertList));
  if (asn.tbsCertListRaw && bytesEqual(tbs, new Uint8Array(asn.tbsCertListRaw))) return der;
  const raw = new Uint8Array(await crypto.subtle.sign(ca.signingAlgorithm, ca.signingKey, tbs));
  const signature = ca.signingAlgorithm.name === "ECDSA"
    ? ecdsaSignatureDer(raw).buffer
    : raw.buffer;
  const fixed = new CertificateList({
    tbsCertList: asn.tbsCertList,
    signatureAlgorithm: asn.signatureAlgorithm,
    signature,
  });
  return new Uint8Array(AsnConvert.serialize(fixed));
}
