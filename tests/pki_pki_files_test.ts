// Tests of lib/pki/pki_files.ts (over issuer.ts) (issue #2's certificate tool, profiles per ASL spec section
// 4): files and modes, profiles, `openssl verify -purpose sslserver/sslclient` on what it
// makes, `openssl crl` on its CRL, overwrite protection and input errors.

import "reflect-metadata";
import assert from "node:assert/strict";
import * as x509 from "@peculiar/x509";
import { initPki, issueServer, issueUser, revokeCertificate } from "../lib/pki/pki_files.ts";
import { PkiError, PkiInputError } from "../lib/pki/errors.ts";
import { loadCredentials, loadTrustStore } from "../lib/pki/credentials.ts";
import { decodePemCertificates } from "../lib/pki/pem.ts";
import { validateChain } from "../lib/pki/validate.ts";
import { makeTestPki } from "./helpers/pki.ts";

async function openssl(cwd: string, ...args: string[]): Promise<{ ok: boolean; out: string }> {
  const o = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { ok: o.success, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

async function certOf(path: string): Promise<x509.X509Certificate> {
  const [der] = decodePemCertificates(await Deno.readTextFile(path));
  assert.ok(der);
  return new x509.X509Certificate(der as Uint8Array<ArrayBuffer>);
}

async function inputError(p: Promise<unknown>, pattern: RegExp) {
  await assert.rejects(p, (e) => e instanceof PkiInputError && pattern.test(e.message));
}

async function mode(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}

async function chainOf(path: string) {
  return decodePemCertificates(await Deno.readTextFile(path));
}

for (const caAlg of ["rsa", "ecdsa"] as const) {
  Deno.test(`pki_files: init (${caAlg} CA), user, server and revoke pass openssl and the validator`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const d = `${dir}/certs`;
      const paths = await initPki({
        dir: d,
        caAlg,
        hosts: ["chat.example.org", "10.1.2.3", "fe80::1"],
      });
      assert.deepEqual(paths, {
        caCert: `${d}/ca.pem`,
        caKey: `${d}/ca.key`,
        serverCert: `${d}/server.pem`,
        serverKey: `${d}/server.key`,
      });
      assert.equal(await mode(paths.caKey), 0o600);
      assert.equal(await mode(paths.serverKey), 0o600);
      assert.equal(await mode(paths.caCert), 0o644);
      for (const key of [paths.caKey, paths.serverKey]) {
        assert.match(await Deno.readTextFile(key), /^-----BEGIN PRIVATE KEY-----\n/);
      }
      const user = await issueUser({ dir: d, userId: "alice" });
      assert.deepEqual(user, { cert: `${d}/alice.pem`, key: `${d}/alice.key` });
      assert.equal(await mode(user.key), 0o600);
      const extra = await issueServer({
        dir: d,
        name: "extra.pem",
        hosts: ["*.example.net", "192.0.2.7"],
      });
      assert.deepEqual(extra, { cert: `${d}/extra.pem`, key: `${d}/extra.key` });

      // Profiles.
      const ca = await certOf(paths.caCert);
      assert.equal(ca.subject, "CN=NetSec-MSG Dev CA");
      assert.equal(ca.publicKey.algorithm.name, caAlg === "rsa" ? "RSASSA-PKCS1-v1_5" : "ECDSA");
      const bc = ca.getExtension(x509.BasicConstraintsExtension);
      assert.equal(bc?.ca, true);
      assert.equal(bc?.critical, true);
      const server = await certOf(paths.serverCert);
      const san = server.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON();
      assert.deepEqual(san.map((n) => `${n.type}:${n.value}`).sort(), [
        "dns:chat.example.org",
        "dns:localhost",
        "ip:10.1.2.3",
        "ip:127.0.0.1",
        "ip:::1",
        "ip:fe80::1",
      ]);
      assert.deepEqual([...server.getExtension(x509.ExtendedKeyUsageExtension)!.usages], [
        "1.3.6.1.5.5.7.3.1",
      ]);
      const ku = server.getExtension(x509.KeyUsagesExtension)!;
      assert.equal(
        ku.usages,
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      );
      const alice = await certOf(user.cert);
      assert.equal(alice.subject, "CN=alice");
      assert.deepEqual([...alice.getExtension(x509.ExtendedKeyUsageExtension)!.usages], [
        "1.3.6.1.5.5.7.3.2",
      ]);
      assert.equal(alice.publicKey.algorithm.name, "RSASSA-PKCS1-v1_5");
      const extraCert = await certOf(extra.cert);
      const extraSan = extraCert.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON();
      assert.deepEqual(extraSan.map((n) => n.value), ["*.example.net", "192.0.2.7"]);

      // openssl agrees.
      const srvCheck = await openssl(
        d,
        "verify",
        "-CAfile",
        "ca.pem",
        "-purpose",
        "sslserver",
        "server.pem",
        "extra.pem",
      );
      assert.ok(srvCheck.ok, srvCheck.out);
      const cliCheck = await openssl(
        d,
        "verify",
        "-CAfile",
        "ca.pem",
        "-purpose",
        "sslclient",
        "alice.pem",
      );
      assert.ok(cliCheck.ok, cliCheck.out);
      const wrong = await openssl(
        d,
        "verify",
        "-CAfile",
        "ca.pem",
        "-purpose",
        "sslserver",
        "alice.pem",
      );
      assert.equal(wrong.ok, false);

      // So does the validator, and the keys load as credentials.
      const trust = await loadTrustStore(paths.caCert);
      for (
        const host of ["localhost", "127.0.0.1", "::1", "chat.example.org", "10.1.2.3", "FE80::1"]
      ) {
        await validateChain(await chainOf(paths.serverCert), trust, { purpose: "server", host });
      }
      await validateChain(await chainOf(extra.cert), trust, {
        purpose: "server",
        host: "x.example.net",
      });
      assert.equal(
        (await validateChain(await chainOf(user.cert), trust, { purpose: "client" })).identity,
        "alice",
      );
      await loadCredentials(paths.serverCert, paths.serverKey);
      await loadCredentials(user.cert, user.key);

      // Revocation: a real CRL openssl reads, entries accumulate, repeat is idempotent.
      const r1 = await revokeCertificate({ dir: d, certPath: user.cert });
      assert.equal(r1.crl, `${d}/ca.crl`);
      assert.equal(r1.alreadyRevoked, false);
      assert.equal(r1.entries, 1);
      assert.equal(r1.serialHex, alice.serialNumber.toLowerCase().replace(/^(00)+/, ""));
      const r2 = await revokeCertificate({ dir: d, certPath: extra.cert });
      assert.equal(r2.entries, 2);
      const r3 = await revokeCertificate({ dir: d, certPath: user.cert });
      assert.equal(r3.alreadyRevoked, true);
      assert.equal(r3.entries, 2);
      const crlText = await openssl(d, "crl", "-in", "ca.crl", "-noout", "-text");
      assert.ok(crlText.ok, crlText.out);
      assert.match(crlText.out, new RegExp(alice.serialNumber.replace(/^(00)+/, ""), "i"));
      const crlVerify = await openssl(d, "crl", "-in", "ca.crl", "-CAfile", "ca.pem", "-noout");
      assert.ok(crlVerify.ok && /verify OK/.test(crlVerify.out), crlVerify.out);
      const revoked = await openssl(
        d,
        "verify",
        "-crl_check",
        "-CRLfile",
        "ca.crl",
        "-CAfile",
        "ca.pem",
        "alice.pem",
      );
      assert.equal(revoked.ok, false);
      assert.match(revoked.out, /revoked/);
      const withCrl = await loadTrustStore(paths.caCert, `${d}/ca.crl`);
      await assert.rejects(
        validateChain(await chainOf(user.cert), withCrl, { purpose: "client" }),
        (e) => e instanceof PkiError && e.code === "CERT_REVOKED",
      );
      await validateChain(await chainOf(paths.serverCert), withCrl, {
        purpose: "server",
        host: "localhost",
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("pki_files: existing files are never overwritten without force", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pki = await makeTestPki(dir, { users: ["alice"] });
    const before = await Deno.readTextFile(pki.caCertPath);
    await inputError(initPki({ dir }), /ca\.pem already exists .*--force/);
    assert.equal(await Deno.readTextFile(pki.caCertPath), before);
    await inputError(issueUser({ dir, userId: "alice" }), /alice\.pem already exists/);
    await inputError(
      issueServer({ dir, name: "server", hosts: ["x.example"] }),
      /server\.pem already exists/,
    );
    // A single existing target is enough to refuse, and nothing is written.
    await Deno.remove(pki.keyPath("alice"));
    await inputError(issueUser({ dir, userId: "alice" }), /alice\.pem already exists/);
    await assert.rejects(Deno.stat(pki.keyPath("alice")), Deno.errors.NotFound);
    const user = await issueUser({ dir, userId: "alice", force: true });
    assert.notEqual(await Deno.readTextFile(user.cert), pki.users.alice!.pem);
    // A key written over an existing one with force is still mode 0600.
    await Deno.chmod(user.key, 0o644);
    await issueUser({ dir, userId: "alice", force: true });
    assert.equal(await mode(user.key), 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pki_files: invalid input is refused with one clear message", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await makeTestPki(dir);
    for (const userId of ["", "bad_id", "al ice", "a".repeat(112), "../x", "élodie"]) {
      await inputError(issueUser({ dir, userId }), /invalid USERID/);
    }
    await inputError(initPki({ dir: `${dir}/x`, bits: 1024 }), /invalid key size 1024/);
    await inputError(initPki({ dir: `${dir}/x`, days: 0 }), /invalid number of days/);
    await inputError(initPki({ dir: `${dir}/x`, caAlg: "dsa" as "rsa" }), /invalid CA algorithm/);
    await inputError(initPki({ dir: `${dir}/x`, hosts: ["bad host"] }), /invalid host name/);
    await inputError(issueServer({ dir, name: "x", hosts: [] }), /at least one --host/);
    await inputError(issueServer({ dir, name: "../x", hosts: ["a.example"] }), /invalid --name/);
    await inputError(issueServer({ dir, name: "x", hosts: ["a..example"] }), /invalid host name/);
    await inputError(issueUser({ dir: `${dir}/nowhere`, userId: "bob" }), /cannot read .*ca\.pem/);
    // A CA key that does not belong to the CA certificate.
    const other = await Deno.makeTempDir({ dir });
    await makeTestPki(other, { caAlg: "ecdsa" });
    await Deno.copyFile(`${other}/ca.key`, `${dir}/ca.key`);
    await inputError(issueUser({ dir, userId: "bob" }), /ca\.key/);
    // Revoking a certificate of another CA, or a file without one.
    await inputError(
      revokeCertificate({ dir: other, certPath: `${dir}/server.pem` }),
      /not issued by/,
    );
    await Deno.writeTextFile(`${dir}/empty.pem`, "nothing");
    await inputError(
      revokeCertificate({ dir: other, certPath: `${dir}/empty.pem` }),
      /no certificate/,
    );
    await inputError(
      revokeCertificate({ dir: other, certPath: `${dir}/missing.pem` }),
      /cannot read/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
