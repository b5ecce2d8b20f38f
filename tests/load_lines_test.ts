// Tests of tools/load/lines.ts and channel.ts: the bounded line splitter (fed one byte at a
// time and in odd chunks), the batch writer (one write per tick) and TextLineChannel.

import assert from "node:assert/strict";
import { BatchWriter, LineSplitter, LineTooLongError, writeAll } from "../tools/load/lines.ts";
import { TextLineChannel } from "../tools/load/channel.ts";
import { createPipe } from "../lib/asl/pipe.ts";

const enc = new TextEncoder();

Deno.test("LineSplitter: one byte at a time, multi-byte UTF-8 split across chunks", () => {
  const text = "REGISTER alice\nMESSAGE m1 bob QUFB\n\nOK é€\npartial";
  const s = new LineSplitter();
  const lines: string[] = [];
  for (const byte of enc.encode(text)) lines.push(...s.push(new Uint8Array([byte])));
  assert.deepEqual(lines, ["REGISTER alice", "MESSAGE m1 bob QUFB", "", "OK é€"]);
  assert.deepEqual(s.push(enc.encode("!\n")), ["partial!"]);
});

Deno.test("LineSplitter refuses a line past its cap, finished or not", () => {
  assert.throws(() => new LineSplitter(10).push(enc.encode("x".repeat(11))), LineTooLongError);
  assert.throws(
    () => new LineSplitter(10).push(enc.encode("x".repeat(11) + "\n")),
    LineTooLongError,
  );
  assert.deepEqual(new LineSplitter(10).push(enc.encode("x".repeat(10) + "\n")), ["x".repeat(10)]);
});

Deno.test("BatchWriter writes every line queued in one tick with one write call", async () => {
  const writes: string[] = [];
  const w = {
    write(bytes: Uint8Array) {
      writes.push(new TextDecoder().decode(bytes));
      return Promise.resolve(bytes.length);
    },
  };
  const bw = new BatchWriter(w);
  const done = [bw.write("a\n"), bw.write("b\n"), bw.write("c\n")];
  await Promise.all(done);
  assert.deepEqual(writes, ["a\nb\nc\n"]);
  await bw.write("d\n");
  assert.deepEqual(writes, ["a\nb\nc\n", "d\n"]);
});

Deno.test("writeAll loops over short writes", async () => {
  const got: number[] = [];
  const w = {
    write(bytes: Uint8Array) {
      got.push(bytes[0] as number);
      return Promise.resolve(1);
    },
  };
  await writeAll(w, new Uint8Array([1, 2, 3]));
  assert.deepEqual(got, [1, 2, 3]);
});

Deno.test("TextLineChannel sends and receives lines over a duplex", async () => {
  const [a, b] = createPipe();
  const left = new TextLineChannel(a);
  const right = new TextLineChannel(b);
  try {
    await left.send("REGISTER alice");
    await left.send("MESSAGE m1 bob QUFB");
    const it = right[Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { done: false, value: "REGISTER alice" });
    assert.deepEqual(await it.next(), { done: false, value: "MESSAGE m1 bob QUFB" });
    await left.close();
    assert.equal((await it.next()).done, true);
  } finally {
    await left.close();
    await right.close();
  }
});
