// Tests lib/client/cert_lookup.ts: the CERT line, strict parsing of its reply (good,
// malformed, every FAILED reason) and the check of the returned chain (purpose client, the
// client's own CA and CRL, leaf CN = the id asked), each failure with its exact code.

import assert from "node:assert/strict";
import {
  CERT_FAILED_REASONS,
  certLine,
  parseCertReply,
  verifyUserChain,
} from "../lib/client/cert_lookup.ts";
import { ClientError } from "../lib/client/errors.ts";
import { sha256Fingerprint } from "../lib/pki/fingerprint.ts";
import { crlPem, makeCert, makeCrl, makeTestPki, testKeys, type TestPki } from "./helpers/pki.ts";
import { parseTrustStore } from "../lib/pki/credentials.ts";

const b64 = (der: Uint8Array) => der.toBase64();

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ClientError, String(err));
    return err.code;
  }
  assert.fail("expected a ClientError");
}

async function rejectsWith(promise: Promise<unknown>, expected: string): Promise<ClientError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ClientError, String(err));
    assert.equal(err.code, expected, err.message);
    assert.equal(err.remote, false);
    return err;
  }
  assert.fail(`expected ClientError ${expected}`);
}

let pkiPromise: Promise<{ pki: TestPki; other: TestPki; dir: string }> | undefined;
function pkis() {
  pkiPromise ??= (async () => {
    const dir = await Deno.makeTempDir();
    const pki = await makeTestPki(`${dir}/a`, { users: ["alice", "bob"], intermediate: true });
    const other = await makeTestPki(`${dir}/b`, { users: ["bob"] });
    await Deno.remove(dir, { recursive: true });
    return { pki, other, dir };
  })();
  return pkiPromise;
}

Deno.test("certLine: CERT <USERID>, a bad id refused before sending", () => {
  assert.equal(certLine("bob"), "CERT bob");
  assert.equal(code(() => certLine("b_b")), "BAD_RECIPIENT");
  assert.equal(code(() => certLine("")), "BAD_RECIPIENT");
});

Deno.test("parseCertReply: OK with one to five certificates, leaf first", () => {
  const a = new Uint8Array([0x30, 1, 2]);
  const b = new Uint8Array([0x30, 3, 4, 5]);
  assert.deepEqual(parseCertReply(`OK bob ${b64(a)}`, "bob"), {
    kind: "ok",
    user: "bob",
    chain: [a],
  });
  const five = parseCertReply(`OK bob ${[a, b, a, b, a].map(b64).join(" ")}`, "bob");
  assert.equal(five.kind, "ok");
  if (five.kind === "ok") assert.deepEqual(five.chain, [a, b, a, b, a]);
});

Deno.test("parseCertReply: every FAILED reason of CERT is passed on", () => {
  for (const reason of CERT_FAILED_REASONS) {
    assert.deepEqual(parseCertReply(`FAILED bob ${reason}`, "bob"), {
      kind: "failed",
      user: "bob",
      reason,
    });
  }
  assert.deepEqual(parseCertReply("FAILED * MALFORMED", "bob"), {
    kind: "failed",
    user: "*",
    reason: "MALFORMED",
  });
});

Deno.test("parseCertReply: a malformed reply is PROTOCOL, never a crash", () => {
  const cert = b64(new Uint8Array([0x30, 1, 2]));
  const bad = [
    "OK bob", // REGISTER's shape: no certificate
    `OK alice ${cert}`, // another id
    `OK * ${cert}`,
    `OK bob ${cert} ${cert} ${cert} ${cert} ${cert} ${cert}`, // six
    "OK bob MDEy=", // bad length
    "OK bob MDE", // unpadded
    "OK bob MDF=", // non-zero padding bits
    "OK bob ====",
    `OK bob  ${cert}`, // double space
    `OK bob ${cert} `, // trailing space
    "FAILED bob",
    "FAILED bob UNKNOWN_USER extra",
    "FAILED bob unknown_user",
    "FAILED * UNKNOWN_USER", // `*` only with MALFORMED
    "FAILED alice UNKNOWN_USER",
    "MESSAGE s1 bob AAAA",
    "",
  ];
  for (const line of bad) {
    assert.equal(code(() => parseCertReply(line, "bob")), "PROTOCOL", JSON.stringify(line));
  }
});

Deno.test("verifyUserChain: a good chain gives the identity and the leaf's fingerprint", async () => {
  const { pki } = await pkis();
  const chain = pki.chain("bob");
  assert.equal(chain.length, 2); // leaf and intermediate
  const found = await verifyUserChain("bob", chain, pki.trust);
  assert.equal(found.user, "bob");
  assert.equal(found.identity, "bob");
  assert.equal(found.subject, "CN=bob");
  assert.deepEqual(found.chain, chain);
  assert.equal(found.fingerprint, await sha256Fingerprint(pki.users.bob!.der));
  assert.match(found.fingerprint, /^([0-9a-f]{2}:){31}[0-9a-f]{2}$/);
});

Deno.test("verifyUserChain: a chain from another CA is UNKNOWN_CA", async () => {
  const { pki, other } = await pkis();
  await rejectsWith(verifyUserChain("bob", other.chain("bob"), pki.trust), "UNKNOWN_CA");
});

Deno.test("verifyUserChain: a valid certificate of someone else is BAD_IDENTITY", async () => {
  const { pki } = await pkis();
  const err = await rejectsWith(
    verifyUserChain("bob", pki.chain("alice"), pki.trust),
    "BAD_IDENTITY",
  );
  assert.match(err.message, /names "alice"/);
});

Deno.test("verifyUserChain: an expired certificate is CERT_EXPIRED", async () => {
  const { pki } = await pkis();
  const day = 86_400_000;
  const expired = await makeCert({
    subject: "CN=bob",
    keys: await testKeys("RSA", 4),
    issuer: pki.intermediate!,
    profile: "client",
    notBefore: new Date(Date.now() - 10 * day),
    notAfter: new Date(Date.now() - day),
  });
  await rejectsWith(
    verifyUserChain("bob", [expired.der, pki.intermediate!.der], pki.trust),
    "CERT_EXPIRED",
  );
});

Deno.test("verifyUserChain: a server certificate (wrong purpose) is BAD_CERTIFICATE", async () => {
  const { pki } = await pkis();
  await rejectsWith(verifyUserChain("bob", pki.chain("server"), pki.trust), "BAD_CERTIFICATE");
});

Deno.test("verifyUserChain: a certificate revoked in the client's CRL is CERT_REVOKED", async () => {
  const { pki } = await pkis();
  const bob = pki.users.bob!;
  const crl = await makeCrl(pki.intermediate!, [bob.cert.serialNumber]);
  const trust = parseTrustStore(
    pki.ca.pem + pki.intermediate!.pem,
    crlPem(crl),
  );
  await rejectsWith(verifyUserChain("bob", pki.chain("bob"), trust), "CERT_REVOKED");
});
