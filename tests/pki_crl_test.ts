// Tests of lib/pki/crl.ts (ASL spec section 4, CRLs): strict-DER parsing, issuer, revoked
// serial normalisation, and refusal of malformed CRLs.

import "reflect-metadata";
import assert from "node:assert/strict";
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, CertificateList } from "@peculiar/asn1-x509";
import { parseCrl } from "../lib/pki/crl.ts";
import { parseCertificate } from "../lib/pki/certificate.ts";
import { PkiError } from "../lib/pki/errors.ts";
import { makeCert, makeCrl, testKeys } from "./helpers/pki.ts";

function bad(der: Uint8Array) {
  assert.throws(() => parseCrl(der), (e) => e instanceof PkiError && e.code === "BAD_CERTIFICATE");
}

Deno.test("crl: parses issuer, signature algorithm and revoked serials", async () => {
  const ca = await makeCert({
    subject: "CN=CRL CA",
    keys: await testKeys("RSA", 0),
    profile: "ca",
  });
  const der = await makeCrl(ca, ["00ff01", "7f", "0a0b0c0d0e0f10111213"]);
  const crl = parseCrl(der);
  assert.equal(crl.issuerId, parseCertificate(ca.der).subjectId);
  assert.deepEqual([...crl.revoked].sort(), ["0a0b0c0d0e0f10111213", "7f", "ff01"].sort());
  assert.deepEqual(crl.sigAlg, {
    status: "ok",
    alg: { kind: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  });
  assert.ok(crl.nextUpdate !== undefined && crl.nextUpdate > crl.thisUpdate);
  assert.equal(parseCrl(await makeCrl(ca, [])).revoked.size, 0);
});

Deno.test("crl: malformed CRLs are BAD_CERTIFICATE", async () => {
  const ca = await makeCert({
    subject: "CN=CRL CA",
    keys: await testKeys("RSA", 0),
    profile: "ca",
  });
  const der = await makeCrl(ca, ["01"]);
  bad(new Uint8Array([0x30, 0x00]));
  bad(new Uint8Array([...der, 0]));
  bad(ca.der); // a certificate is not a CRL
  const asn = AsnConvert.parse(der, CertificateList);
  asn.signatureAlgorithm = new AlgorithmIdentifier({
    algorithm: "1.2.840.113549.1.1.12",
    parameters: null,
  });
  bad(new Uint8Array(AsnConvert.serialize(asn)));
});
