// Tests lib/client/seen.ts: the bounded, on-disk memory of sids already shown.

import assert from "node:assert/strict";
import { SeenSids } from "../lib/client/seen.ts";

Deno.test("seen sids survive a restart through the file", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/alice.seen`;
    const a = new SeenSids(path);
    assert.equal(a.size, 0);
    a.add("s1");
    a.add("s2");
    a.add("s1");
    assert.ok(a.has("s1") && a.has("s2") && !a.has("s3"));
    const b = new SeenSids(path);
    assert.equal(b.size, 2);
    assert.ok(b.has("s1") && b.has("s2"));
    assert.equal(Deno.readTextFileSync(path), "s1\ns2\n");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("seen sids are bounded: the oldest are forgotten, the file is compacted", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/bob.seen`;
    const seen = new SeenSids(path, 3);
    for (let i = 1; i <= 10; i++) seen.add(`s${i}`);
    assert.equal(seen.size, 3);
    assert.ok(!seen.has("s7"));
    assert.ok(seen.has("s8") && seen.has("s9") && seen.has("s10"));
    const lines = Deno.readTextFileSync(path).split("\n").filter((l) => l !== "");
    assert.ok(lines.length <= 6, `file holds ${lines.length} lines`);
    const again = new SeenSids(path, 3);
    assert.equal(again.size, 3);
    assert.ok(again.has("s10") && !again.has("s1"));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("without a file the memory is in-process only", () => {
  const seen = new SeenSids(undefined, 2);
  seen.add("a");
  seen.add("b");
  seen.add("c");
  assert.ok(!seen.has("a") && seen.has("b") && seen.has("c"));
});
