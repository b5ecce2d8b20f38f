// Tests cli/client/terminal.ts: the line editor fed raw key bytes (one at a time too), the
// redraw sequences, and the plain line front end.

import assert from "node:assert/strict";
import { LineEditor, PlainUI, renderAbove, renderInputLine } from "../cli/client/terminal.ts";

const enc = new TextEncoder();

Deno.test("line editor: typing, backspace, Ctrl-U, Enter", () => {
  const ed = new LineEditor();
  assert.deepEqual(ed.feed(enc.encode("helo")), []);
  ed.feed(new Uint8Array([0x7f]));
  ed.feed(enc.encode("lo"));
  assert.equal(ed.buffer, "hello");
  assert.deepEqual(ed.feed(enc.encode("\r")), [{ type: "line", text: "hello" }]);
  assert.equal(ed.buffer, "");
  ed.feed(enc.encode("junk\x15ok\n"));
  assert.equal(ed.buffer, "");
});

Deno.test("line editor: UTF-8 split across chunks, backspace removes a whole character", () => {
  const ed = new LineEditor();
  const bytes = enc.encode("é👋");
  for (const b of bytes) ed.feed(new Uint8Array([b]));
  assert.equal(ed.buffer, "é👋");
  ed.feed(new Uint8Array([0x7f]));
  assert.equal(ed.buffer, "é");
});

Deno.test("line editor: escape sequences (arrows) are ignored, Ctrl-C and Ctrl-D end", () => {
  const ed = new LineEditor();
  ed.feed(enc.encode("a\x1b[Ab\x1bOC"));
  assert.equal(ed.buffer, "ab");
  assert.deepEqual(ed.feed(enc.encode("\x04")), []); // Ctrl-D with text: nothing
  assert.deepEqual(ed.feed(enc.encode("\x03")), [{ type: "interrupt" }]);
  const empty = new LineEditor();
  assert.deepEqual(empty.feed(enc.encode("\x04")), [{ type: "eof" }]);
});

Deno.test("line editor: the buffer is bounded", () => {
  const ed = new LineEditor(5);
  ed.feed(enc.encode("abcdefgh"));
  assert.equal(ed.buffer, "abcde");
});

Deno.test("printing above the input line clears it, prints, and redraws prompt and buffer", () => {
  assert.equal(renderInputLine("alice> ", "hel"), "\r\x1b[2Kalice> hel");
  assert.equal(
    renderAbove("[09:05] bob: hi\nsecond", "alice> ", "hel"),
    "\r\x1b[2K[09:05] bob: hi\r\nsecond\r\nalice> hel",
  );
});

Deno.test("plain front end splits input into lines and prints whole lines", async () => {
  const out: string[] = [];
  const input = new ReadableStream<Uint8Array>({
    start(ctl) {
      ctl.enqueue(enc.encode("@bob hi\r\nsec"));
      ctl.enqueue(enc.encode("ond\nlast"));
      ctl.close();
    },
  });
  const ui = new PlainUI(input, (text) => out.push(text));
  const lines: string[] = [];
  for await (const line of ui.lines()) lines.push(line);
  assert.deepEqual(lines, ["@bob hi", "second", "last"]);
  ui.print("a\nb");
  assert.deepEqual(out, ["a\nb\n"]);
});
