// Tests of lib/pki/bounds.ts (ASL spec section 4, "Precise rules", first point): the size
// bounds at and one past each limit, the strict framing of the pre-parse walk, and that
// validateChain reports a bound as BAD_CERTIFICATE before anything else (UNKNOWN_CA too).

import "reflect-metadata";
import assert from "node:assert/strict";
import type * as x509 from "@peculiar/x509";
import { CERT_BOUNDS, checkCertificateBounds } from "../lib/pki/bounds.ts";
import { PkiError } from "../lib/pki/errors.ts";
import { validateChain } from "../lib/pki/validate.ts";
import type { ValidateOptions } from "../lib/pki/types.ts";
import { makeCert, type TestCert, testKeys } from "./helpers/pki.ts";
import { certOfSize, manyAttributes, padExtensions } from "./helpers/pki_sized.ts";

const SERVER: ValidateOptions = { purpose: "server", host: "localhost" };

let shared: Promise<{ root: TestCert; trust: { anchors: Uint8Array[]; crls: [] } }> | undefined;
function fixture() {
  shared ??= (async () => {
    const root = await makeCert({
      subject: "CN=Bounds Root",
      keys: await testKeys("RSA", 0),
      profile: "ca",
    });
    return { root, trust: { anchors: [root.der], crls: [] as [] } };
  })();
  return shared;
}

function badBound(der: Uint8Array, why: RegExp): void {
  assert.throws(
    () => checkCertificateBounds(der),
    (e) => e instanceof PkiError && e.code === "BAD_CERTIFICATE" && why.test(e.message),
  );
}

async function rejects(chain: Uint8Array[], code: string, why: RegExp): Promise<void> {
  const f = await fixture();
  await assert.rejects(
    validateChain(chain, f.trust, SERVER),
    (e) => e instanceof PkiError && e.code === code && why.test(e.message),
  );
}

/** A server leaf under the fixture root with the given subject, SANs and extra extensions. */
async function leaf(subject: string, hosts: string[], extensions: x509.Extension[] = []) {
  const f = await fixture();
  return await makeCert({
    subject,
    keys: await testKeys("RSA", 2),
    issuer: f.root,
    profile: "server",
    hosts,
    extensions,
  });
}

const SIXTEEN_HOSTS = ["localhost", ...Array.from({ length: 15 }, (_, i) => `h${i}.example`)];

Deno.test("bounds: a certificate at every bound at once validates", async () => {
  const f = await fixture();
  // The server profile has 6 extensions; 18 more make 24. 16 subject attributes, 16 SANs.
  const cert = await certOfSize(
    CERT_BOUNDS.maxBytes,
    {
      subject: manyAttributes(16, "srv"),
      keys: await testKeys("RSA", 2),
      issuer: f.root,
      profile: "server",
      hosts: SIXTEEN_HOSTS,
    },
    18,
  );
  assert.equal(cert.der.length, 8192);
  assert.equal(cert.cert.extensions.length, 24);
  checkCertificateBounds(cert.der);
  assert.equal((await validateChain([cert.der], f.trust, SERVER)).identity, "localhost");
});

Deno.test("bounds: one byte over 8 192 → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  const cert = await certOfSize(8193, {
    subject: "CN=srv",
    keys: await testKeys("RSA", 2),
    issuer: f.root,
    profile: "server",
  });
  badBound(cert.der, /has 8193 bytes \(at most 8192\)/);
  await rejects([cert.der], "BAD_CERTIFICATE", /8193 bytes/);
});

Deno.test("bounds: 25 extensions → BAD_CERTIFICATE", async () => {
  const cert = await leaf("CN=srv", ["localhost"], padExtensions(19));
  assert.equal(cert.cert.extensions.length, 25);
  badBound(cert.der, /more than 24 extensions/);
  await rejects([cert.der], "BAD_CERTIFICATE", /more than 24 extensions/);
});

