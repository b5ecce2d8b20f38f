// Tests of lib/pki/issuer.ts and crl_issue.ts (the in-memory PKI maker, profiles per ASL spec
// section 4): what it issues validates as the protocol does, chains carry intermediates, keys
// can be shared, credentials work for RSA-PSS and RSA-OAEP, and its CRLs revoke. Files and
// openssl are tested through the file layer (pki_pki_files_test.ts, certs_cli_test.ts).

import assert from "node:assert/strict";
import { Issuer } from "../lib/pki/issuer.ts";
import { entriesOf, withRevoked } from "../lib/pki/crl_issue.ts";
import { parseCertificate } from "../lib/pki/certificate.ts";
import { PkiError, PkiInputError } from "../lib/pki/errors.ts";
import { validateChain } from "../lib/pki/validate.ts";
import { testKeys } from "./helpers/pki.ts";

const SERVER = { purpose: "server", host: "localhost" } as const;
const CLIENT = { purpose: "client" } as const;

async function rejectsWith(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e) => e instanceof PkiError && e.code === code);
}

Deno.test("issuer: a root CA's server and user certificates validate for their purpose", async () => {
  const root = await Issuer.create({ keys: await testKeys("RSA", 0) });
  assert.equal(root.ca.cert.subject, "CN=NetSec-MSG Dev CA");
  const server = await root.server({ keys: await testKeys("RSA", 2) });
  const alice = await root.user("alice", { keys: await testKeys("RSA", 3) });
  assert.equal(server.cert.subject, "CN=localhost");
  assert.equal((await validateChain(server.chain, root.trust, SERVER)).identity, "localhost");
  assert.equal((await validateChain(alice.chain, root.trust, CLIENT)).identity, "alice");
  // Each certificate for the purpose it was made for, and not the other.
  await rejectsWith(validateChain(alice.chain, root.trust, SERVER), "BAD_CERTIFICATE");
  await rejectsWith(validateChain(server.chain, root.trust, CLIENT), "BAD_CERTIFICATE");
  assert.match(alice.chainPem, /^-----BEGIN CERTIFICATE-----\n/);
  assert.match(await alice.keyPem(), /^-----BEGIN PRIVATE KEY-----\n/);
});

Deno.test("issuer: leaves of an intermediate carry it; an ECDSA root signs with ECDSA", async () => {
  const root = await Issuer.create({ caAlg: "ecdsa", subject: "CN=EC Root" });
  assert.equal(root.signingAlgorithm.name, "ECDSA");
  const sub = await root.intermediate({
    subject: "CN=Sub",
    keys: await testKeys("RSA", 1),
    pathLen: 0,
  });
  const bob = await sub.user("bob", { keys: await testKeys("RSA", 4) });
  assert.equal(bob.chain.length, 2);
  assert.deepEqual(bob.chain[1], sub.ca.der);
  assert.deepEqual(sub.trust.anchors, [root.ca.der]);
  assert.equal((await validateChain(bob.chain, root.trust, CLIENT)).identity, "bob");
  // Without the intermediate the leaf does not lead to the root.
  await rejectsWith(validateChain([bob.der], root.trust, CLIENT), "UNKNOWN_CA");
});

Deno.test("issuer: users may share one key; their credentials sign (PSS) and decrypt (OAEP)", async () => {
  const root = await Issuer.create({ keys: await testKeys("RSA", 0) });
  const keys = await testKeys("RSA", 5);
  const [u1, u2] = [await root.user("u1", { keys }), await root.user("u2", { keys })];
  assert.deepEqual(parseCertificate(u1.der).spki, parseCertificate(u2.der).spki);
  assert.notDeepEqual(u1.der, u2.der);
  const [c1, c2] = [await u1.credentials(), await u2.credentials()];
  assert.equal(c1.signKey, c2.signKey, "one import for the shared key");
  assert.deepEqual(c2.chain, u2.chain);
  assert.equal(c1.signKey.extractable, false);
  const spki = parseCertificate(u1.der).spki as Uint8Array<ArrayBuffer>;
  const pss = await crypto.subtle.importKey(
    "spki",
    spki,
    { name: "RSA-PSS", hash: "SHA-256" },
    false,
    [
      "verify",
    ],
  );
  const data = new TextEncoder().encode("probe");
  const sig = await crypto.subtle.sign({ name: "RSA-PSS", saltLength: 32 }, c1.signKey, data);
  assert.ok(await crypto.subtle.verify({ name: "RSA-PSS", saltLength: 32 }, pss, sig, data));
  const oaep = await crypto.subtle.importKey(
    "spki",
    spki,
    { name: "RSA-OAEP", hash: "SHA-256" },
    false,
    [
      "encrypt",
    ],
  );
  const box = await crypto.subtle.encrypt({ name: "RSA-OAEP" }, oaep, data);
  const open = await crypto.subtle.decrypt({ name: "RSA-OAEP" }, c1.decryptKey, box);
  assert.deepEqual(new Uint8Array(open), data);
});

Deno.test("issuer: its CRL revokes; entries are kept once and other CAs' CRLs are ignored", async () => {
  const root = await Issuer.create({ keys: await testKeys("RSA", 0), subject: "CN=CRL Root" });
  const other = await Issuer.create({ keys: await testKeys("RSA", 1), subject: "CN=Other" });
  const alice = await root.user("alice", { keys: await testKeys("RSA", 3) });
  const serial = parseCertificate(alice.der).serialHex;
  const first = withRevoked([], serial);
  assert.equal(first.alreadyRevoked, false);
  const crl = await root.crl(first.entries);
  const trust = { anchors: root.trust.anchors, crls: [crl] };
  await rejectsWith(validateChain(alice.chain, trust, CLIENT), "CERT_REVOKED");

  const rootId = parseCertificate(root.ca.der).subjectId;
  const otherCrl = await other.crl(withRevoked([], "0abc").entries);
  const kept = entriesOf([crl, crl, otherCrl], rootId);
  assert.equal(kept.length, 1);
  assert.equal(withRevoked(kept, serial).alreadyRevoked, true);
  assert.equal(withRevoked(kept, serial).entries.length, 1);
});

Deno.test("issuer: an invalid USERID is refused before anything is signed", async () => {
  const root = await Issuer.create({ keys: await testKeys("RSA", 0) });
  for (const bad of ["", "a-b", "x".repeat(112), "é"]) {
    await assert.rejects(
      root.user(bad),
      (e) => e instanceof PkiInputError && /^invalid USERID /.test(e.message),
    );
  }
});

Deno.test("issuer: a loaded CA key cannot be exported again", async () => {
  const made = await Issuer.create({ keys: await testKeys("RSA", 0) });
  const loaded = Issuer.fromCa(made.ca.der, made.signingKey);
  assert.match(await made.keyPem(), /^-----BEGIN PRIVATE KEY-----\n/);
  await assert.rejects(
    loaded.keyPem(),
    (e) => e instanceof PkiInputError && /loaded, not made/.test(e.message),
  );
  const carol = await loaded.user("carol", { keys: await testKeys("RSA", 3) });
  assert.equal((await validateChain(carol.chain, made.trust, CLIENT)).identity, "carol");
});
