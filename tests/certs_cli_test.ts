// Tests of cli/certs/main.ts, the `deno task certs` CLI (issue #2): every command in a temp
// dir through main(), every error path (exit 2, one line), verify's codes (exit 1), and a
// few real subprocess runs to check exit codes and output streams.

import assert from "node:assert/strict";
import { main } from "../cli/certs/main.ts";
import { makeCrl, makeTestPki } from "./helpers/pki.ts";
import { encodePem } from "../lib/pki/pem.ts";

interface Run {
  code: number;
  out: string[];
  err: string[];
}

async function certs(...args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  return { code, out, err };
}

/** Asserts exit 2 with exactly one stderr line matching `pattern` and nothing on stdout. */
async function usageError(pattern: RegExp, ...args: string[]) {
  const r = await certs(...args);
  assert.equal(r.code, 2, `${args.join(" ")}: ${JSON.stringify(r)}`);
  assert.equal(r.err.length, 1, JSON.stringify(r.err));
  assert.ok(!r.err[0]!.includes("\n"));
  assert.match(r.err[0]!, pattern);
  assert.deepEqual(r.out, []);
}

/** Asserts exit 1 with `<CODE>: …` on stdout. */
async function verifyFails(code: string, ...args: string[]) {
  const r = await certs("verify", ...args);
  assert.equal(r.code, 1, JSON.stringify(r));
  assert.equal(r.out.length, 1);
  assert.match(r.out[0]!, new RegExp(`^${code}: \\S.*$`));
  assert.deepEqual(r.err, []);
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("certs: init, user, server, show, revoke, verify in a temp dir", async () => {
  await withDir(async (dir) => {
    const d = `${dir}/pki`;
    const init = await certs(
      "init",
      "--dir",
      d,
      "--host",
      "chat.example.org",
      "--host",
      "192.0.2.1",
      "--ca-alg",
      "ecdsa",
      "--days",
      "30",
    );
    assert.equal(init.code, 0, JSON.stringify(init));
    assert.deepEqual(init.out, [
      `wrote ${d}/ca.pem`,
      `wrote ${d}/ca.key`,
      `wrote ${d}/server.pem`,
      `wrote ${d}/server.key`,
    ]);
    assert.equal((await Deno.stat(`${d}/ca.key`)).mode! & 0o777, 0o600);
    const user = await certs("user", "alice", "--dir", d);
    assert.equal(user.code, 0);
    assert.deepEqual(user.out, [`wrote ${d}/alice.pem`, `wrote ${d}/alice.key`]);
    assert.equal((await Deno.stat(`${d}/alice.key`)).mode! & 0o777, 0o600);
    const server = await certs(
      "server",
      "--name",
      "chat",
      "--host",
      "chat.example.org",
      "--dir",
      d,
    );
    assert.equal(server.code, 0);
    assert.deepEqual(server.out, [`wrote ${d}/chat.pem`, `wrote ${d}/chat.key`]);

    const show = await certs("show", `${d}/server.pem`);
    assert.equal(show.code, 0);
    const text = show.out.join("\n");
    for (
      const re of [
        /^subject: +CN=localhost$/m,
        /^issuer: +CN=NetSec-MSG Dev CA$/m,
        /^serial: +[0-9a-f]+$/m,
        /^not before: +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m,
        /^not after: +\d{4}-/m,
        /^subjectAltName: +DNS:localhost, DNS:chat\.example\.org, IP:127\.0\.0\.1, IP:::1, IP:192\.0\.2\.1$/m,
        /^keyUsage: +digitalSignature, keyEncipherment \(critical\)$/m,
        /^extendedKeyUsage: +serverAuth$/m,
        /^key: +RSA 2048 bits, exponent 65537$/m,
        /^signature: +ecdsa-with-SHA256$/m,
        /^SHA-256: +([0-9a-f]{2}:){31}[0-9a-f]{2}$/m,
      ]
    ) assert.match(text, re);
    const showCa = await certs("show", `${d}/ca.pem`);
    assert.match(showCa.out.join("\n"), /^key: +EC P-256$/m);
    assert.match(showCa.out.join("\n"), /^basicConstraints: +CA:TRUE \(critical\)$/m);
    // A file with two certificates is shown as two.
    await Deno.writeTextFile(
      `${d}/two.pem`,
      (await Deno.readTextFile(`${d}/alice.pem`)) + (await Deno.readTextFile(`${d}/ca.pem`)),
    );
    const two = await certs("show", `${d}/two.pem`);
    assert.equal(two.out.filter((l) => /^certificate \d of 2$/.test(l)).length, 2);

    const ok = await certs(
      "verify",
      `${d}/server.pem`,
      "--ca",
      `${d}/ca.pem`,
      "--host",
      "chat.example.org",
    );
    assert.deepEqual(ok, { code: 0, out: ["OK chat.example.org"], err: [] });
    const okIp = await certs(
      "verify",
      `${d}/server.pem`,
      "--ca",
      `${d}/ca.pem`,
      "--purpose",
      "server",
      "--host",
      "::1",
    );
    assert.deepEqual(okIp.out, ["OK ::1"]);
    const okClient = await certs(
      "verify",
      `${d}/alice.pem`,
      "--ca",
      `${d}/ca.pem`,
      "--purpose",
      "client",
    );
    assert.deepEqual(okClient, { code: 0, out: ["OK alice"], err: [] });
    await verifyFails(
      "BAD_IDENTITY",
      `${d}/server.pem`,
      "--ca",
      `${d}/ca.pem`,
      "--host",
      "example.com",
    );
    await verifyFails("BAD_CERTIFICATE", `${d}/alice.pem`, "--ca", `${d}/ca.pem`);
    await verifyFails(
      "CERT_EXPIRED",
      `${d}/alice.pem`,
      "--ca",
      `${d}/ca.pem`,
      "--purpose",
      "client",
      "--at",
      "2099-01-01",
    );
    await verifyFails(
      "CERT_EXPIRED",
      `${d}/alice.pem`,
      "--ca",
      `${d}/ca.pem`,
      "--purpose",
      "client",
      "--at",
      "2000-01-01T00:00:00Z",
    );

    const revoke = await certs("revoke", `${d}/alice.pem`, "--dir", d);
    assert.equal(revoke.code, 0);
    assert.match(
      revoke.out[0]!,
      new RegExp(`^revoked serial [0-9a-f]+; wrote ${d}/ca.crl \\(1 entry\\)$`),
    );
    const again = await certs("revoke", `${d}/alice.pem`, "--dir", d);
    assert.match(again.out[0]!, /^already revoked serial/);
    await verifyFails(
      "CERT_REVOKED",
      `${d}/alice.pem`,
      "--ca",
      `${d}/ca.pem`,
      "--purpose",
      "client",
      "--crl",
      `${d}/ca.crl`,
    );
    const notRevoked = await certs(
      "verify",
      `${d}/server.pem`,
      "--ca",
      `${d}/ca.pem`,
      "--crl",
      `${d}/ca.crl`,
    );
    assert.deepEqual(notRevoked.out, ["OK localhost"]);
  });
});

Deno.test("certs: verify reports UNKNOWN_CA and a bad PEM chain as BAD_CERTIFICATE", async () => {
  await withDir(async (dir) => {
    const a = await makeTestPki(`${dir}/a`, { users: ["alice"] });
    const b = await makeTestPki(`${dir}/b`, { caAlg: "ecdsa" });
    await verifyFails(
      "UNKNOWN_CA",
      a.certPath("alice"),
      "--ca",
      b.caCertPath,
      "--purpose",
      "client",
    );
    await Deno.writeTextFile(
      `${dir}/bad.pem`,
      "-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n",
    );
    await verifyFails("BAD_CERTIFICATE", `${dir}/bad.pem`, "--ca", a.caCertPath);
    await Deno.writeTextFile(
      `${dir}/notder.pem`,
      encodePem("CERTIFICATE", new Uint8Array([0x30, 0x00])),
    );
    await verifyFails("BAD_CERTIFICATE", `${dir}/notder.pem`, "--ca", a.caCertPath);
    // A CRL in DER form works too.
    await Deno.writeFile(`${dir}/a.crl`, await makeCrl(a.ca, [a.users.alice!.cert.serialNumber]));
    await verifyFails(
      "CERT_REVOKED",
      a.certPath("alice"),
      "--ca",
      a.caCertPath,
      "--purpose",
      "client",
      "--crl",
      `${dir}/a.crl`,
    );
  });
});

Deno.test("certs: every error is one line on stderr with exit code 2", async () => {
  await withDir(async (dir) => {
    const pki = await makeTestPki(dir, { users: ["alice"] });
    const ca = pki.caCertPath;
    // General.
    await usageError(/certs: unknown command "frob"/, "frob");
    const none = await certs();
    assert.equal(none.code, 2);
    assert.match(none.err.join("\n"), /^Usage: deno task certs/);
    // init
    await usageError(
      /certs init: .*ca\.pem already exists \(use --force to replace it\)/,
      "init",
      "--dir",
      dir,
    );
    for (const bits of ["1024", "8192", "4097", "big", "04096"]) {
      await usageError(
        new RegExp(`certs init: --bits must be 2048, 3072 or 4096, not "${bits}"`),
        "init",
        "--dir",
        `${dir}/n`,
        "--bits",
        bits,
      );
    }
    await usageError(
      /certs init: --days must be a number/,
      "init",
      "--dir",
      `${dir}/n`,
      "--days",
      "3x",
    );
    await usageError(
      /certs init: invalid number of days 0/,
      "init",
      "--dir",
      `${dir}/n`,
      "--days",
      "0",
    );
    await usageError(
      /certs init: --ca-alg must be rsa or ecdsa/,
      "init",
      "--dir",
      `${dir}/n`,
      "--ca-alg",
      "dsa",
    );
    await usageError(
      /certs init: invalid host name "no spaces"/,
      "init",
      "--dir",
      `${dir}/n`,
      "--host",
      "no spaces",
    );
    await usageError(/certs init: Unknown option '--nope'/, "init", "--nope");
    await usageError(/certs init: Option '--dir <value>' argument missing/, "init", "--dir");
    await usageError(
      /certs init: unexpected argument "extra"/,
      "init",
      "extra",
      "--dir",
      `${dir}/n`,
    );
    // user
    await usageError(
      /certs user: invalid USERID "bad_id" \(1 to 111 ASCII letters or digits\)/,
      "user",
      "bad_id",
      "--dir",
      dir,
    );
    await usageError(/certs user: invalid USERID ""/, "user", "", "--dir", dir);
    await usageError(/certs user: missing USERID/, "user", "--dir", dir);
    await usageError(/certs user: unexpected argument "bob"/, "user", "alice", "bob", "--dir", dir);
    await usageError(/certs user: .*alice\.pem already exists/, "user", "alice", "--dir", dir);
    await usageError(/certs user: cannot read .*ca\.pem/, "user", "bob", "--dir", `${dir}/empty`);
    // server
    await usageError(
      /certs server: --name FILE is required/,
      "server",
      "--host",
      "a.example",
      "--dir",
      dir,
    );
    await usageError(
      /certs server: at least one --host is required/,
      "server",
      "--name",
      "x",
      "--dir",
      dir,
    );
    await usageError(
      /certs server: invalid --name/,
      "server",
      "--name",
      "a/b",
      "--host",
      "a.example",
      "--dir",
      dir,
    );
    await usageError(
      /certs server: .*server\.pem already exists/,
      "server",
      "--name",
      "server",
      "--host",
      "a.example",
      "--dir",
      dir,
    );
    // revoke
    await usageError(/certs revoke: missing CERT\.pem/, "revoke", "--dir", dir);
    await usageError(
      /certs revoke: cannot read .*nope\.pem/,
      "revoke",
      `${dir}/nope.pem`,
      "--dir",
      dir,
    );
    await usageError(
      /certs revoke: cannot read .*ca\.pem/,
      "revoke",
      pki.certPath("alice"),
      "--dir",
      `${dir}/empty`,
    );
    // show
    await usageError(/certs show: missing FILE\.pem/, "show");
    await usageError(/certs show: cannot read .*nope\.pem/, "show", `${dir}/nope.pem`);
    await usageError(/certs show: cannot read /, "show", dir); // a directory: unreadable as a file
    await Deno.writeTextFile(`${dir}/text.pem`, "hello");
    await usageError(/certs show: .*text\.pem holds no certificate/, "show", `${dir}/text.pem`);
    await Deno.writeTextFile(`${dir}/bad.pem`, "-----BEGIN CERTIFICATE-----\nAQID\n");
    await usageError(/certs show: .*bad\.pem: .*no END line/, "show", `${dir}/bad.pem`);
    await Deno.writeTextFile(
      `${dir}/notder.pem`,
      encodePem("CERTIFICATE", new Uint8Array([0x30, 0x00])),
    );
    await usageError(
      /certs show: .*certificate 1: the certificate is truncated/,
      "show",
      `${dir}/notder.pem`,
    );
    // verify
    const alice = pki.certPath("alice");
    await usageError(/certs verify: missing CHAIN\.pem/, "verify", "--ca", ca);
    await usageError(/certs verify: --ca CA\.pem is required/, "verify", alice);
    await usageError(
      /certs verify: --purpose must be server or client/,
      "verify",
      alice,
      "--ca",
      ca,
      "--purpose",
      "peer",
    );
    await usageError(
      /certs verify: give --host at most once/,
      "verify",
      alice,
      "--ca",
      ca,
      "--host",
      "a",
      "--host",
      "b",
    );
    await usageError(
      /certs verify: --host applies to --purpose server only/,
      "verify",
      alice,
      "--ca",
      ca,
      "--purpose",
      "client",
      "--host",
      "a",
    );
    for (const at of ["tomorrow", "2030-13-01", "2030-01-01T10:00", "1700000000"]) {
      await usageError(
        /certs verify: --at .* is not an ISO-8601 time/,
        "verify",
        alice,
        "--ca",
        ca,
        "--at",
        at,
      );
    }
    await usageError(
      /certs verify: cannot read CA file .*nope\.pem/,
      "verify",
      alice,
      "--ca",
      `${dir}/nope.pem`,
    );
    await usageError(
      /certs verify: cannot read CRL file .*nope\.crl/,
      "verify",
      alice,
      "--ca",
      ca,
      "--crl",
      `${dir}/nope.crl`,
    );
    await usageError(
      /certs verify: cannot read .*nope\.pem/,
      "verify",
      `${dir}/nope.pem`,
      "--ca",
      ca,
    );
    await usageError(
      /certs verify: .*text\.pem holds no certificate/,
      "verify",
      `${dir}/text.pem`,
      "--ca",
      ca,
    );
    await usageError(
      /certs verify: .*the CA file holds no certificate/,
      "verify",
      alice,
      "--ca",
      `${dir}/text.pem`,
    );
    await usageError(
      /certs verify: .*the CRL file holds no X509 CRL block/,
      "verify",
      alice,
      "--ca",
      ca,
      "--crl",
      `${dir}/text.pem`,
    );
    await usageError(
      /certs verify: Unknown option '--purpse'/,
      "verify",
      alice,
      "--ca",
      ca,
      "--purpse",
      "client",
    );
  });
});

Deno.test("certs: --help for the tool and every command", async () => {
  const top = await certs("--help");
  assert.equal(top.code, 0);
  assert.match(top.out.join("\n"), /^Usage: deno task certs <command>/);
  for (const command of ["init", "user", "server", "revoke", "show", "verify"]) {
    for (const flag of ["--help", "-h"]) {
      const r = await certs(command, flag);
      assert.equal(r.code, 0, command);
      assert.match(r.out.join("\n"), new RegExp(`^Usage: deno task certs ${command}`));
      assert.deepEqual(r.err, []);
    }
  }
});

Deno.test("certs: as a subprocess — exit codes 0, 1 and 2 and their streams", async () => {
  await withDir(async (dir) => {
    const pki = await makeTestPki(dir, { users: ["alice"] });
    const script = new URL("../cli/certs/main.ts", import.meta.url).pathname;
    const run = async (...args: string[]) => {
      const o = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", "--allow-write", script, ...args],
        env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
    };
    assert.deepEqual(
      await run("verify", pki.certPath("alice"), "--ca", pki.caCertPath, "--purpose", "client"),
      {
        code: 0,
        out: "OK alice\n",
        err: "",
      },
    );
    const rejected = await run(
      "verify",
      pki.certPath("alice"),
      "--ca",
      pki.caCertPath,
      "--purpose",
      "server",
    );
    assert.equal(rejected.code, 1);
    assert.match(rejected.out, /^BAD_CERTIFICATE: [^\n]+\n$/);
    const bad = await run("user", "bad_id", "--dir", dir);
    assert.equal(bad.code, 2);
    assert.equal(bad.out, "");
    assert.match(bad.err, /^certs user: invalid USERID "bad_id"[^\n]*\n$/);
    const created = await run("user", "bob", "--dir", dir);
    assert.equal(created.code, 0, created.err);
    assert.equal((await Deno.stat(`${dir}/bob.key`)).mode! & 0o777, 0o600);
  });
});
