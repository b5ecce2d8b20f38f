// Tests of lib/asl/framing.ts (spec section 1): byte-at-a-time parsing, chunk splits,
// printable-ASCII and spacing rules, and the limits enforced while reading; the session's
// record-line splitter (many lines per chunk, byte at a time, every split, its faults).

import assert from "node:assert/strict";
import { AslError } from "../lib/asl/errors.ts";
import {
  FIRST_READ_BYTES,
  FrameParser,
  FrameReader,
  HANDSHAKE_LIMITS,
  MAX_HANDSHAKE_MESSAGE_BYTES,
  MAX_RECORD_LINE_CHARS,
  READ_CHUNK_BYTES,
  RECORD_LIMITS,
  RecordLineSplitter,
} from "../lib/asl/framing.ts";
import { createPipe } from "../lib/asl/pipe.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function isCode(code: string) {
  return (err: unknown) => err instanceof AslError && err.code === code;
}

/** Feeds `bytes` one byte at a time and collects every message. */
function parseByteByByte(bytes: Uint8Array, parser = new FrameParser()) {
  const out: string[][] = [];
  for (const b of bytes) {
    parser.push(Uint8Array.of(b));
    for (let f = parser.next(); f; f = parser.next()) out.push([...f.lines]);
  }
  return out;
}

Deno.test("framing: messages one byte at a time", () => {
  const text = "SALAAM_ASL\n\nASYMCRYPO AES_GCM AES_CBC\n-----BEGIN X-----\nAAAA\n\nLETS_TALK\n\n";
  assert.deepEqual(parseByteByByte(enc.encode(text)), [
    ["SALAAM_ASL"],
    ["ASYMCRYPO AES_GCM AES_CBC", "-----BEGIN X-----", "AAAA"],
    ["LETS_TALK"],
  ]);
});

Deno.test("framing: every split of a message into two chunks gives the same frame", () => {
  const text = enc.encode("A B\nCC DD\n\nNEXT\n\n");
  for (let cut = 0; cut <= text.length; cut++) {
    const parser = new FrameParser();
    parser.push(text.subarray(0, cut));
    parser.push(text.subarray(cut));
    const first = parser.next();
    assert.ok(first);
    assert.deepEqual(first.lines, ["A B", "CC DD"]);
    assert.equal(dec.decode(first.bytes), "A B\nCC DD\n\n");
    assert.deepEqual(parser.next()?.lines, ["NEXT"]);
    assert.equal(parser.next(), undefined);
  }
});

Deno.test("framing: the exact bytes of each message are kept (transcript input)", () => {
  const parser = new FrameParser();
  parser.push(enc.encode("X Y\n\nZ\n\n"));
  assert.equal(dec.decode(parser.next()!.bytes), "X Y\n\n");
  assert.equal(dec.decode(parser.next()!.bytes), "Z\n\n");
});

Deno.test("framing: forbidden bytes and spacing are PROTOCOL_ERROR", () => {
  const bad: [string, Uint8Array][] = [
    ["CR", enc.encode("SALAAM_ASL\r\n\n")],
    ["tab", enc.encode("A\tB\n\n")],
    ["NUL", Uint8Array.of(0x41, 0x00, 0x0a, 0x0a)],
    ["DEL", Uint8Array.of(0x41, 0x7f, 0x0a, 0x0a)],
    ["non-ASCII", enc.encode("SALAAM_ASL é\n\n")],
    ["byte 0x80", Uint8Array.of(0x41, 0x80, 0x0a, 0x0a)],
    ["leading space", enc.encode(" A\n\n")],
    ["trailing space", enc.encode("A \n\n")],
    ["double space", enc.encode("A  B\n\n")],
    ["empty message", enc.encode("\n")],
  ];
  for (const [name, bytes] of bad) {
    assert.throws(() => parseByteByByte(bytes), isCode("PROTOCOL_ERROR"), name);
    const whole = new FrameParser();
    whole.push(bytes);
    assert.throws(() => whole.next(), isCode("PROTOCOL_ERROR"), `${name} (one chunk)`);
  }
});

Deno.test("framing: a failed parser stays failed", () => {
  const parser = new FrameParser();
  parser.push(enc.encode("A\tB\n\n"));
  assert.throws(() => parser.next(), isCode("PROTOCOL_ERROR"));
  parser.push(enc.encode("OK\n\n"));
  assert.throws(() => parser.next(), isCode("PROTOCOL_ERROR"));
});

