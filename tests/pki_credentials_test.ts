// Tests of lib/pki/credentials.ts (ASL spec sections 2–4): own credentials (chain + PKCS#8
// key imported for RSA-PSS and RSA-OAEP, key/certificate match) and trust stores.

import assert from "node:assert/strict";
import {
  decodePrivateKeyPem,
  loadCredentials,
  loadTrustStore,
  parseCredentials,
  parseTrustStore,
} from "../lib/pki/credentials.ts";
import { PkiInputError } from "../lib/pki/errors.ts";
import { encodePem } from "../lib/pki/pem.ts";
import { crlPem, makeCrl, makeTestPki } from "./helpers/pki.ts";

const vectors = new URL("./fixtures/asl-vectors/", import.meta.url);
const read = (name: string) => Deno.readTextFile(new URL(name, vectors));

async function inputError(p: Promise<unknown> | (() => unknown), pattern: RegExp) {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    assert.ok(e instanceof PkiInputError, `expected PkiInputError, got ${e}`);
    assert.match(e.message, pattern);
    return;
  }
  assert.fail("expected a PkiInputError");
}

Deno.test("credentials: the vector server key signs (PSS) and decrypts (OAEP) for its certificate", async () => {
  const creds = await parseCredentials(await read("server.crt"), await read("server.key"));
  assert.equal(creds.chain.length, 1);
  assert.equal(creds.signKey.extractable, false);
  assert.equal(creds.decryptKey.extractable, false);
  assert.deepEqual(creds.signKey.usages, ["sign"]);
  assert.deepEqual(creds.decryptKey.usages, ["decrypt"]);
  const pub = (await import("../lib/pki/certificate.ts")).parseCertificate(creds.chain[0]!).spki;
  const oaep = await crypto.subtle.importKey(
    "spki",
    pub as Uint8Array<ArrayBuffer>,
    { name: "RSA-OAEP", hash: "SHA-256" },
    false,
    ["encrypt"],
  );
  const secret = crypto.getRandomValues(new Uint8Array(64));
  const ct = await crypto.subtle.encrypt({ name: "RSA-OAEP" }, oaep, secret);
  assert.deepEqual(
    new Uint8Array(await crypto.subtle.decrypt({ name: "RSA-OAEP" }, creds.decryptKey, ct)),
    secret,
  );
  const pss = await crypto.subtle.importKey(
    "spki",
    pub as Uint8Array<ArrayBuffer>,
    { name: "RSA-PSS", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const sig = await crypto.subtle.sign({ name: "RSA-PSS", saltLength: 32 }, creds.signKey, secret);
  assert.equal(
    await crypto.subtle.verify({ name: "RSA-PSS", saltLength: 32 }, pss, sig, secret),
    true,
  );
});

Deno.test("credentials: wrong key, missing key, non-PKCS#8 key, no certificate", async () => {
  const cert = await read("server.crt");
  await inputError(parseCredentials(cert, await read("client.key")), /does not belong/);
  await inputError(parseCredentials(cert, ""), /no PKCS#8 PRIVATE KEY/);
  await inputError(
    parseCredentials(cert, encodePem("RSA PRIVATE KEY", new Uint8Array([1]))),
    /not PKCS#8/,
  );
  await inputError(
    parseCredentials(cert, encodePem("PRIVATE KEY", new Uint8Array([1, 2]))),
    /not a readable/,
  );
  const key = await read("server.key");
  await inputError(parseCredentials(cert, key + key), /more than one/);
  await inputError(parseCredentials("", key), /no certificate/);
  await inputError(parseCredentials(cert.repeat(6), key), /at most 5/);
  await inputError(
    () => decodePrivateKeyPem("-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n"),
    /invalid PEM/,
  );
});

Deno.test("credentials: load from files; chain with intermediate; unreadable files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pki = await makeTestPki(dir, { users: ["alice"], intermediate: true });
    const creds = await loadCredentials(pki.certPath("alice"), pki.keyPath("alice"));
    assert.equal(creds.chain.length, 2);
    assert.deepEqual(creds.chain[1], pki.intermediate?.der);
    await inputError(
      loadCredentials(`${dir}/nope.pem`, pki.keyPath("alice")),
      /cannot read certificate file/,
    );
    await inputError(
      loadCredentials(pki.certPath("alice"), `${dir}/nope.key`),
      /cannot read key file/,
    );
    await inputError(loadCredentials(pki.certPath("alice"), pki.serverKeyPath), /does not belong/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("credentials: trust stores from PEM and files, CRLs in PEM or DER", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pki = await makeTestPki(dir, { users: ["alice"] });
    const ca = await Deno.readTextFile(pki.caCertPath);
    const vectorCa = await read("ca.crt");
    const both = parseTrustStore(ca + vectorCa);
    assert.equal(both.anchors.length, 2);
    assert.deepEqual(both.crls, []);
    const crl = await makeCrl(pki.ca, [pki.users.alice!.cert.serialNumber]);
    assert.deepEqual(parseTrustStore(ca, crlPem(crl)).crls, [crl]);
    await Deno.writeTextFile(`${dir}/ca.crl`, crlPem(crl));
    await Deno.writeFile(`${dir}/ca.der.crl`, crl);
    assert.deepEqual((await loadTrustStore(pki.caCertPath, `${dir}/ca.crl`)).crls, [crl]);
    assert.deepEqual((await loadTrustStore(pki.caCertPath, `${dir}/ca.der.crl`)).crls, [crl]);
    assert.equal((await loadTrustStore(pki.caCertPath)).anchors.length, 1);
    await inputError(() => parseTrustStore(""), /no certificate/);
    await inputError(
      () => parseTrustStore(encodePem("CERTIFICATE", new Uint8Array([0x30, 0]))),
      /invalid CA file/,
    );
    await inputError(() => parseTrustStore(ca, "nothing"), /no X509 CRL/);
    await inputError(
      () => parseTrustStore(ca, encodePem("X509 CRL", new Uint8Array([0x30, 0]))),
      /invalid CRL/,
    );
    await inputError(loadTrustStore(`${dir}/missing.pem`), /cannot read CA file/);
    await inputError(loadTrustStore(pki.caCertPath, `${dir}/missing.crl`), /cannot read CRL file/);
    await Deno.writeFile(`${dir}/junk.crl`, new Uint8Array([0x30, 1, 2]));
    await inputError(loadTrustStore(pki.caCertPath, `${dir}/junk.crl`), /CRL/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
