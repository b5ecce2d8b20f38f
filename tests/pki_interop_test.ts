// Interoperability of lib/pki/validate.ts (ASL spec section 4) with certificates made by
// the openssl CLI at test time: an RSA CA and an ECDSA CA, each with an intermediate, RSA
// leaves, PKCS#1 v1.5 and PSS signatures, and an openssl-made CRL.

import assert from "node:assert/strict";
import { validateChain } from "../lib/pki/validate.ts";
import { PkiError } from "../lib/pki/errors.ts";
import { loadCredentials, loadTrustStore } from "../lib/pki/credentials.ts";
import { decodePemCertificates } from "../lib/pki/pem.ts";

const CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,DNS:*.chat.example,IP:127.0.0.1,IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_client]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca]
default_ca = testca
[testca]
database = index.txt
default_md = sha256
default_crl_days = 1
`;

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Makes NAME.pem/NAME.key: a self-signed root with `newkey` (e.g. rsa:2048, ec). */
async function root(dir: string, name: string, newkey: string[], md: string) {
  await openssl(
    dir,
    "req",
    "-x509",
    "-new",
    "-newkey",
    ...newkey,
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-subj",
    `/CN=${name}`,
    "-days",
    "2",
    "-config",
    "openssl.cnf",
    "-extensions",
    "v3_ca",
    `-${md}`,
  );
}

/** Makes NAME.pem/NAME.key issued by ISSUER with extension section `ext`. */
async function issue(
  dir: string,
  name: string,
  issuer: string,
  newkey: string[],
  ext: string,
  signOpts: string[],
) {
  await openssl(
    dir,
    "req",
    "-new",
    "-newkey",
    ...newkey,
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${name}`,
    "-config",
    "openssl.cnf",
  );
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${issuer}.pem`,
    "-CAkey",
    `${issuer}.key`,
    "-set_serial",
    `0x${crypto.getRandomValues(new Uint8Array(8)).toHex()}`,
    "-out",
    `${name}.pem`,
    "-days",
    "1",
    "-extfile",
    "openssl.cnf",
    "-extensions",
    ext,
    ...signOpts,
  );
}

const RSA = ["rsa:2048"];
const EC256 = ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
const EC384 = ["ec", "-pkeyopt", "ec_paramgen_curve:P-384"];

async function chain(dir: string, ...names: string[]): Promise<Uint8Array[]> {
  const ders: Uint8Array[] = [];
  for (const n of names) {
    ders.push(...decodePemCertificates(await Deno.readTextFile(`${dir}/${n}.pem`)));
  }
  return ders;
}

Deno.test("interop: openssl RSA CA → RSA intermediate (PSS) → RSA leaves", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/openssl.cnf`, CONFIG);
    await root(dir, "rsaroot", RSA, "sha256");
    await issue(dir, "rsainter", "rsaroot", RSA, "v3_inter", ["-sha384"]);
    const pss = ["-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"];
    await issue(dir, "alice", "rsainter", RSA, "v3_client", pss);
    await issue(dir, "server", "rsainter", RSA, "v3_server", ["-sha512"]);
    const trust = await loadTrustStore(`${dir}/rsaroot.pem`);
    const client = await validateChain(await chain(dir, "alice", "rsainter"), trust, {
      purpose: "client",
    });
    assert.equal(client.identity, "alice");
    const srv = await chain(dir, "server", "rsainter");
    for (const host of ["localhost", "127.0.0.1", "::1", "a.chat.example"]) {
      assert.equal((await validateChain(srv, trust, { purpose: "server", host })).identity, host);
    }
    await assert.rejects(
      validateChain(srv, trust, { purpose: "server", host: "chat.example" }),
      (e) => e instanceof PkiError && e.code === "BAD_IDENTITY",
    );
    // The root sent along (byte-identical to the trusted one) is accepted.
    await validateChain(await chain(dir, "alice", "rsainter", "rsaroot"), trust, {
      purpose: "client",
    });
    // openssl keys load as ASL credentials (PKCS#8 from openssl req -nodes).
    const creds = await loadCredentials(`${dir}/alice.pem`, `${dir}/alice.key`);
    assert.equal(creds.chain.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("interop: openssl ECDSA CAs (P-256 root, P-384 intermediate) → RSA leaves", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/openssl.cnf`, CONFIG);
    await root(dir, "ecroot", EC256, "sha256");
    await issue(dir, "ecinter", "ecroot", EC384, "v3_inter", ["-sha256"]);
    await issue(dir, "bob", "ecinter", RSA, "v3_client", ["-sha384"]);
    await issue(dir, "server", "ecinter", RSA, "v3_server", ["-sha512"]);
    const trust = await loadTrustStore(`${dir}/ecroot.pem`);
    assert.equal(
      (await validateChain(await chain(dir, "bob", "ecinter"), trust, { purpose: "client" }))
        .identity,
      "bob",
    );
    const srv = await chain(dir, "server", "ecinter");
    assert.equal(
      (await validateChain(srv, trust, { purpose: "server", host: "::1" })).identity,
      "::1",
    );
    // The intermediate's pathlen:0 forbids another CA below it.
    await issue(dir, "sub", "ecinter", EC256, "v3_ca", ["-sha256"]);
    await issue(dir, "carol", "sub", RSA, "v3_client", ["-sha256"]);
    await assert.rejects(
      validateChain(await chain(dir, "carol", "sub", "ecinter"), trust, { purpose: "client" }),
      (e) => e instanceof PkiError && e.code === "BAD_CERTIFICATE",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("interop: an openssl-made CRL revokes; a SHA-1 openssl leaf is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/openssl.cnf`, CONFIG);
    await Deno.writeTextFile(`${dir}/index.txt`, "");
    await root(dir, "root", EC384, "sha384");
    await issue(dir, "dave", "root", RSA, "v3_client", ["-sha256"]);
    await issue(dir, "erin", "root", RSA, "v3_client", ["-sha1"]);
    const trust0 = await loadTrustStore(`${dir}/root.pem`);
    assert.equal(
      (await validateChain(await chain(dir, "dave"), trust0, { purpose: "client" })).identity,
      "dave",
    );
    await assert.rejects(
      validateChain(await chain(dir, "erin"), trust0, { purpose: "client" }),
      (e) => e instanceof PkiError && e.code === "BAD_CERTIFICATE" && /SHA-1/.test(e.message),
    );
    await openssl(
      dir,
      "ca",
      "-config",
      "openssl.cnf",
      "-revoke",
      "dave.pem",
      "-keyfile",
      "root.key",
      "-cert",
      "root.pem",
    );
    await openssl(
      dir,
      "ca",
      "-config",
      "openssl.cnf",
      "-gencrl",
      "-keyfile",
      "root.key",
      "-cert",
      "root.pem",
      "-out",
      "root.crl",
    );
    const trust = await loadTrustStore(`${dir}/root.pem`, `${dir}/root.crl`);
    await assert.rejects(
      validateChain(await chain(dir, "dave"), trust, { purpose: "client" }),
      (e) => e instanceof PkiError && e.code === "CERT_REVOKED",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
