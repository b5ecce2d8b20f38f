// Tests of lib/pki/names.ts (ASL spec sections 4 and 5): the server-name matching table
// (wildcards, IPv4, IPv6 incl. compressed forms, case) and the USERID grammar.

import assert from "node:assert/strict";
import { dnsNameMatches, hostMatches, isUserId, parseIpAddress } from "../lib/pki/names.ts";

const ip = (text: string) => {
  const bytes = parseIpAddress(text);
  assert.ok(bytes, `${text} should parse`);
  return bytes;
};

Deno.test("names: IPv4 and IPv6 literals parse to bytes", () => {
  assert.deepEqual(ip("127.0.0.1"), new Uint8Array([127, 0, 0, 1]));
  assert.deepEqual(ip("0.0.0.0"), new Uint8Array(4));
  assert.deepEqual(ip("255.255.255.255"), new Uint8Array([255, 255, 255, 255]));
  const loop = new Uint8Array(16);
  loop[15] = 1;
  for (
    const form of [
      "::1",
      "0:0:0:0:0:0:0:1",
      "0000:0000:0000:0000:0000:0000:0000:0001",
      "[::1]",
      "0::1",
      "::0:1",
    ]
  ) {
    assert.deepEqual(ip(form), loop, form);
  }
  assert.deepEqual(ip("::"), new Uint8Array(16));
  const doc = ip("2001:db8::8:800:200c:417a");
  assert.deepEqual(doc, ip("2001:DB8:0:0:8:800:200C:417A"));
  assert.equal(doc[0], 0x20);
  assert.equal(doc[15], 0x7a);
  assert.deepEqual(ip("::ffff:192.0.2.1").subarray(12), new Uint8Array([192, 0, 2, 1]));
  assert.deepEqual(ip("fe80::"), ip("fe80:0:0:0:0:0:0:0"));
  assert.deepEqual(ip("1::"), ip("1:0:0:0:0:0:0:0"));
  assert.deepEqual(ip("1:2:3:4:5:6:7::"), ip("1:2:3:4:5:6:7:0"));
});

Deno.test("names: malformed IP literals do not parse", () => {
  for (
    const text of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",
      "1.2.3.-4",
      "1.2.3.4 ",
      " 1.2.3.4",
      "1.2.3.0x4",
      ":::",
      "1:::2",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8::",
      "12345::",
      "g::1",
      "fe80::1%eth0",
      "[::1",
      "::1]",
      "[127.0.0.1]",
      "::ffff:1.2.3",
      "1.2.3.4::",
      "localhost",
    ]
  ) {
    assert.equal(parseIpAddress(text), undefined, JSON.stringify(text));
  }
});

Deno.test("names: dNSName matching table", () => {
  const table: [pattern: string, host: string, expected: boolean][] = [
    ["localhost", "localhost", true],
    ["localhost", "LOCALHOST", true],
    ["LocalHost", "localhost", true],
    ["example.com", "example.com.", true],
    ["example.com", "www.example.com", false],
    ["www.example.com", "example.com", false],
    ["*.example.com", "www.example.com", true],
    ["*.example.com", "WWW.Example.COM", true],
    ["*.EXAMPLE.com", "a-b.example.com", true],
    ["*.example.com", "example.com", false],
    ["*.example.com", ".example.com", false],
    ["*.example.com", "a.b.example.com", false],
    ["*.example.com", "www.example.org", false],
    ["*.com", "example.com", false],
    ["*", "localhost", false],
    ["*.*.example.com", "a.b.example.com", false],
    ["w*.example.com", "www.example.com", false],
    ["*w.example.com", "www.example.com", false],
    ["www.*.com", "www.example.com", false],
    ["*.example.com", "*.example.com", false],
    ["www.example.com", "*.example.com", false],
    ["example..com", "example..com", false],
    ["", "", false],
    ["exämple.com", "exämple.com", false],
    ["\u212Aelvin.example", "kelvin.example", false],
  ];
  for (const [pattern, host, expected] of table) {
    assert.equal(dnsNameMatches(pattern, host), expected, `${pattern} vs ${host}`);
  }
});

Deno.test("names: hostMatches keeps IP hosts to iPAddress SANs and DNS hosts to dNSName SANs", () => {
  const sansDns = ["localhost", "*.chat.example", "10.0.0.1"];
  const sansIp = [ip("127.0.0.1"), ip("::1"), ip("2001:db8::1")];
  const table: [host: string, expected: boolean][] = [
    ["localhost", true],
    ["LocalHost", true],
    ["a.chat.example", true],
    ["chat.example", false],
    ["127.0.0.1", true],
    ["127.0.0.2", false],
    ["::1", true],
    ["[::1]", true],
    ["0:0::1", true],
    ["0000:0000:0000:0000:0000:0000:0000:0001", true],
    ["2001:DB8:0:0:0:0:0:1", true],
    ["2001:db8::2", false],
    ["::ffff:127.0.0.1", false], // an IPv4-mapped IPv6 address is not the IPv4 SAN
    ["10.0.0.1", false], // an IP host never matches a dNSName, even one spelling the IP
    ["010.0.0.1", false], // not a valid IP literal, and never tried as a DNS name
    ["[localhost]", false],
    ["", false],
  ];
  for (const [host, expected] of table) {
    assert.equal(hostMatches(host, sansDns, sansIp), expected, host);
  }
  assert.equal(hostMatches("127.0.0.1", ["127.0.0.1"], []), false);
  assert.equal(hostMatches("localhost", [], [ip("127.0.0.1")]), false);
});

Deno.test("names: USERID is 1 to 111 ASCII letters or digits", () => {
  for (const ok of ["a", "alice", "Alice42", "0", "Z".repeat(111)]) {
    assert.equal(isUserId(ok), true, ok);
  }
  for (
    const bad of [
      "",
      "Z".repeat(112),
      "al ice",
      "bob_1",
      "bob-1",
      "élodie",
      "a.b",
      "alice\n",
      " alice",
      "{a}",
    ]
  ) {
    assert.equal(isUserId(bad), false, JSON.stringify(bad));
  }
});
