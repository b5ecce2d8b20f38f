// Tests of lib/asl/records*.ts (spec section 3): the sequence counter and its limit, the GCM
// nonce, seal/open round trips across implementations, and plaintext rules; the fast path's
// reused memory (nonce buffer, pooled records, the shared base64 decode scratch) gives the
// same bytes and the same verdicts as the allocating forms; the record plaintext decoder
// (several lines joined by LF, the empty-line rule) and its encoder.

import assert from "node:assert/strict";
import { AslError } from "../lib/asl/errors.ts";
import { decodeBase64Strict } from "../lib/base64.ts";
import { MAX_RECORD_LINE_CHARS } from "../lib/asl/framing.ts";
import { deriveSessionKeys } from "../lib/asl/key_schedule.ts";
import {
  createRecordCipher,
  openLine,
  openLines,
  sealLine,
  sealLines,
} from "../lib/asl/records.ts";
import type { RecordCipher } from "../lib/asl/records_cipher.ts";
import {
  decodePlaintext,
  decodeRecordLine,
  decodeRecordLineTransient,
  decodeRecordPlaintext,
  encodePlaintext,
  encodeRecordPlaintext,
} from "../lib/asl/records_codec.ts";
import { gcmNonce } from "../lib/asl/records_gcm.ts";
import { MAX_RECORDS, SequenceCounter } from "../lib/asl/records_sequence.ts";
import { hex, loadNegativeRecords, loadSession } from "./helpers/asl.ts";

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
  const bads = [
    "",
    "a".repeat(32_769),
    "a\nb",
    "a\r",
    "é".repeat(16_385), // 32 770 bytes in 16 385 code units
    "✓".repeat(10_923), // 32 769 bytes
    "a".repeat(32_767) + "é", // 32 769 bytes
    "\ud800".repeat(10_923), // lone surrogates: U+FFFD, 3 bytes each
  ];
  for (const bad of bads) {
    assert.throws(() => encodePlaintext(bad), isCode("PROTOCOL_ERROR"), bad.slice(0, 8));
  }
});

Deno.test("records: encodePlaintext gives TextEncoder's bytes on its pooled and allocating paths", () => {
  const encoder = new TextEncoder();
  const goods = [
    "a",
    "REGISTER alice",
    "MESSAGE m1 bob " + "QUFB".repeat(25),
    "x".repeat(5_000), // beyond the pool's small-allocation size
    "é",
    "OK é✓ \u{1f600}",
    "\ud800x", // a lone surrogate encodes as U+FFFD
    "é".repeat(16_384), // exactly 32 768 bytes
    "a".repeat(32_766) + "é",
  ];
  const results = goods.map((line) => encodePlaintext(line));
  // Checked after all were made: pooled results never share bytes with one another.
  goods.forEach((line, i) => {
    const got = results[i]!;
    assert.equal(Object.getPrototypeOf(got), Uint8Array.prototype, "a plain Uint8Array");
    assert.deepEqual(new Uint8Array(got), encoder.encode(line), line.slice(0, 16));
  });
});

Deno.test("records AES_GCM: the reused nonce and pooled records keep seal/open exact", async () => {
  const keys = {
    suite: "AES_GCM" as const,
    key: crypto.getRandomValues(new Uint8Array(32)),
    iv: crypto.getRandomValues(new Uint8Array(12)),
  };
  const node = await createRecordCipher(keys, { impl: "node" });
  const web = await createRecordCipher(keys, { impl: "webcrypto" });
  const pt = encodePlaintext("MESSAGE m1 bob aGk=");
  // Seals and opens interleaved on one cipher (one nonce buffer), in and out of order.
  const seqs = [0, 1, 2, 7, 3, 2 ** 23 - 1, 2 ** 20, 5];
  const sealed = seqs.map((seq) => node.sealSync!(pt, seq));
  for (const [i, seq] of seqs.entries()) {
    const record = sealed[i]!;
    assert.equal(Object.getPrototypeOf(record), Uint8Array.prototype, "a plain Uint8Array");
    assert.deepEqual(record, await web.seal(pt, seq), `seq ${seq}: earlier records intact`);
    assert.deepEqual(new Uint8Array(node.openSync!(record, seq)), pt);
    assert.deepEqual(new Uint8Array(await node.open(await web.seal(pt, seq), seq)), pt);
    assert.throws(() => node.openSync!(record, seq + 1), isCode("DECRYPT_ERROR"));
    // The nonce function other modules use still returns fresh arrays.
    assert.notEqual(gcmNonce(keys.iv, seq), gcmNonce(keys.iv, seq));
  }
});

