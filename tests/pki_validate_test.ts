// Tests of lib/pki/validate.ts against ASL spec section 4: every rejection rule builds the
// offending certificate and checks the exact code; the fault-order rule is checked with
// chains holding two faults; the conformance vector certificates validate.

import "reflect-metadata";
import assert from "node:assert/strict";
import * as x509 from "@peculiar/x509";
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, type Certificate } from "@peculiar/asn1-x509";
import { RSAPublicKey } from "../lib/pki/_asn1.ts";
import { validateChain } from "../lib/pki/validate.ts";
import { PkiError } from "../lib/pki/errors.ts";
import { decodePemCertificates } from "../lib/pki/pem.ts";
import { parseTrustStore } from "../lib/pki/credentials.ts";
import type { TrustStore, ValidateOptions } from "../lib/pki/types.ts";
import { makeCert, makeCrl, type TestCert, testKeys } from "./helpers/pki.ts";

const HOUR = 3600_000;
const SERVER: ValidateOptions = { purpose: "server", host: "localhost" };
const CLIENT: ValidateOptions = { purpose: "client" };

async function rejects(
  chain: readonly Uint8Array[],
  trust: TrustStore,
  opts: ValidateOptions,
  code: string,
  why?: RegExp,
): Promise<PkiError> {
  try {
    await validateChain(chain, trust, opts);
  } catch (e) {
    assert.ok(e instanceof PkiError, `expected PkiError, got ${e}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (why) assert.match(e.message, why);
    return e;
  }
  assert.fail(`expected ${code}, but the chain was accepted`);
}

function trustOf(...anchors: TestCert[]): TrustStore {
  return { anchors: anchors.map((a) => a.der), crls: [] };
}

// Shared PKI: root (RSA slot 0) → intermediate (slot 1) → leaves (slots 2, 3).
let shared: Promise<Awaited<ReturnType<typeof build>>> | undefined;
function fixture() {
  shared ??= build();
  return shared;
}
async function build() {
  const root = await makeCert({
    subject: "CN=Root",
    keys: await testKeys("RSA", 0),
    profile: "ca",
  });
  const inter = await makeCert({
    subject: "CN=Inter",
    keys: await testKeys("RSA", 1),
    issuer: root,
    profile: "ca",
  });
  const leafKeys = await testKeys("RSA", 2);
  const clientKeys = await testKeys("RSA", 3);
  const server = await makeCert({
    subject: "CN=srv",
    keys: leafKeys,
    issuer: root,
    profile: "server",
  });
  const serverViaInter = await makeCert({
    subject: "CN=srv",
    keys: leafKeys,
    issuer: inter,
    profile: "server",
  });
  const alice = await makeCert({
    subject: "CN=alice",
    keys: clientKeys,
    issuer: root,
    profile: "client",
  });
  const aliceViaInter = await makeCert({
    subject: "CN=alice",
    keys: clientKeys,
    issuer: inter,
    profile: "client",
  });
  return {
    root,
    inter,
    leafKeys,
    clientKeys,
    server,
    serverViaInter,
    alice,
    aliceViaInter,
    trust: trustOf(root),
  };
}

/** A leaf under `issuer` with explicit extensions (no profile). */
async function leafWith(
  issuer: TestCert,
  extensions: x509.Extension[],
  more: Partial<Parameters<typeof makeCert>[0]> = {},
) {
  return await makeCert({
    subject: "CN=alice",
    keys: await testKeys("RSA", 2),
    issuer,
    extensions,
    ...more,
  });
}

const KU_LEAF = x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment;
const SAN_LOCAL = () =>
  new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "localhost" }]);

// ---------------------------------------------------------------------------------------
// Accepted chains

Deno.test("validate: server leaf under the root, by DNS name and by IP", async () => {
  const f = await fixture();
  const peer = await validateChain([f.server.der], f.trust, SERVER);
  assert.equal(peer.identity, "localhost");
  assert.equal(peer.subject, "CN=srv");
  assert.deepEqual(peer.leafDer, f.server.der);
  assert.match(peer.fingerprint, /^([0-9a-f]{2}:){31}[0-9a-f]{2}$/);
  const expected = new Uint8Array(
    await crypto.subtle.digest("SHA-256", f.server.der as Uint8Array<ArrayBuffer>),
  );
  assert.equal(peer.fingerprint.replaceAll(":", ""), expected.toHex());
  assert.equal(peer.notAfter.getTime(), f.server.cert.notAfter.getTime());
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", f.leafKeys.publicKey));
  assert.deepEqual(peer.leafSpki, spki);
  for (const host of ["127.0.0.1", "::1", "0:0:0:0:0:0:0:1", "[::1]", "LOCALHOST"]) {
    assert.equal(
      (await validateChain([f.server.der], f.trust, { purpose: "server", host })).identity,
      host,
    );
  }
});

Deno.test("validate: without a host the server identity is the leaf CN", async () => {
  const f = await fixture();
  assert.equal(
    (await validateChain([f.server.der], f.trust, { purpose: "server" })).identity,
    "srv",
  );
});

Deno.test("validate: chains through an intermediate, with and without the root sent", async () => {
  const f = await fixture();
  const viaInter = await validateChain([f.serverViaInter.der, f.inter.der], f.trust, SERVER);
  assert.equal(viaInter.identity, "localhost");
  const withRoot = await validateChain(
    [f.serverViaInter.der, f.inter.der, f.root.der],
    f.trust,
    SERVER,
  );
  assert.equal(withRoot.identity, "localhost");
  const client = await validateChain([f.aliceViaInter.der, f.inter.der], f.trust, CLIENT);
  assert.equal(client.identity, "alice");
  assert.equal((await validateChain([f.alice.der, f.root.der], f.trust, CLIENT)).identity, "alice");
});

Deno.test("validate: a CA file with several anchors", async () => {
  const f = await fixture();
  const other = await makeCert({
    subject: "CN=Other",
    keys: await testKeys("P-256", 0),
    profile: "ca",
  });
  const trust = trustOf(other, f.root);
  assert.equal((await validateChain([f.alice.der], trust, CLIENT)).identity, "alice");
});

Deno.test("validate: ECDSA P-256 and P-384 CAs with SHA-256/384/512", async () => {
  const f = await fixture();
  for (const curve of ["P-256", "P-384"] as const) {
    const ca = await makeCert({
      subject: `CN=EC ${curve}`,
      keys: await testKeys(curve, 0),
      profile: "ca",
    });
    for (const hash of ["SHA-256", "SHA-384", "SHA-512"] as const) {
      const inter = await makeCert({
        subject: `CN=EC inter ${curve}`,
        keys: await testKeys(curve, 1),
        issuer: ca,
        profile: "ca",
        signing: { name: "ECDSA", hash },
      });
      const leaf = await makeCert({
        subject: "CN=alice",
        keys: f.clientKeys,
        issuer: inter,
        profile: "client",
        signing: { name: "ECDSA", hash },
      });
      const peer = await validateChain([leaf.der, inter.der], trustOf(ca), CLIENT);
      assert.equal(peer.identity, "alice", `${curve} ${hash}`);
    }
  }
});

Deno.test("validate: RSA PKCS#1 v1.5 SHA-384/512 and RSASSA-PSS signatures", async () => {
  const f = await fixture();
  for (const hash of ["SHA-384", "SHA-512"] as const) {
    const leaf = await makeCert({
      subject: "CN=alice",
      keys: f.clientKeys,
      issuer: f.root,
      profile: "client",
      signing: { name: "RSASSA-PKCS1-v1_5", hash },
    });
    assert.equal((await validateChain([leaf.der], f.trust, CLIENT)).identity, "alice");
  }
  for (const [hash, saltLength] of [["SHA-256", 32], ["SHA-384", 48], ["SHA-512", 20]] as const) {
    const leaf = await makeCert({
      subject: "CN=alice",
      keys: f.clientKeys,
      issuer: f.root,
      profile: "client",
      signing: { name: "RSA-PSS", hash, saltLength },
    });
    assert.equal((await validateChain([leaf.der], f.trust, CLIENT)).identity, "alice", hash);
  }
});

Deno.test("validate: a leaf without keyUsage, EKU or basicConstraints is accepted", async () => {
  const f = await fixture();
  const leaf = await leafWith(f.root, [SAN_LOCAL()]);
  assert.equal((await validateChain([leaf.der], f.trust, SERVER)).identity, "localhost");
  assert.equal((await validateChain([leaf.der], f.trust, CLIENT)).identity, "alice");
});

Deno.test("validate: an EKU with both serverAuth and clientAuth serves both purposes", async () => {
  const f = await fixture();
  const leaf = await leafWith(f.root, [
    new x509.ExtendedKeyUsageExtension([
      x509.ExtendedKeyUsage.serverAuth,
      x509.ExtendedKeyUsage.clientAuth,
    ]),
    SAN_LOCAL(),
  ]);
  assert.equal((await validateChain([leaf.der], f.trust, SERVER)).identity, "localhost");
  assert.equal((await validateChain([leaf.der], f.trust, CLIENT)).identity, "alice");
});

Deno.test("validate: unknown non-critical extensions are ignored", async () => {
  const f = await fixture();
  const leaf = await leafWith(f.root, [
    new x509.Extension("1.2.3.4.5", false, new Uint8Array([5, 0])),
  ]);
  assert.equal((await validateChain([leaf.der], f.trust, CLIENT)).identity, "alice");
});

// ---------------------------------------------------------------------------------------
// Structure and order

Deno.test("validate: empty chain and more than five certificates → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  await rejects([], f.trust, SERVER, "BAD_CERTIFICATE");
  await rejects(Array(6).fill(f.server.der), f.trust, SERVER, "BAD_CERTIFICATE");
});

Deno.test("validate: not DER, trailing bytes, non-canonical encoding → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  await rejects([new Uint8Array([1, 2, 3])], f.trust, SERVER, "BAD_CERTIFICATE");
  await rejects([new Uint8Array([...f.server.der, 0])], f.trust, SERVER, "BAD_CERTIFICATE");
  // Re-encode the outer SEQUENCE length in a longer (non-minimal) form: BER, not DER.
  const der = f.server.der;
  assert.equal(der[1], 0x82);
  const ber = new Uint8Array([0x30, 0x83, 0x00, der[2]!, der[3]!, ...der.subarray(4)]);
  await rejects([ber], f.trust, SERVER, "BAD_CERTIFICATE");
  // A PEM-level valid certificate followed by a bad intermediate.
  await rejects([f.server.der, new Uint8Array([0x30, 0x00])], f.trust, SERVER, "BAD_CERTIFICATE");
});

Deno.test("validate: a version 1 certificate → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  const v1 = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: f.root,
    mutate: (asn) => {
      asn.tbsCertificate.version = 0;
      delete asn.tbsCertificate.extensions;
    },
  });
  await rejects([v1.der], f.trust, CLIENT, "BAD_CERTIFICATE", /X\.509 v3/);
});

Deno.test("validate: inner and outer signature algorithms differ → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  const leaf = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
    mutate: (asn) => {
      asn.tbsCertificate.signature = new AlgorithmIdentifier({
        algorithm: "1.2.840.113549.1.1.12",
        parameters: null,
      });
    },
  });
  await rejects([leaf.der], f.trust, CLIENT, "BAD_CERTIFICATE", /inside the signed part/);
});

Deno.test("validate: intermediates out of order or extra → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  await rejects(
    [f.inter.der, f.serverViaInter.der],
    f.trust,
    SERVER,
    "BAD_CERTIFICATE",
    /not issued by the next/,
  );
  await rejects(
    [f.serverViaInter.der, f.root.der, f.inter.der],
    f.trust,
    SERVER,
    "BAD_CERTIFICATE",
  );
  // An extra, unrelated certificate after a complete chain is not ignored.
  await rejects(
    [f.server.der, f.root.der, f.inter.der],
    f.trust,
    SERVER,
    "BAD_CERTIFICATE",
    /not issued by the next/,
  );
  await rejects(
    [f.server.der, f.inter.der],
    f.trust,
    SERVER,
    "BAD_CERTIFICATE",
    /not issued by the next/,
  );
});

Deno.test("validate: a chain whose leaf is a trust anchor → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  await rejects([f.root.der], f.trust, SERVER, "BAD_CERTIFICATE", /itself a trusted CA/);
  await rejects([f.root.der], f.trust, CLIENT, "BAD_CERTIFICATE", /itself a trusted CA/);
  await rejects(
    [f.root.der, f.root.der],
    f.trust,
    CLIENT,
    "BAD_CERTIFICATE",
    /itself a trusted CA/,
  );
});

Deno.test("validate: a duplicated or malformed understood extension → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  const dup = await leafWith(f.root, [SAN_LOCAL(), SAN_LOCAL()]);
  await rejects([dup.der], f.trust, SERVER, "BAD_CERTIFICATE");
  const malformed = await leafWith(f.root, [
    new x509.Extension("2.5.29.19", true, new Uint8Array([0x04, 0x01, 0x00])),
  ]);
  await rejects([malformed.der], f.trust, CLIENT, "BAD_CERTIFICATE");
});

Deno.test("validate: understood extensions must be strict DER → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  const ascii = (t: string) => [...new TextEncoder().encode(t)];
  const CLIENT_AUTH = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
  const KEY_ID = [0x04, 0x02, 0x01, 0x02];
  const faults: [string, string, number[]][] = [
    ["basicConstraints with trailing bytes", "2.5.29.19", [0x30, 0x00, 0x05, 0x00]],
    ["basicConstraints with a BER boolean 0x01", "2.5.29.19", [0x30, 0x03, 0x01, 0x01, 0x01]],
    ["basicConstraints with a long-form length", "2.5.29.19", [0x30, 0x81, 0x00]],
    ["basicConstraints with cA=FALSE encoded", "2.5.29.19", [0x30, 0x03, 0x01, 0x01, 0x00]],
    ["a negative pathLenConstraint", "2.5.29.19", [0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0xff]],
    ["a non-minimal pathLenConstraint", "2.5.29.19", [
      0x30,
      0x07,
      0x01,
      0x01,
      0xff,
      0x02,
      0x02,
      0x00,
      0x01,
    ]],
    ["keyUsage with a wrong unused-bits count", "2.5.29.15", [0x03, 0x02, 0x00, 0xa0]],
    ["keyUsage with a trailing zero byte", "2.5.29.15", [0x03, 0x03, 0x05, 0xa0, 0x00]],
    ["keyUsage with an unused bit set", "2.5.29.15", [0x03, 0x02, 0x05, 0xa1]],
    ["keyUsage with trailing bytes", "2.5.29.15", [0x03, 0x02, 0x05, 0xa0, 0x00]],
    ["extendedKeyUsage with an INTEGER element", "2.5.29.37", [0x30, 0x03, 0x02, 0x01, 0x05]],
    ["extendedKeyUsage with a long-form length", "2.5.29.37", [0x30, 0x81, 0x0a, ...CLIENT_AUTH]],
    ["an empty extendedKeyUsage", "2.5.29.37", [0x30, 0x00]],
    ["subjectAltName with trailing bytes", "2.5.29.17", [
      0x30,
      0x0b,
      0x82,
      0x09,
      ...ascii("localhost"),
      0x00,
    ]],
    ["subjectAltName with a long-form length", "2.5.29.17", [
      0x30,
      0x81,
      0x0b,
      0x82,
      0x09,
      ...ascii("localhost"),
    ]],
    ["subjectKeyIdentifier with a long-form length", "2.5.29.14", [0x04, 0x81, 0x02, 0x01, 0x02]],
    ["subjectKeyIdentifier with trailing bytes", "2.5.29.14", [...KEY_ID, 0x00]],
    ["authorityKeyIdentifier with trailing bytes", "2.5.29.35", [
      0x30,
      0x03,
      0x80,
      0x01,
      0x01,
      0x00,
    ]],
    ["authorityKeyIdentifier with a long-form length", "2.5.29.35", [
      0x30,
      0x81,
      0x03,
      0x80,
      0x01,
      0x01,
    ]],
  ];
  for (const [what, oid, bytes] of faults) {
    const leaf = await leafWith(f.root, [new x509.Extension(oid, false, new Uint8Array(bytes))]);
    const e = await rejects([leaf.der], f.trust, CLIENT, "BAD_CERTIFICATE").catch((err) => {
      throw new Error(`${what}: ${err.message}`);
    });
    assert.match(
      e.message,
      // (The pre-parse size-bound walk already reads subjectAltName's framing.)
      new RegExp(
        `extension ${
          oid.replaceAll(".", "\\.")
        } is malformed|subjectAltName has trailing|\\(not DER\\)`,
      ),
      what,
    );
  }
  // The same extensions in strict DER are accepted.
  const good = await leafWith(f.root, [
    new x509.Extension("2.5.29.19", false, new Uint8Array([0x30, 0x00])),
    new x509.Extension("2.5.29.15", false, new Uint8Array([0x03, 0x02, 0x05, 0xa0])),
    new x509.Extension("2.5.29.37", false, new Uint8Array([0x30, 0x0a, ...CLIENT_AUTH])),
    new x509.Extension(
      "2.5.29.17",
      false,
      new Uint8Array([0x30, 0x0b, 0x82, 0x09, ...ascii("localhost")]),
    ),
    new x509.Extension("2.5.29.14", false, new Uint8Array(KEY_ID)),
    new x509.Extension("2.5.29.35", false, new Uint8Array([0x30, 0x03, 0x80, 0x01, 0x01])),
  ]);
  assert.equal((await validateChain([good.der], f.trust, CLIENT)).identity, "alice");
});

// ---------------------------------------------------------------------------------------
// MD5 / SHA-1

function withAlgorithm(oid: string, parameters: ArrayBuffer | null | undefined = null) {
  return (asn: Certificate) => {
    const alg = new AlgorithmIdentifier({ algorithm: oid });
    if (parameters !== undefined) alg.parameters = parameters;
    asn.tbsCertificate.signature = alg;
    asn.signatureAlgorithm = alg;
  };
}

Deno.test("validate: SHA-1 and MD5 signatures → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  const sha1 = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
    signing: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-1" },
  });
  const e = await rejects([sha1.der], f.trust, CLIENT, "BAD_CERTIFICATE");
  assert.match(e.message, /MD5\/SHA-1/);
  // MD5 cannot be produced by WebCrypto: relabel the algorithm (the signature is never checked).
  const md5 = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
    mutate: withAlgorithm("1.2.840.113549.1.1.4"),
    resign: false,
  });
  assert.match((await rejects([md5.der], f.trust, CLIENT, "BAD_CERTIFICATE")).message, /MD5/);
  const ecCa = await makeCert({
    subject: "CN=EC",
    keys: await testKeys("P-256", 0),
    profile: "ca",
  });
  const ecSha1 = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: ecCa,
    profile: "client",
    signing: { name: "ECDSA", hash: "SHA-1" },
  });
  await rejects([ecSha1.der], trustOf(ecCa), CLIENT, "BAD_CERTIFICATE");
  // RSASSA-PSS without parameters means SHA-1.
  const pss = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
    mutate: withAlgorithm("1.2.840.113549.1.1.10", undefined),
    resign: false,
  });
  await rejects([pss.der], f.trust, CLIENT, "BAD_CERTIFICATE");
});

Deno.test("validate: a SHA-1 intermediate → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  const inter = await makeCert({
    subject: "CN=Inter",
    keys: await testKeys("RSA", 1),
    issuer: f.root,
    profile: "ca",
    signing: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-1" },
  });
  await rejects(
    [f.serverViaInter.der, inter.der],
    f.trust,
    SERVER,
    "BAD_CERTIFICATE",
    /certificate 2 .*SHA-1/,
  );
});

// ---------------------------------------------------------------------------------------
// Trust anchor

Deno.test("validate: a chain to an untrusted CA → UNKNOWN_CA", async () => {
  const f = await fixture();
  const stranger = await makeCert({
    subject: "CN=Stranger",
    keys: await testKeys("RSA", 4),
    profile: "ca",
  });
  const leaf = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: stranger,
    profile: "client",
  });
  await rejects([leaf.der], f.trust, CLIENT, "UNKNOWN_CA", /does not lead to a trusted CA/);
  await rejects(
    [leaf.der, stranger.der],
    f.trust,
    CLIENT,
    "UNKNOWN_CA",
    /does not lead to a trusted CA/,
  );
  // An empty-anchored store trusts nothing.
  await rejects(
    [f.alice.der],
    { anchors: [], crls: [] },
    CLIENT,
    "UNKNOWN_CA",
    /does not lead to a trusted CA/,
  );
});

Deno.test("validate: a sent root that is not byte-identical to the trusted one → UNKNOWN_CA", async () => {
  const f = await fixture();
  // Same name and key as the trusted root, but a different certificate.
  const twin = await makeCert({
    subject: "CN=Root",
    keys: await testKeys("RSA", 0),
    profile: "ca",
  });
  await rejects([f.alice.der, twin.der], f.trust, CLIENT, "UNKNOWN_CA", /self-issued/);
});

Deno.test("validate: an impostor CA with a trusted CA's name → BAD_CERTIFICATE (signature)", async () => {
  const f = await fixture();
  const impostor = await makeCert({
    subject: "CN=Root",
    keys: await testKeys("RSA", 4),
    profile: "ca",
  });
  const leaf = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: impostor,
    profile: "client",
  });
  await rejects(
    [leaf.der],
    f.trust,
    CLIENT,
    "BAD_CERTIFICATE",
    /signature of the leaf certificate does not verify/,
  );
});

// ---------------------------------------------------------------------------------------
// Signatures

Deno.test("validate: a bad signature on the leaf or the intermediate → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  const flipped = f.alice.der.slice();
  flipped[flipped.length - 5]! ^= 0x01;
  await rejects([flipped], f.trust, CLIENT, "BAD_CERTIFICATE", /does not verify/);
  const tampered = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
    mutate: (asn) => {
      asn.tbsCertificate.serialNumber = new Uint8Array([0x01, 0x02]).buffer;
    },
    resign: false,
  });
  await rejects([tampered.der], f.trust, CLIENT, "BAD_CERTIFICATE", /does not verify/);
  const badInter = f.inter.der.slice();
  badInter[badInter.length - 3]! ^= 0x80;
  await rejects(
    [f.serverViaInter.der, badInter],
    f.trust,
    SERVER,
    "BAD_CERTIFICATE",
    /does not verify/,
  );
  const ecCa = await makeCert({
    subject: "CN=EC",
    keys: await testKeys("P-256", 0),
    profile: "ca",
  });
  const ecLeaf = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: ecCa,
    profile: "client",
  });
  const ecBad = ecLeaf.der.slice();
  ecBad[ecBad.length - 2]! ^= 0x01;
  await rejects([ecBad], trustOf(ecCa), CLIENT, "BAD_CERTIFICATE", /does not verify/);
});

Deno.test("validate: an unsupported signature algorithm → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  const sha224 = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
    mutate: withAlgorithm("1.2.840.113549.1.1.14"),
    resign: false,
  });
  await rejects(
    [sha224.der],
    f.trust,
    CLIENT,
    "BAD_CERTIFICATE",
    /unsupported signature algorithm|does not verify/,
  );
  // An ECDSA algorithm on an RSA-signed certificate (algorithm and key do not fit).
  const mismatch = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
    mutate: withAlgorithm("1.2.840.10045.4.3.2", undefined),
    resign: false,
  });
  await rejects(
    [mismatch.der],
    f.trust,
    CLIENT,
    "BAD_CERTIFICATE",
    /unsupported signature algorithm|does not verify/,
  );
});

Deno.test("validate: CA keys outside RSA 2048–4096 / P-256 / P-384 → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  const smallInter = await makeCert({
    subject: "CN=Small",
    keys: await testKeys("RSA", 0, 1024),
    issuer: f.root,
    profile: "ca",
  });
  const leaf = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: smallInter,
    profile: "client",
  });
  await rejects([leaf.der, smallInter.der], f.trust, CLIENT, "BAD_CERTIFICATE");
  const p521 = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-521" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const caP521 = await x509.X509CertificateGenerator.createSelfSigned({
    name: "CN=P521",
    keys: p521,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-512" } as Algorithm,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const leaf521 = await x509.X509CertificateGenerator.create({
    subject: "CN=alice",
    issuer: caP521.subjectName,
    publicKey: f.clientKeys.publicKey,
    signingKey: p521.privateKey,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-512" } as Algorithm,
    notBefore: new Date(Date.now() - HOUR),
    notAfter: new Date(Date.now() + HOUR),
  });
  const trust521 = { anchors: [new Uint8Array(caP521.rawData)], crls: [] };
  const e = await rejects([new Uint8Array(leaf521.rawData)], trust521, CLIENT, "BAD_CERTIFICATE");
  assert.match(e.message, /not accepted/);
  assert.match(
    (await rejects([leaf.der, smallInter.der], f.trust, CLIENT, "BAD_CERTIFICATE")).message,
    /an RSA key of 1024 bits \(CA keys: RSA of 2048 to 4096 bits, or ECDSA P-256 or P-384\)/,
  );
});

Deno.test("validate: RSA CA keys over 4096 bits → BAD_CERTIFICATE naming size and range", async () => {
  const f = await fixture();
  // A real 4096-bit intermediate CA key is accepted.
  const inter4096 = await makeCert({
    subject: "CN=Inter 4096",
    keys: await testKeys("RSA", 0, 4096),
    issuer: f.root,
    profile: "ca",
  });
  const leaf4096 = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: inter4096,
    profile: "client",
  });
  const ok = await validateChain([leaf4096.der, inter4096.der], f.trust, CLIENT);
  assert.equal(ok.identity, "alice");
  const range = /\(CA keys: RSA of 2048 to 4096 bits, or ECDSA P-256 or P-384\)/;
  for (const bits of [4104, 8192]) {
    // An intermediate whose key is larger (the runtime's WebCrypto could not even import it).
    const big = await makeCert({
      subject: "CN=Inter",
      keys: f.leafKeys,
      issuer: f.root,
      profile: "ca",
      mutate: withRsaKey(bits),
    });
    const e = await rejects([f.aliceViaInter.der, big.der], f.trust, CLIENT, "BAD_CERTIFICATE");
    assert.match(
      e.message,
      new RegExp(
        `certificate 2 of the chain has a CA key that is not accepted: an RSA key of ${bits} bits`,
      ),
    );
    assert.match(e.message, range);
    // A trust anchor whose key is larger (its own signature is never checked).
    const bigRoot = await makeCert({
      subject: "CN=Root",
      keys: await testKeys("RSA", 0),
      profile: "ca",
      mutate: withRsaKey(bits),
      resign: false,
    });
    const a = await rejects([f.alice.der], trustOf(bigRoot), CLIENT, "BAD_CERTIFICATE");
    assert.match(
      a.message,
      new RegExp(
        `the trusted CA certificate has a key that is not accepted: an RSA key of ${bits} bits`,
      ),
    );
    assert.match(a.message, range);
  }
});

// ---------------------------------------------------------------------------------------
// Critical extensions

const CRITICAL_UNKNOWN = () => new x509.Extension("1.2.3.4.5", true, new Uint8Array([5, 0]));

Deno.test("validate: an unknown critical extension in leaf, intermediate or anchor → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  const leaf = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
    extensions: [CRITICAL_UNKNOWN()],
  });
  await rejects([leaf.der], f.trust, CLIENT, "BAD_CERTIFICATE", /unknown critical extension/);
  const inter = await makeCert({
    subject: "CN=Inter",
    keys: await testKeys("RSA", 1),
    issuer: f.root,
    profile: "ca",
    extensions: [CRITICAL_UNKNOWN()],
  });
  await rejects(
    [f.aliceViaInter.der, inter.der],
    f.trust,
    CLIENT,
    "BAD_CERTIFICATE",
    /unknown critical extension/,
  );
  // A known-to-others but not understood extension (nameConstraints), critical, on the anchor.
  const root = await makeCert({
    subject: "CN=Root",
    keys: await testKeys("RSA", 0),
    profile: "ca",
    extensions: [new x509.Extension("2.5.29.30", true, new Uint8Array([0x30, 0x00]))],
  });
  await rejects(
    [f.alice.der],
    trustOf(root),
    CLIENT,
    "BAD_CERTIFICATE",
    /unknown critical extension/,
  );
});

// ---------------------------------------------------------------------------------------
// Issuer constraints

Deno.test("validate: an issuer that is not a CA → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  const interKeys = await testKeys("RSA", 1);
  const variants: x509.Extension[][] = [
    [],
    [new x509.BasicConstraintsExtension(false, undefined, true)],
    [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
    ],
  ];
  for (const extensions of variants) {
    const inter = await makeCert({
      subject: "CN=Inter",
      keys: interKeys,
      issuer: f.root,
      extensions,
    });
    await rejects(
      [f.aliceViaInter.der, inter.der],
      f.trust,
      CLIENT,
      "BAD_CERTIFICATE",
      /not a CA|keyCertSign/,
    );
  }
});

Deno.test("validate: a trust anchor without cA or keyCertSign → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  const rootKeys = await testKeys("RSA", 0);
  for (
    const extensions of [
      [],
      [new x509.BasicConstraintsExtension(false)],
      [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.cRLSign, true),
      ],
    ]
  ) {
    const root = await makeCert({ subject: "CN=Root", keys: rootKeys, extensions });
    await rejects(
      [f.alice.der],
      trustOf(root),
      CLIENT,
      "BAD_CERTIFICATE",
      /trusted CA certificate (is not a CA|has keyUsage without keyCertSign)/,
    );
  }
  // keyUsage absent on the anchor is fine.
  const bare = await makeCert({
    subject: "CN=Root",
    keys: rootKeys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  assert.equal((await validateChain([f.alice.der], trustOf(bare), CLIENT)).identity, "alice");
});

Deno.test("validate: pathLenConstraint is respected", async () => {
  const f = await fixture();
  const rootKeys = await testKeys("RSA", 0);
  const root0 = await makeCert({ subject: "CN=Root", keys: rootKeys, profile: "ca", pathLen: 0 });
  // pathLen 0 at the root: a leaf directly below is fine, one intermediate is too many.
  assert.equal((await validateChain([f.alice.der], trustOf(root0), CLIENT)).identity, "alice");
  await rejects(
    [f.aliceViaInter.der, f.inter.der],
    trustOf(root0),
    CLIENT,
    "BAD_CERTIFICATE",
    /pathLenConstraint/,
  );
  const root1 = await makeCert({ subject: "CN=Root", keys: rootKeys, profile: "ca", pathLen: 1 });
  assert.equal(
    (await validateChain([f.aliceViaInter.der, f.inter.der], trustOf(root1), CLIENT)).identity,
    "alice",
  );
  // pathLen 0 on the intermediate, a second intermediate below it → rejected.
  const inter0 = await makeCert({
    subject: "CN=Inter",
    keys: await testKeys("RSA", 1),
    issuer: f.root,
    profile: "ca",
    pathLen: 0,
  });
  const inter2 = await makeCert({
    subject: "CN=Inter2",
    keys: await testKeys("RSA", 4),
    issuer: inter0,
    profile: "ca",
  });
  const leaf = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: inter2,
    profile: "client",
  });
  await rejects(
    [leaf.der, inter2.der, inter0.der],
    f.trust,
    CLIENT,
    "BAD_CERTIFICATE",
    /pathLenConstraint/,
  );
  const leaf1 = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: inter0,
    profile: "client",
  });
  assert.equal((await validateChain([leaf1.der, inter0.der], f.trust, CLIENT)).identity, "alice");
});

// ---------------------------------------------------------------------------------------
// Validity dates

Deno.test("validate: expired or not yet valid leaf, intermediate or anchor → CERT_EXPIRED", async () => {
  const f = await fixture();
  const now = Date.now();
  const expired = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
    notBefore: new Date(now - 48 * HOUR),
    notAfter: new Date(now - HOUR),
  });
  assert.match((await rejects([expired.der], f.trust, CLIENT, "CERT_EXPIRED")).message, /expired/);
  const future = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
    notBefore: new Date(now + HOUR),
    notAfter: new Date(now + 48 * HOUR),
  });
  assert.match(
    (await rejects([future.der], f.trust, CLIENT, "CERT_EXPIRED")).message,
    /not valid yet/,
  );
  const oldInter = await makeCert({
    subject: "CN=Inter",
    keys: await testKeys("RSA", 1),
    issuer: f.root,
    profile: "ca",
    notBefore: new Date(now - 48 * HOUR),
    notAfter: new Date(now - HOUR),
  });
  await rejects([f.aliceViaInter.der, oldInter.der], f.trust, CLIENT, "CERT_EXPIRED");
  const oldRoot = await makeCert({
    subject: "CN=Root",
    keys: await testKeys("RSA", 0),
    profile: "ca",
    notBefore: new Date(now - 48 * HOUR),
    notAfter: new Date(now - HOUR),
  });
  await rejects([f.alice.der], trustOf(oldRoot), CLIENT, "CERT_EXPIRED");
});

Deno.test("validate: `at` moves the validation time; the bounds are inclusive", async () => {
  const f = await fixture();
  const now = Date.now();
  const leaf = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
    notBefore: new Date(now - 10 * 60_000),
    notAfter: new Date(now + 2 * HOUR),
  });
  const notAfter = leaf.cert.notAfter.getTime();
  const notBefore = leaf.cert.notBefore.getTime();
  const at = (ms: number): ValidateOptions => ({ purpose: "client", at: new Date(ms) });
  await rejects([leaf.der], f.trust, at(notAfter + 1000), "CERT_EXPIRED");
  await rejects([leaf.der], f.trust, at(notBefore - 1000), "CERT_EXPIRED");
  assert.equal((await validateChain([leaf.der], f.trust, at(notAfter))).identity, "alice");
  assert.equal((await validateChain([leaf.der], f.trust, at(notBefore))).identity, "alice");
  await assert.rejects(validateChain([leaf.der], f.trust, at(NaN)), RangeError);
});

// ---------------------------------------------------------------------------------------
// Leaf key and usages

/**
 * Swaps the subject key for an RSA public key with a modulus of `bits` bits and the given
 * exponent. Only the key's size and exponent matter to the leaf rules (the leaf's own key
 * signs nothing during validation), so no slow key generation is needed.
 */
function withRsaKey(bits: number, exponent = [1, 0, 1]) {
  return (asn: Certificate) => {
    const modulus = crypto.getRandomValues(new Uint8Array(bits / 8 + 1));
    modulus[0] = 0;
    modulus[1]! |= 0x80;
    const key = new RSAPublicKey({
      modulus: modulus.buffer,
      publicExponent: new Uint8Array(exponent).buffer,
    });
    asn.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey = AsnConvert.serialize(key);
  };
}

Deno.test("validate: leaf keys that are not RSA 2048–4096 with e=65537 → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  const ec = await makeCert({
    subject: "CN=alice",
    keys: await testKeys("P-256", 3),
    issuer: f.root,
    profile: "client",
  });
  assert.match(
    (await rejects([ec.der], f.trust, CLIENT, "BAD_CERTIFICATE")).message,
    /must be RSA, not EC P-256/,
  );
  const real1024 = await makeCert({
    subject: "CN=alice",
    keys: await testKeys("RSA", 0, 1024),
    issuer: f.root,
    profile: "client",
  });
  assert.match(
    (await rejects([real1024.der], f.trust, CLIENT, "BAD_CERTIFICATE")).message,
    /1024 bits/,
  );
  for (
    const [bits, exponent, why] of [[2040, [1, 0, 1], /2040 bits/], [2048, [3], /65537/], [2048, [
      1,
      0,
      0,
      1,
    ], /65537/]] as const
  ) {
    const leaf = await makeCert({
      subject: "CN=alice",
      keys: f.clientKeys,
      issuer: f.root,
      profile: "client",
      mutate: withRsaKey(bits, [...exponent]),
    });
    assert.match((await rejects([leaf.der], f.trust, CLIENT, "BAD_CERTIFICATE")).message, why);
  }
  const ok = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
    mutate: withRsaKey(2048),
  });
  assert.equal((await validateChain([ok.der], f.trust, CLIENT)).identity, "alice");
});

Deno.test("validate: leaf RSA keys of 4096 bits pass, over 4096 bits → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  const withModulusBits = (bits: number) => withRsaKey(bits);
  const ok = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
    mutate: withModulusBits(4096),
  });
  assert.equal((await validateChain([ok.der], f.trust, CLIENT)).identity, "alice");
  const big = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
    mutate: withModulusBits(4104),
  });
  assert.match((await rejects([big.der], f.trust, CLIENT, "BAD_CERTIFICATE")).message, /4104 bits/);
});

Deno.test("validate: a leaf that is a CA → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  const leaf = await leafWith(f.root, [new x509.BasicConstraintsExtension(true), SAN_LOCAL()]);
  await rejects([leaf.der], f.trust, SERVER, "BAD_CERTIFICATE", /leaf certificate is a CA/);
});

Deno.test("validate: leaf keyUsage without digitalSignature and keyEncipherment → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  for (
    const flags of [
      x509.KeyUsageFlags.digitalSignature,
      x509.KeyUsageFlags.keyEncipherment,
      x509.KeyUsageFlags.keyCertSign,
    ]
  ) {
    const leaf = await leafWith(f.root, [new x509.KeyUsagesExtension(flags, true), SAN_LOCAL()]);
    await rejects([leaf.der], f.trust, SERVER, "BAD_CERTIFICATE", /keyUsage lacks/);
  }
  const ok = await leafWith(f.root, [
    new x509.KeyUsagesExtension(KU_LEAF | x509.KeyUsageFlags.nonRepudiation, true),
    SAN_LOCAL(),
  ]);
  await validateChain([ok.der], f.trust, SERVER);
});

Deno.test("validate: EKU without the purpose (or anyExtendedKeyUsage alone) → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  await rejects(
    [f.alice.der],
    f.trust,
    { purpose: "server" },
    "BAD_CERTIFICATE",
    /extendedKeyUsage lacks/,
  );
  await rejects([f.server.der], f.trust, CLIENT, "BAD_CERTIFICATE", /extendedKeyUsage lacks/);
  const any = await leafWith(f.root, [
    new x509.ExtendedKeyUsageExtension(["2.5.29.37.0"]),
    SAN_LOCAL(),
  ]);
  await rejects([any.der], f.trust, SERVER, "BAD_CERTIFICATE", /extendedKeyUsage lacks/);
  await rejects([any.der], f.trust, CLIENT, "BAD_CERTIFICATE", /extendedKeyUsage lacks/);
});

// ---------------------------------------------------------------------------------------
// Name or CN

Deno.test("validate: the server certificate must name the host → BAD_IDENTITY", async () => {
  const f = await fixture();
  for (const host of ["example.com", "127.0.0.2", "::2", "localhost.example", "srv"]) {
    await rejects(
      [f.server.der],
      f.trust,
      { purpose: "server", host },
      "BAD_IDENTITY",
      /does not name/,
    );
  }
  // The CN is never used, and an IP written as a dNSName does not match an IP host.
  const cnOnly = await makeCert({
    subject: "CN=localhost",
    keys: f.leafKeys,
    issuer: f.root,
    profile: "server",
    hosts: ["127.0.0.1.example"],
  });
  await rejects([cnOnly.der], f.trust, SERVER, "BAD_IDENTITY", /does not name/);
  const ipAsDns = await leafWith(f.root, [
    new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "127.0.0.1" }]),
  ]);
  await rejects(
    [ipAsDns.der],
    f.trust,
    { purpose: "server", host: "127.0.0.1" },
    "BAD_IDENTITY",
    /does not name/,
  );
  const noSan = await leafWith(f.root, []);
  await rejects([noSan.der], f.trust, SERVER, "BAD_IDENTITY", /does not name/);
});

Deno.test("validate: a client CN that is not exactly one USERID → BAD_CERTIFICATE", async () => {
  const f = await fixture();
  for (
    const subject of [
      "CN=al ice",
      "CN=bob_1",
      "CN=" + "a".repeat(112),
      "O=NoCN",
      "CN=alice, CN=bob",
    ]
  ) {
    const leaf = await makeCert({ subject, keys: f.clientKeys, issuer: f.root, profile: "client" });
    await rejects([leaf.der], f.trust, CLIENT, "BAD_CERTIFICATE", /CN/);
  }
  const max = await makeCert({
    subject: "CN=" + "Z9".repeat(55) + "x",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
  });
  assert.equal((await validateChain([max.der], f.trust, CLIENT)).identity.length, 111);
  const mixed = await makeCert({
    subject: "CN=Alice, O=Org",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
  });
  assert.equal((await validateChain([mixed.der], f.trust, CLIENT)).identity, "Alice");
});

// ---------------------------------------------------------------------------------------
// Revocation

Deno.test("validate: revoked leaf or intermediate → CERT_REVOKED", async () => {
  const f = await fixture();
  const serial = (c: TestCert) => c.cert.serialNumber;
  const byRoot = await makeCrl(f.root, [serial(f.alice)]);
  await rejects([f.alice.der], { anchors: [f.root.der], crls: [byRoot] }, CLIENT, "CERT_REVOKED");
  const interRevoked = await makeCrl(f.root, [serial(f.inter)]);
  await rejects(
    [f.aliceViaInter.der, f.inter.der],
    { anchors: [f.root.der], crls: [interRevoked] },
    CLIENT,
    "CERT_REVOKED",
  );
  const byInter = await makeCrl(f.inter, [serial(f.aliceViaInter)]);
  await rejects(
    [f.aliceViaInter.der, f.inter.der],
    { anchors: [f.root.der], crls: [byInter] },
    CLIENT,
    "CERT_REVOKED",
  );
  // ECDSA-signed CRL from an ECDSA CA.
  const ecCa = await makeCert({
    subject: "CN=EC",
    keys: await testKeys("P-384", 0),
    profile: "ca",
  });
  const ecLeaf = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: ecCa,
    profile: "client",
  });
  const ecCrl = await makeCrl(ecCa, [serial(ecLeaf)]);
  await rejects([ecLeaf.der], { anchors: [ecCa.der], crls: [ecCrl] }, CLIENT, "CERT_REVOKED");
});

Deno.test("validate: CRLs from another issuer, with a bad signature or for other serials are not used", async () => {
  const f = await fixture();
  const serial = f.alice.cert.serialNumber;
  const other = await makeCrl(f.root, ["0badc0de"]);
  const impostor = await makeCert({
    subject: "CN=Root",
    keys: await testKeys("RSA", 4),
    profile: "ca",
  });
  const forged = await makeCrl(impostor, [serial]); // right issuer name, wrong key
  const stranger = await makeCert({
    subject: "CN=Stranger",
    keys: await testKeys("RSA", 4),
    profile: "ca",
  });
  const foreign = await makeCrl(stranger, [serial]);
  const trust = { anchors: [f.root.der], crls: [other, forged, foreign] };
  assert.equal((await validateChain([f.alice.der], trust, CLIENT)).identity, "alice");
  // The root's CRL naming the intermediate's serial does not revoke a leaf below it.
  const byInterName = await makeCrl(f.inter, [f.inter.cert.serialNumber]);
  assert.equal(
    (await validateChain([f.aliceViaInter.der, f.inter.der], {
      anchors: [f.root.der],
      crls: [byInterName],
    }, CLIENT))
      .identity,
    "alice",
  );
});

// ---------------------------------------------------------------------------------------
// Fault order: structure, MD5/SHA-1, anchor, signatures, critical extensions, issuer
// constraints, validity, leaf key and usages, name/CN, revocation.

Deno.test("validate: fault order — the first fault in the spec's order is reported", async () => {
  const f = await fixture();
  const now = Date.now();
  const stranger = await makeCert({
    subject: "CN=Stranger",
    keys: await testKeys("RSA", 4),
    profile: "ca",
  });
  // order + unknown CA → BAD_CERTIFICATE (structure first)
  const strangerLeaf = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: stranger,
    profile: "client",
  });
  await rejects([strangerLeaf.der, f.inter.der], f.trust, CLIENT, "BAD_CERTIFICATE");
  // SHA-1 + unknown CA → BAD_CERTIFICATE (MD5/SHA-1 before the anchor)
  const sha1Stranger = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: stranger,
    profile: "client",
    signing: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-1" },
  });
  await rejects([sha1Stranger.der], f.trust, CLIENT, "BAD_CERTIFICATE");
  // unknown CA + bad signature + expired → UNKNOWN_CA (anchor before signatures and dates)
  const expiredStranger = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: stranger,
    profile: "client",
    notBefore: new Date(now - 48 * HOUR),
    notAfter: new Date(now - HOUR),
  });
  const broken = expiredStranger.der.slice();
  broken[broken.length - 4]! ^= 1;
  await rejects([broken], f.trust, CLIENT, "UNKNOWN_CA");
  // unsupported algorithm + unknown CA → UNKNOWN_CA (algorithms are checked with signatures)
  const sha224Stranger = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: stranger,
    profile: "client",
    mutate: withAlgorithm("1.2.840.113549.1.1.14"),
    resign: false,
  });
  await rejects([sha224Stranger.der], f.trust, CLIENT, "UNKNOWN_CA");
  // bad signature + expired → BAD_CERTIFICATE
  const expired = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
    notBefore: new Date(now - 48 * HOUR),
    notAfter: new Date(now - HOUR),
  });
  const expiredBroken = expired.der.slice();
  expiredBroken[expiredBroken.length - 4]! ^= 1;
  await rejects([expiredBroken], f.trust, CLIENT, "BAD_CERTIFICATE");
  await rejects([expired.der], f.trust, CLIENT, "CERT_EXPIRED");
  // unknown critical extension + expired → BAD_CERTIFICATE
  const critExpired = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
    extensions: [CRITICAL_UNKNOWN()],
    notBefore: new Date(now - 48 * HOUR),
    notAfter: new Date(now - HOUR),
  });
  await rejects([critExpired.der], f.trust, CLIENT, "BAD_CERTIFICATE");
  // issuer not a CA + expired leaf → BAD_CERTIFICATE
  const notCa = await makeCert({
    subject: "CN=Inter",
    keys: await testKeys("RSA", 1),
    issuer: f.root,
  });
  const expiredUnderNotCa = await makeCert({
    subject: "CN=alice",
    keys: f.clientKeys,
    issuer: notCa,
    profile: "client",
    notBefore: new Date(now - 48 * HOUR),
    notAfter: new Date(now - HOUR),
  });
  await rejects([expiredUnderNotCa.der, notCa.der], f.trust, CLIENT, "BAD_CERTIFICATE");
  // expired + wrong EKU → CERT_EXPIRED (dates before usages)
  await rejects([expired.der], f.trust, { purpose: "server", host: "localhost" }, "CERT_EXPIRED");
  // wrong EKU + name mismatch → BAD_CERTIFICATE (usages before the name)
  await rejects(
    [f.alice.der],
    f.trust,
    { purpose: "server", host: "example.com" },
    "BAD_CERTIFICATE",
  );
  // small key + bad client CN → BAD_CERTIFICATE either way; small key + name mismatch → BAD_CERTIFICATE
  const smallServer = await makeCert({
    subject: "CN=srv",
    keys: await testKeys("RSA", 0, 1024),
    issuer: f.root,
    profile: "server",
  });
  await rejects(
    [smallServer.der],
    f.trust,
    { purpose: "server", host: "example.com" },
    "BAD_CERTIFICATE",
  );
  // name mismatch + revoked → BAD_IDENTITY (name before revocation)
  const crl = await makeCrl(f.root, [f.server.cert.serialNumber]);
  const revokedTrust = { anchors: [f.root.der], crls: [crl] };
  await rejects(
    [f.server.der],
    revokedTrust,
    { purpose: "server", host: "example.com" },
    "BAD_IDENTITY",
  );
  await rejects([f.server.der], revokedTrust, SERVER, "CERT_REVOKED");
  // bad client CN + revoked → BAD_CERTIFICATE
  const badCn = await makeCert({
    subject: "CN=bad_cn",
    keys: f.clientKeys,
    issuer: f.root,
    profile: "client",
  });
  const crl2 = await makeCrl(f.root, [badCn.cert.serialNumber]);
  await rejects([badCn.der], { anchors: [f.root.der], crls: [crl2] }, CLIENT, "BAD_CERTIFICATE");
  // revoked + expired → CERT_EXPIRED
  const crl3 = await makeCrl(f.root, [expired.cert.serialNumber]);
  await rejects([expired.der], { anchors: [f.root.der], crls: [crl3] }, CLIENT, "CERT_EXPIRED");
});

// ---------------------------------------------------------------------------------------
// Conformance vectors

Deno.test("validate: the ASL vector certificates", async () => {
  const dir = new URL("./fixtures/asl-vectors/", import.meta.url);
  const read = (name: string) => Deno.readTextFile(new URL(name, dir));
  const trust = parseTrustStore(await read("ca.crt"));
  const server = decodePemCertificates(await read("server.crt"));
  const client = decodePemCertificates(await read("client.crt"));
  assert.equal(
    (await validateChain(server, trust, { purpose: "server", host: "localhost" })).identity,
    "localhost",
  );
  assert.equal(
    (await validateChain(server, trust, { purpose: "server", host: "127.0.0.1" })).identity,
    "127.0.0.1",
  );
  const alice = await validateChain(client, trust, { purpose: "client" });
  assert.equal(alice.identity, "alice");
  assert.equal(alice.subject, "CN=alice");
  await rejects(server, trust, { purpose: "server", host: "::1" }, "BAD_IDENTITY");
  await rejects(server, trust, { purpose: "client" }, "BAD_CERTIFICATE");
  await rejects(client, trust, { purpose: "server" }, "BAD_CERTIFICATE");
  await rejects(
    client,
    trust,
    { purpose: "client", at: new Date("2040-01-01T00:00:00Z") },
    "CERT_EXPIRED",
  );
  const f = await fixture();
  await rejects(client, f.trust, CLIENT, "UNKNOWN_CA");
});

Deno.test("validate: a trust store object is reusable and independent of others", async () => {
  const f = await fixture();
  const trust = trustOf(f.root);
  for (let i = 0; i < 3; i++) {
    assert.equal((await validateChain([f.alice.der], trust, CLIENT)).identity, "alice");
  }
  const crl = await makeCrl(f.root, [f.alice.cert.serialNumber]);
  await rejects([f.alice.der], { anchors: trust.anchors, crls: [crl] }, CLIENT, "CERT_REVOKED");
  assert.equal((await validateChain([f.alice.der], trust, CLIENT)).identity, "alice");
});