Deno.test("framing: a handshake message of exactly 32 768 bytes passes, one more fails", () => {
  const ok = "A".repeat(MAX_HANDSHAKE_MESSAGE_BYTES - 2) + "\n\n";
  const parser = new FrameParser(HANDSHAKE_LIMITS);
  parser.push(enc.encode(ok));
  assert.equal(parser.next()?.bytes.length, MAX_HANDSHAKE_MESSAGE_BYTES);
  const over = "A".repeat(MAX_HANDSHAKE_MESSAGE_BYTES - 1) + "\n\n";
  const p2 = new FrameParser(HANDSHAKE_LIMITS);
  p2.push(enc.encode(over));
  assert.throws(() => p2.next(), isCode("PROTOCOL_ERROR"));
});

Deno.test("framing: the limit fails as soon as it is passed, before the message ends", () => {
  // No LF ever arrives: the parser must fail at byte 32 769, not wait for more.
  const parser = new FrameParser(HANDSHAKE_LIMITS);
  const chunk = enc.encode("B".repeat(1024));
  let fedBytes = 0;
  assert.throws(() => {
    for (let i = 0; i < 64; i++) {
      parser.push(chunk);
      fedBytes += chunk.length;
      parser.next();
    }
  }, isCode("PROTOCOL_ERROR"));
  assert.equal(fedBytes, MAX_HANDSHAKE_MESSAGE_BYTES + 1024);
});

Deno.test("framing: record lines of 65 536 characters pass, 65 537 fail", () => {
  const parser = new FrameParser(RECORD_LIMITS);
  parser.push(enc.encode("A".repeat(MAX_RECORD_LINE_CHARS) + "\n\n"));
  assert.equal(parser.next()?.lines[0]?.length, MAX_RECORD_LINE_CHARS);
  const p2 = new FrameParser(RECORD_LIMITS);
  p2.push(enc.encode("A".repeat(MAX_RECORD_LINE_CHARS + 1)));
  assert.throws(() => p2.next(), isCode("PROTOCOL_ERROR"));
});

Deno.test("framing: a session message of more than one line is PROTOCOL_ERROR", () => {
  const parser = new FrameParser(RECORD_LIMITS);
  parser.push(enc.encode("AAAA\nBBBB\n\n"));
  assert.throws(() => parser.next(), isCode("PROTOCOL_ERROR"));
});

Deno.test("framing: limits switch between messages (handshake, then records)", () => {
  const parser = new FrameParser(HANDSHAKE_LIMITS);
  parser.push(enc.encode("LETS_TALK\n\nAAAA\n\nBBBB\n\n"));
  assert.deepEqual(parser.next()?.lines, ["LETS_TALK"]);
  parser.limits = RECORD_LIMITS;
  assert.deepEqual(parser.next()?.lines, ["AAAA"]);
  assert.deepEqual(parser.next()?.lines, ["BBBB"]);
  assert.equal(parser.inMessage, false);
});

