// Tests of tools/load/faults.ts: the stalled-handshake probe's classification of cuts (in
// time, early) against the real server (tests/helpers/server.ts) with a short handshake
// timeout, and FreezableConn's frozen reads (tests/server_slow_reader_test.ts uses it too).

import assert from "node:assert/strict";
import { FreezableConn, stallHandshakes } from "../tools/load/faults.ts";
import { startTestServer } from "./helpers/server.ts";

Deno.test("stallHandshakes: cuts at the server's handshake timeout are in time, earlier ones early", async () => {
  const t = await startTestServer({ handshakeTimeoutMs: 600 });
  try {
    const r = await stallHandshakes("127.0.0.1", t.port, 5, 600);
    assert.equal(r.stalled, 5);
    assert.equal(r.cut_in_time, 5);
    assert.equal(r.cut_early, 0);
    assert.equal(r.never_cut, 0);
    assert.equal(r.sample_reply, "ASL_ERROR TIMEOUT");
    assert.ok(r.slowest_cut_ms >= 350);
    // The same cuts, for a probe told the timeout is 2 s, came early.
    const early = await stallHandshakes("127.0.0.1", t.port, 3, 2000);
    assert.equal(early.cut_early, 3);
    assert.equal(early.cut_in_time, 0);
  } finally {
    await t.close();
  }
});

Deno.test("FreezableConn: reads pass through until frozen, wait for thaw; close ends a frozen read", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepted = listener.accept();
  const conn = new FreezableConn(await Deno.connect({ hostname: "127.0.0.1", port }));
  const peer = await accepted;
  try {
    await peer.write(new Uint8Array([1, 2, 3]));
    const buf = new Uint8Array(8);
    assert.equal(await conn.read(buf), 3);
    conn.freeze();
    await peer.write(new Uint8Array([4]));
    const frozen = conn.read(buf);
    const raced = await Promise.race([
      frozen,
      new Promise((r) => setTimeout(() => r("waiting"), 200)),
    ]);
    assert.equal(raced, "waiting");
    assert.equal(await conn.write(new Uint8Array([9])), 1); // writes still work
    conn.thaw();
    assert.equal(await frozen, 1);
    conn.freeze();
    const again = conn.read(buf);
    conn.close();
    assert.equal(await again, null);
  } finally {
    conn.close();
    peer.close();
    listener.close();
  }
});