/** Base64 lines a record decoder must judge exactly like `decodeBase64Strict`. */
const HOSTILE_LINES = [
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
  // Around the scratch's bound: 65 536 characters decode to exactly its 49 152 bytes.
  "QUFB".repeat(MAX_RECORD_LINE_CHARS / 4),
  "QUFB".repeat(MAX_RECORD_LINE_CHARS / 4 - 1) + "QQ==",
  "QUFB".repeat(MAX_RECORD_LINE_CHARS / 4) + "=",
  "QUFB".repeat(MAX_RECORD_LINE_CHARS / 4) + " ",
  "QUFB".repeat(MAX_RECORD_LINE_CHARS / 4) + "QUFB",
  "QUFB".repeat(MAX_RECORD_LINE_CHARS / 4) + "QUF",
  "QUFB".repeat(MAX_RECORD_LINE_CHARS / 4) + "*",
  "QUFB".repeat(MAX_RECORD_LINE_CHARS / 4 - 1) + "QUF ",
  " " + "QUFB".repeat(MAX_RECORD_LINE_CHARS / 4 - 1) + "QUF",
  "QUFB".repeat(MAX_RECORD_LINE_CHARS / 4 + 1),
  "QUFB".repeat(MAX_RECORD_LINE_CHARS / 4 + 1) + " ",
];

const decoders = [
  ["decodeRecordLine", decodeRecordLine],
  ["decodeRecordLineTransient", decodeRecordLineTransient],
] as const;

for (const [name, decode] of decoders) {
  Deno.test(`records: ${name} agrees with decodeBase64Strict on hostile lines`, () => {
    for (const line of HOSTILE_LINES) {
      const what = `${JSON.stringify(line.slice(0, 12))}… (${line.length} chars)`;
      const want = decodeBase64Strict(line);
      if (want === undefined || want.length === 0) {
        assert.throws(() => decode(line), isCode("PROTOCOL_ERROR"), what);
      } else {
        // Copied: the transient decoder's result is a view of its shared scratch.
        assert.deepEqual(new Uint8Array(decode(line)), want, what);
      }
    }
  });
}

Deno.test("records: decodeRecordLineTransient's result is a view the next call overwrites", () => {
  const first = decodeRecordLineTransient("QUFB");
  assert.equal(first.toHex(), "414141");
  const second = decodeRecordLineTransient("QkJC");
  assert.equal(second.toHex(), "424242");
  assert.equal(first.toHex(), "424242", "shared scratch: copy what must outlive the next call");
  // A rejected line leaves no partial verdict behind: the next good line decodes in full.
  assert.throws(() => decodeRecordLineTransient("QkJD****"), isCode("PROTOCOL_ERROR"));
  assert.equal(decodeRecordLineTransient("QUE=").toHex(), "4141");
});

/** What the session's synchronous path does with one received line. */
function openLineSync(cipher: RecordCipher, line: string, seq: number): string {
  return decodePlaintext(cipher.openSync!(decodeRecordLineTransient(line), seq));
}

/** The error code `f` throws (or rejects with), or "none". */
async function codeOf(f: () => unknown): Promise<string> {
  try {
    await f();
    return "none";
  } catch (err) {
    return err instanceof AslError ? err.code : `not an AslError: ${err}`;
  }
}

