// Tests of lib/asl/pipe.ts: the in-memory duplex behaves like a TCP connection (ordered
// bytes, bounded buffer with waiting writers, half-close, close).

import assert from "node:assert/strict";
import { createPipe } from "../lib/asl/pipe.ts";

Deno.test("pipe: bytes arrive in order; partial writes at capacity; EOF after closeWrite", async () => {
  const [a, b] = createPipe(8);
  try {
    assert.equal(await a.write(new Uint8Array(12).fill(7)), 8); // only what fits
    let second = false;
    const pending = a.write(Uint8Array.of(1, 2)).then((n) => (second = true, n));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(second, false, "a writer waits while the buffer is full");
    const buf = new Uint8Array(16);
    assert.equal(await b.read(buf), 8);
    assert.equal(await pending, 2);
    assert.equal(await b.read(buf), 2);
    assert.deepEqual([...buf.subarray(0, 2)], [1, 2]);
    await a.closeWrite();
    assert.equal(await b.read(buf), null);
    // The other direction still works after a half-close.
    await b.write(Uint8Array.of(9));
    assert.equal(await a.read(buf), 1);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("pipe: close ends the peer's reads and fails its writes", async () => {
  const [a, b] = createPipe();
  const buf = new Uint8Array(4);
  const read = b.read(buf);
  a.close();
  assert.equal(await read, null);
  await assert.rejects(b.write(Uint8Array.of(1)), Deno.errors.BrokenPipe);
  await assert.rejects(a.read(buf), Deno.errors.BadResource);
  assert.throws(() => a.close(), Deno.errors.BadResource);
  b.close();
});