Deno.test("bounds: 17 subject or issuer attributes → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  checkCertificateBounds((await leaf(manyAttributes(16, "srv"), ["localhost"])).der);
  const subject17 = await leaf(manyAttributes(17, "srv"), ["localhost"]);
  badBound(subject17.der, /subject name has more than 16 attributes/);
  await rejects([subject17.der], "BAD_CERTIFICATE", /subject name has more than 16/);
  // An issuer name of 17 attributes (the leaf's own subject is short).
  const bigCa = await makeCert({
    subject: manyAttributes(17, "Big CA"),
    keys: await testKeys("RSA", 1),
    profile: "ca",
  });
  const issued = await makeCert({
    subject: "CN=srv",
    keys: await testKeys("RSA", 2),
    issuer: bigCa,
    profile: "server",
  });
  badBound(issued.der, /issuer name has more than 16 attributes/);
  // Several attributes in one RDN count one by one.
  const multi = await makeCert({
    subject: `${Array.from({ length: 16 }, (_, i) => `OU=m${i}`).join("+")}+CN=srv`,
    keys: await testKeys("RSA", 2),
    issuer: f.root,
    profile: "server",
  });
  badBound(multi.der, /subject name has more than 16 attributes/);
});

Deno.test("bounds: 17 subjectAltName names → BAD_CERTIFICATE", async () => {
  checkCertificateBounds((await leaf("CN=srv", SIXTEEN_HOSTS)).der);
  const cert = await leaf("CN=srv", [...SIXTEEN_HOSTS, "127.0.0.1"]);
  badBound(cert.der, /subjectAltName has more than 16 names/);
  await rejects([cert.der], "BAD_CERTIFICATE", /subjectAltName has more than 16 names/);
});

Deno.test("bounds: a hostile 1 500-extension certificate → BAD_CERTIFICATE, not UNKNOWN_CA", async () => {
  const f = await fixture();
  const hostile = await makeCert({
    subject: "CN=evil",
    keys: await testKeys("RSA", 1),
    extensions: padExtensions(1500),
  });
  assert.ok(hostile.der.length > 8192);
  // Self-signed and untrusted (UNKNOWN_CA), but the bound is a structure fault: first.
  await rejects([hostile.der], "BAD_CERTIFICATE", /at most 8192/);
  // Under 8 192 bytes, the extension count is what refuses it.
  const small = await makeCert({
    subject: "CN=evil",
    keys: await testKeys("RSA", 1),
    extensions: padExtensions(300),
  });
  assert.ok(small.der.length <= 8192);
  await rejects([small.der], "BAD_CERTIFICATE", /more than 24 extensions/);
  // Anywhere in the chain.
  const good = await leaf("CN=srv", ["localhost"]);
  await rejects([good.der, small.der], "BAD_CERTIFICATE", /certificate 2 of the chain/);
  assert.equal((await validateChain([good.der], f.trust, SERVER)).identity, "localhost");
});

Deno.test("bounds: the walk refuses non-DER framing", async () => {
  const der = (await fixture()).root.der;
  assert.equal(der[1], 0x82);
  checkCertificateBounds(der);
  badBound(der.subarray(0, der.length - 1), /truncated/);
  badBound(new Uint8Array([...der, 0]), /trailing bytes/);
  badBound(new Uint8Array([0x30, 0x80, ...der.subarray(4), 0, 0]), /indefinite length/);
  badBound(new Uint8Array([0x30, 0x83, 0, der[2]!, der[3]!, ...der.subarray(4)]), /longer/);
  badBound(new Uint8Array([0x30, 0x82, 0, 0x03, 0x02, 0x01, 0x00]), /leading zero/);
  badBound(new Uint8Array([0x30, 0x81, 0x03, 0x02, 0x01, 0x00]), /long-form length/);
  badBound(new Uint8Array([0x30, 0x00]), /truncated/);
  badBound(new Uint8Array([0x31, 0x00]), /outer SEQUENCE is missing or misplaced/);
  badBound(new Uint8Array([0x1f, 0x01, 0x00]), /high tag number/);
  badBound(new Uint8Array([]), /truncated/);
  // A length that runs past its parent.
  const inner = der.slice();
  assert.equal(inner[5], 0x82);
  inner[7] = (inner[7]! + 1) & 0xff; // the signed part's length (30 82 xx xx 30 82 XX XX)
  badBound(inner, /truncated|trailing|misplaced/);
});