Deno.test("records: the session's sync path (shared scratch, openSync) rejects every negative vector like openLine", async () => {
  const cases = await loadNegativeRecords();
  assert.ok(cases.length >= 32);
  for (const suite of ["AES_GCM", "AES_CBC"] as const) {
    const v = await loadSession(suite);
    const keys = await deriveSessionKeys(hex(v.K), hex(v.TH_7), suite);
    for (const c of cases.filter((c) => c.suite === suite)) {
      const node = await createRecordCipher(keys[c.direction], { impl: "node" });
      const web = await createRecordCipher(keys[c.direction], { impl: "webcrypto" });
      const want = await codeOf(() => openLine(web, c.line, c.recv_seq));
      assert.notEqual(want, "none", c.reason);
      assert.equal(await codeOf(() => openLineSync(node, c.line, c.recv_seq)), want, c.reason);
    }
    // And the authentic records still open through it.
    for (const d of ["c2s", "s2c"] as const) {
      const node = await createRecordCipher(keys[d], { impl: "node" });
      for (const r of v.records[d]) assert.equal(openLineSync(node, r.line, r.seq), r.plaintext);
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

const utf8 = new TextEncoder();

Deno.test("records: decodeRecordPlaintext splits a plaintext at single LFs, in order", () => {
  const cases: [string, string[]][] = [
    ["REGISTER alice", ["REGISTER alice"]],
    ["OK m1\nOK m2", ["OK m1", "OK m2"]],
    ["a\nb\nc", ["a", "b", "c"]],
    ["é✓\nx", ["é✓", "x"]],
    // CR is no separator and no record-layer error: the lines go up as they are, and the
    // command layer answers them FAILED * MALFORMED (docs/PROTOCOL.md).
    ["OK m1\r\nOK m2", ["OK m1\r", "OK m2"]],
    ["\r", ["\r"]],
    ["a\n\r\nb", ["a", "\r", "b"]],
    [" \n ", [" ", " "]],
    ["x\n".repeat(16_383) + "x", Array(16_384).fill("x")], // 32 767 bytes, 16 384 lines
  ];
  for (const [text, lines] of cases) {
    assert.deepEqual(decodeRecordPlaintext(utf8.encode(text)), lines, JSON.stringify(text));
    // Appended to a given array, after what it holds.
    const into = ["earlier"];
    assert.equal(decodeRecordPlaintext(utf8.encode(text), into), into);
    assert.deepEqual(into, ["earlier", ...lines]);
  }
});

Deno.test("records: decodeRecordPlaintext refuses an empty line and hands over none of the lines", () => {
  const bads = [
    "\n",
    "\n\n",
    "\nREGISTER alice",
    "REGISTER alice\n",
    "REGISTER alice\n\nOK s1",
    "a\nb\n\nc",
    "a\nb\nc\n",
    "a\n\n\nb",
    "x\n".repeat(16_384), // 32 768 bytes: within the limit, but a trailing LF
  ];
  for (const bad of bads) {
    const into = ["earlier"];
    assert.throws(
      () => decodeRecordPlaintext(utf8.encode(bad), into),
      isCode("PROTOCOL_ERROR"),
      JSON.stringify(bad.slice(0, 20)),
    );
    assert.deepEqual(into, ["earlier"], "nothing appended");
  }
  // The plaintext checks still come first: empty, too long, not UTF-8.
  for (
    const bad of [
      new Uint8Array(0),
      utf8.encode("a\n".repeat(16_384) + "a"), // 32 769 bytes
      Uint8Array.of(0x61, 0x0a, 0xc3),
    ]
  ) {
    const into: string[] = [];
    assert.throws(() => decodeRecordPlaintext(bad, into), isCode("PROTOCOL_ERROR"));
    assert.deepEqual(into, []);
  }
});

Deno.test("records: encodeRecordPlaintext joins checked lines by LF, at most 32 768 bytes", () => {
  assert.deepEqual(new Uint8Array(encodeRecordPlaintext(["OK m1"])), utf8.encode("OK m1"));
  assert.deepEqual(encodeRecordPlaintext(["OK m1", "é", "x"]), utf8.encode("OK m1\né\nx"));
  const full = ["a".repeat(16_383), "b".repeat(16_384)]; // 32 768 bytes with the LF
  assert.equal(encodeRecordPlaintext(full).length, 32_768);
  const bads: string[][] = [
    [],
    [""],
    ["a", ""],
    ["a\nb"],
    ["a", "b\r"],
    ["a".repeat(16_384), "b".repeat(16_384)], // 32 769 bytes
    ["é".repeat(8_192), "é".repeat(8_192)], // 32 769 bytes in 16 385 code units
  ];
  for (const lines of bads) {
    assert.throws(
      () => encodeRecordPlaintext(lines),
      isCode("PROTOCOL_ERROR"),
      JSON.stringify(lines.map((l) => l.slice(0, 8))),
    );
  }
});

for (const impl of ["node", "webcrypto"] as const) {
  Deno.test(`records (${impl}): sealLines and openLines round-trip several lines per record`, async () => {
    const keys = {
      suite: "X25519_AES_GCM" as const,
      key: crypto.getRandomValues(new Uint8Array(32)),
      iv: crypto.getRandomValues(new Uint8Array(12)),
    };
    const cipher = await createRecordCipher(keys, { impl });
    const lines = ["MESSAGE m1 bob aGk=", "CERT alice", "OK s1"];
    const line = await sealLines(cipher, lines, 7);
    assert.deepEqual(await openLines(cipher, line, 7), lines);
    assert.equal(await openLine(cipher, line, 7), lines.join("\n"));
    await assert.rejects(openLines(cipher, line, 8), isCode("DECRYPT_ERROR"));
    // An authentic record with an empty line is refused after it opens.
    const bad = (await cipher.seal(utf8.encode("OK s1\n\nOK s2"), 9)).toBase64();
    await assert.rejects(openLines(cipher, bad, 9), isCode("PROTOCOL_ERROR"));
    assert.equal(await openLine(cipher, bad, 9), "OK s1\n\nOK s2", "authentic");
  });
}
