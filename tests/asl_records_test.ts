// Tests of lib/asl/records.ts (spec section 3): the sequence counter and its limit, the GCM
// nonce, seal/open round trips across implementations, and plaintext rules.

import assert from "node:assert/strict";
import { AslError } from "../lib/asl/errors.ts";
import { decodeBase64Strict } from "../lib/base64.ts";
import {
  createRecordCipher,
  decodePlaintext,
  decodeRecordLine,
  encodePlaintext,
  gcmNonce,
  MAX_RECORDS,
  openLine,
  sealLine,
  SequenceCounter,
} from "../lib/asl/records.ts";

const isCode = (code: string) => (e: unknown) => e instanceof AslError && e.code === code;

Deno.test("records: the sequence counter starts at 0 and refuses to pass its limit", () => {
  assert.equal(MAX_RECORDS, 2 ** 23);
  const seq = new SequenceCounter(3);
  assert.deepEqual([seq.take(), seq.take(), seq.take()], [0, 1, 2]);
  assert.equal(seq.exhausted, true);
  assert.throws(() => seq.take(), isCode("CLOSED"));
  const full = new SequenceCounter();
  assert.equal(full.limit, 2 ** 23);
});

Deno.test("records: GCM nonce = iv XOR u64be(seq) in the last 8 bytes", () => {
  const iv = Uint8Array.fromHex("000102030405060708090a0b");
  assert.equal(gcmNonce(iv, 0).toHex(), "000102030405060708090a0b");
  assert.equal(gcmNonce(iv, 1).toHex(), "000102030405060708090a0a");
  assert.equal(gcmNonce(iv, 2 ** 23 - 1).toHex(), "00010203040506070876f5f4");
  // Beyond 32 bits (not reachable under the 2^23 limit, but the encoding is u64be).
  assert.equal(gcmNonce(iv, 2 ** 32 + 5).toHex(), "000102030405060608090a0e");
  assert.equal(gcmNonce(iv, Number.MAX_SAFE_INTEGER).toHex(), "00010203041af9f8f7f6f5f4");
});

for (const suite of ["AES_GCM", "AES_CBC"] as const) {
  Deno.test(`records ${suite}: node and WebCrypto open each other's records`, async () => {
    const keys = suite === "AES_GCM"
      ? {
        suite,
        key: crypto.getRandomValues(new Uint8Array(32)),
        iv: crypto.getRandomValues(new Uint8Array(12)),
      }
      : {
        suite,
        enc: crypto.getRandomValues(new Uint8Array(32)),
        mac: crypto.getRandomValues(new Uint8Array(32)),
      };
    const node = await createRecordCipher(keys, { impl: "node" });
    const web = await createRecordCipher(keys, { impl: "webcrypto" });
    for (const text of ["x", "REGISTER alice", "é✓".repeat(1000), "y".repeat(32_768)]) {
      for (let seq = 0; seq < 3; seq++) {
        assert.equal(await openLine(web, await sealLine(node, text, seq), seq), text);
        assert.equal(await openLine(node, await sealLine(web, text, seq), seq), text);
        await assert.rejects(
          openLine(node, await sealLine(web, text, seq), seq + 1),
          isCode("DECRYPT_ERROR"),
        );
      }
    }
  });
}

Deno.test("records: plaintexts are 1 to 32 768 UTF-8 bytes without line ends", () => {
  assert.equal(encodePlaintext("a").length, 1);
  assert.equal(encodePlaintext("a".repeat(32_768)).length, 32_768);
  for (const bad of ["", "a".repeat(32_769), "a\nb", "a\r"]) {
    assert.throws(() => encodePlaintext(bad), isCode("PROTOCOL_ERROR"));
  }
});

Deno.test("records: decodeRecordLine agrees with decodeBase64Strict on hostile lines", () => {
  const lines = [
    "QUFB",
    "QUE=",
    "QQ==",
    "QR==", // non-zero padding bits
    "QUI=",
    "QUJ=", // non-zero padding bits
    "QUFBQ",
    "QUFBQQ",
    "QUFBQQ=",
    "QUFB====",
    "QQ",
    "Q===",
    "QUFB QUFB",
    "QUFB\tQUFB",
    "QUFB\rQUFB",
    " QUFB",
    "QUFB ",
    "QU\fFB",
    "QU-B",
    "QU_B",
    "QU*B",
    "QUFB\u00e9",
    "====",
    "",
  ];
  for (const line of lines) {
    const want = decodeBase64Strict(line);
    if (want === undefined || want.length === 0) {
      assert.throws(() => decodeRecordLine(line), isCode("PROTOCOL_ERROR"), JSON.stringify(line));
    } else {
      assert.deepEqual(decodeRecordLine(line), want, JSON.stringify(line));
    }
  }
});

Deno.test("records: plaintexts out of range or not UTF-8 are PROTOCOL_ERROR", () => {
  assert.equal(decodePlaintext(new TextEncoder().encode("OK é")), "OK é");
  for (const bad of [new Uint8Array(0), new Uint8Array(32_769).fill(65), Uint8Array.of(0xc3)]) {
    assert.throws(() => decodePlaintext(bad), isCode("PROTOCOL_ERROR"));
  }
});

for (const suite of ["AES_GCM", "AES_CBC"] as const) {
  Deno.test(`records ${suite}: the node cipher's sync and promise forms agree`, async () => {
    const keys = suite === "AES_GCM"
      ? { suite, key: new Uint8Array(32).fill(1), iv: new Uint8Array(12).fill(2) }
      : { suite, enc: new Uint8Array(32).fill(3), mac: new Uint8Array(32).fill(4) };
    const iv = new Uint8Array(16).fill(9);
    const node = await createRecordCipher(keys, { impl: "node", random: () => iv.slice() });
    const web = await createRecordCipher(keys, { impl: "webcrypto", random: () => iv.slice() });
    assert.ok(node.sealSync && node.openSync);
    const pt = encodePlaintext("MESSAGE m1 bob aGk=");
    for (const seq of [0, 1, 2 ** 23 - 1]) {
      const sealed = node.sealSync(pt, seq);
      assert.deepEqual(sealed, await web.seal(pt, seq));
      assert.deepEqual(new Uint8Array(node.openSync(sealed, seq)), pt);
      assert.throws(() => node.openSync!(sealed, seq + 1), isCode("DECRYPT_ERROR"));
      const cut = sealed.subarray(0, sealed.length - 1);
      assert.throws(() => node.openSync!(cut, seq), isCode("DECRYPT_ERROR"));
      await assert.rejects(node.open(cut, seq), isCode("DECRYPT_ERROR"));
    }
  });
}
