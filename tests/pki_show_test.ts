// Tests of cli/certs/show.ts (`certs show`): the described fields and RFC 5952 IPv6 text.

import "reflect-metadata";
import assert from "node:assert/strict";
import * as x509 from "@peculiar/x509";
import { describeCertificate, ipText } from "../cli/certs/show.ts";
import { parseCertificate } from "../lib/pki/certificate.ts";
import { parseIpAddress } from "../lib/pki/names.ts";
import { makeCert, testKeys } from "./helpers/pki.ts";

Deno.test("show: IP addresses in canonical text", () => {
  const table: [string, string][] = [
    ["127.0.0.1", "127.0.0.1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["::", "::"],
    ["2001:db8:0:0:0:0:2:1", "2001:db8::2:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["fe80:0:0:0:0:0:0:0", "fe80::"],
    ["::ffff:192.0.2.1", "::ffff:c000:201"],
  ];
  for (const [input, text] of table) assert.equal(ipText(parseIpAddress(input)!), text, input);
});

Deno.test("show: describes a CA and a leaf", async () => {
  const ca = await makeCert({
    subject: "CN=Show CA",
    keys: await testKeys("P-256", 0),
    profile: "ca",
    pathLen: 1,
  });
  const leaf = await makeCert({
    subject: "CN=srv, O=Example",
    keys: await testKeys("RSA", 1),
    issuer: ca,
    profile: "server",
    hosts: ["a.example", "::1"],
    extensions: [new x509.Extension("1.2.3.4", true, new Uint8Array([5, 0]))],
  });
  const caText = describeCertificate(parseCertificate(ca.der), "aa:bb").join("\n");
  assert.match(caText, /^basicConstraints: +CA:TRUE, pathlen:1 \(critical\)$/m);
  assert.match(caText, /^keyUsage: +keyCertSign, cRLSign \(critical\)$/m);
  assert.match(caText, /^key: +EC P-256$/m);
  assert.match(caText, /^signature: +ecdsa-with-SHA256$/m);
  assert.match(caText, /^subjectAltName: +\(none\)$/m);
  const text = describeCertificate(parseCertificate(leaf.der), "aa:bb").join("\n");
  assert.match(text, /^subject: +CN=srv, O=Example$/m);
  assert.match(text, /^issuer: +CN=Show CA$/m);
  assert.match(text, /^subjectAltName: +DNS:a\.example, IP:::1$/m);
  assert.match(text, /^basicConstraints: +CA:FALSE$/m);
  assert.match(text, /^extendedKeyUsage: +serverAuth$/m);
  assert.match(text, /^key: +RSA 2048 bits, exponent 65537$/m);
  assert.match(text, /^unknown critical: +1\.2\.3\.4$/m);
  assert.match(text, /^SHA-256: +aa:bb$/m);
  assert.match(
    text,
    new RegExp(`^serial: +${leaf.cert.serialNumber.toLowerCase().replace(/^(00)+/, "")}$`, "m"),
  );
});
