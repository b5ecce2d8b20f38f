// Tests of lib/asl/records.ts (spec section 3): the sequence counter and its limit, the GCM
// nonce, seal/open round trips across implementations, and plaintext rules.

import assert from "node:assert/strict";
import { AslError } from "../lib/asl/errors.ts";
import {
  createRecordCipher,
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
