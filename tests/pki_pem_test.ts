// Tests of lib/pki/pem.ts (RFC 7468 PEM as ASL spec sections 2 and 4 use it): strict
// decoding, label handling, 64-column encoding and round trips.

import assert from "node:assert/strict";
import {
  decodePemBlocks,
  decodePemCertificates,
  encodePem,
  encodePemCertificate,
} from "../lib/pki/pem.ts";
import { PkiError } from "../lib/pki/errors.ts";

const fixture = new URL("./fixtures/asl-vectors/server.crt", import.meta.url);

function rejects(text: string): PkiError {
  try {
    decodePemBlocks(text);
  } catch (e) {
    assert.ok(e instanceof PkiError);
    assert.equal(e.code, "BAD_CERTIFICATE");
    return e;
  }
  assert.fail(`accepted ${JSON.stringify(text)}`);
}

Deno.test("pem: round trip, 64-character lines, final LF", () => {
  for (const size of [1, 2, 3, 47, 48, 49, 96, 1000]) {
    const der = crypto.getRandomValues(new Uint8Array(size));
    const pem = encodePemCertificate(der);
    assert.ok(pem.startsWith("-----BEGIN CERTIFICATE-----\n"));
    assert.ok(pem.endsWith("-----END CERTIFICATE-----\n"));
    const body = pem.split("\n").slice(1, -2);
    assert.ok(body.every((l, i) => l.length === 64 || (i === body.length - 1 && l.length <= 64)));
    assert.deepEqual(decodePemCertificates(pem), [der]);
  }
  assert.equal(
    encodePem("X509 CRL", new Uint8Array([1, 2, 3])),
    "-----BEGIN X509 CRL-----\nAQID\n-----END X509 CRL-----\n",
  );
});

Deno.test("pem: several blocks in order, other labels skipped, text around ignored, CRLF", async () => {
  const server = await Deno.readTextFile(fixture);
  const [der] = decodePemCertificates(server);
  assert.ok(der);
  const a = encodePemCertificate(new Uint8Array([1]));
  const b = encodePemCertificate(new Uint8Array([2]));
  const key = encodePem("PRIVATE KEY", new Uint8Array([3]));
  const text = `Bag Attributes\n${a}subject=CN = x\n${key}\n${b}trailing words\n`;
  assert.deepEqual(decodePemCertificates(text), [new Uint8Array([1]), new Uint8Array([2])]);
  assert.deepEqual(decodePemBlocks(text).map((b) => b.label), [
    "CERTIFICATE",
    "PRIVATE KEY",
    "CERTIFICATE",
  ]);
  assert.deepEqual(decodePemCertificates(server.replaceAll("\n", "\r\n")), [der]);
  assert.deepEqual(decodePemCertificates("no pem here"), []);
  // Lines shorter than 64 are allowed (1 to 64 characters).
  const short = "-----BEGIN CERTIFICATE-----\nAQ\nID\n-----END CERTIFICATE-----\n";
  assert.deepEqual(decodePemCertificates(short), [new Uint8Array([1, 2, 3])]);
});

Deno.test("pem: malformed blocks are BAD_CERTIFICATE", () => {
  const begin = "-----BEGIN CERTIFICATE-----\n";
  const end = "-----END CERTIFICATE-----\n";
  rejects(`${begin}AQID\n`); // no END
  rejects(`${begin}AQID\n-----END X509 CRL-----\n`); // mismatched END
  rejects(`${begin}${end}`); // empty body
  rejects(`${begin}AQ=D\n${end}`); // padding in the middle
  rejects(`${begin}AQI\n${end}`); // missing padding
  rejects(`${begin}AQJ=\n${end}`); // non-canonical padding bits
  rejects(`${begin}AQ ID\n${end}`); // space
  rejects(`${begin}AQ\tID\n${end}`); // tab
  rejects(`${begin}\n${end}`); // blank line inside
  rejects(`${begin}${"A".repeat(68)}\n${end}`); // line over 64
  rejects(`${begin}AQ-_\n${end}`); // base64url alphabet
  rejects(`-----BEGIN CERTIFICATE----- \nAQID\n${end}`); // trailing space on BEGIN
  rejects(`-----BEGIN certificate-----\nAQID\n-----END certificate-----\n`); // lowercase label
  rejects(`AQID\n${end}`); // END without BEGIN
  rejects(`${begin}AQID\n-----END CERTIFICATE----- \n`); // trailing space on END
});