Deno.test("framing reader: reads messages from a pipe, EOF inside a message is CLOSED", async () => {
  const [a, b] = createPipe();
  try {
    const reader = new FrameReader(b);
    await a.write(enc.encode("ONE\n\nTW"));
    assert.deepEqual((await reader.next())?.lines, ["ONE"]);
    await a.write(enc.encode("O\n\n"));
    assert.deepEqual((await reader.next())?.lines, ["TWO"]);
    await a.write(enc.encode("PART"));
    await a.closeWrite();
    await assert.rejects(reader.next(), isCode("CLOSED"));
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("framing reader: the first read buffer is small and grows 4x while reads fill it", async () => {
  // A source that records the buffer size of each read and fills it up to `ready` bytes.
  let ready = 0;
  const sizes: number[] = [];
  const source = {
    read(p: Uint8Array): Promise<number | null> {
      sizes.push(p.length);
      const n = Math.min(p.length, ready);
      ready -= n;
      p.fill(0x41, 0, n);
      return Promise.resolve(n);
    },
  };
  const reader = new FrameReader(source);
  ready = 12; // M1-sized: the buffer stays as it is
  await reader.readChunk();
  ready = 40_000; // an oversized M3 arriving at once
  for (let i = 0; i < 5; i++) await reader.readChunk();
  assert.deepEqual(sizes, [
    FIRST_READ_BYTES,
    FIRST_READ_BYTES,
    FIRST_READ_BYTES * 4,
    FIRST_READ_BYTES * 16,
    READ_CHUNK_BYTES,
    READ_CHUNK_BYTES,
  ]);
  assert.ok(FIRST_READ_BYTES <= 1024);
});

Deno.test("framing reader: a clean EOF between messages gives null", async () => {
  const [a, b] = createPipe();
  try {
    const reader = new FrameReader(b);
    await a.write(enc.encode("ONE\n\n"));
    await a.closeWrite();
    assert.deepEqual((await reader.next())?.lines, ["ONE"]);
    assert.equal(await reader.next(), null);
    assert.equal(reader.eof, true);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("framing: takePending hands over the bytes after the last message", () => {
  const parser = new FrameParser(HANDSHAKE_LIMITS);
  parser.push(enc.encode("LETS_TALK\n\nAAAA\n\nBB"));
  parser.push(enc.encode("BB\n\n"));
  assert.deepEqual(parser.next()?.lines, ["LETS_TALK"]);
  const rest = parser.takePending();
  assert.equal(rest.map((b) => dec.decode(b)).join(""), "AAAA\n\nBBBB\n\n");
  assert.equal(parser.hasPending, false);
  assert.equal(parser.next(), undefined);
});

/** Feeds `text` to a fresh splitter in the given chunk sizes and returns the lines. */
function split(text: string, chunkSizes: (i: number) => number): string[] {
  const bytes = enc.encode(text);
  const splitter = new RecordLineSplitter();
  const out: string[] = [];
  for (let i = 0, k = 0; i < bytes.length; k++) {
    const n = Math.max(1, chunkSizes(k));
    splitter.push(bytes.subarray(i, i + n), out);
    i += n;
  }
  assert.equal(splitter.inMessage, false);
  return out;
}

Deno.test("record splitter: every line of one chunk comes out, in order", () => {
  const lines = Array.from({ length: 500 }, (_, i) => `QUFB${i.toString(36).padStart(4, "A")}`);
  const text = lines.map((l) => l + "\n\n").join("");
  assert.deepEqual(split(text, () => text.length), lines);
});

Deno.test("record splitter: one byte at a time and every two-chunk split give the same lines", () => {
  const text = "QUFBQQ==\n\nQkJC\n\nQw==\n\n";
  const want = ["QUFBQQ==", "QkJC", "Qw=="];
  assert.deepEqual(split(text, () => 1), want);
  for (let cut = 1; cut < text.length; cut++) {
    assert.deepEqual(split(text, (k) => (k === 0 ? cut : text.length)), want, `cut ${cut}`);
  }
  // Irregular chunk sizes across many lines.
  const many = Array.from({ length: 200 }, (_, i) => "QUFB".repeat(1 + (i % 7)));
  const manyText = many.map((l) => l + "\n\n").join("");
  assert.deepEqual(split(manyText, (k) => 1 + ((k * 7919) % 61)), many);
});

Deno.test("record splitter: faults are PROTOCOL_ERROR, and a failed splitter stays failed", () => {
  const bad: [string, Uint8Array][] = [
    ["empty message", enc.encode("\n")],
    ["empty message after a record", enc.encode("QUFB\n\n\n")],
    ["two lines in one message", enc.encode("QUFB\nQUFB\n\n")],
    ["non-ASCII", enc.encode("QUFBé\n\n")],
    ["byte 0x80", Uint8Array.of(0x41, 0x80, 0x0a, 0x0a)],
  ];
  for (const [name, bytes] of bad) {
    const whole = new RecordLineSplitter();
    assert.throws(() => whole.push(bytes, []), isCode("PROTOCOL_ERROR"), name);
    assert.throws(() => whole.push(enc.encode("QUFB\n\n"), []), isCode("PROTOCOL_ERROR"));
    const bytewise = new RecordLineSplitter();
    assert.throws(
      () => {
        for (const b of bytes) bytewise.push(Uint8Array.of(b), []);
      },
      isCode("PROTOCOL_ERROR"),
      `${name} (byte at a time)`,
    );
  }
});

Deno.test("record splitter: 65 536-character lines pass; the limit fails as soon as passed", () => {
  const ok = "A".repeat(MAX_RECORD_LINE_CHARS);
  assert.deepEqual(split(ok + "\n\n", () => 4096), [ok]);
  // No LF ever arrives: the splitter fails on the chunk that passes the limit.
  const splitter = new RecordLineSplitter();
  const chunk = enc.encode("B".repeat(4096));
  let fed = 0;
  assert.throws(() => {
    for (let i = 0; i < 32; i++) {
      fed += chunk.length;
      splitter.push(chunk, []);
    }
  }, isCode("PROTOCOL_ERROR"));
  assert.equal(fed, MAX_RECORD_LINE_CHARS + 4096);
  // A line of 65 537 characters fails even when its LF is in the same chunk.
  const over = new RecordLineSplitter();
  assert.throws(() => over.push(enc.encode(ok + "A\n\n"), []), isCode("PROTOCOL_ERROR"));
});
