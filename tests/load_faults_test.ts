// Tests of tools/load/faults.ts that need no ASL server: the stalled-handshake probe's
// classification of cuts (in time, early) against small TCP servers on 127.0.0.1:0, and
// FreezableConn's frozen reads (tests/server_slow_reader_test.ts uses it too).

import assert from "node:assert/strict";
import { FreezableConn, stallHandshakes } from "../tools/load/faults.ts";

/** A server that reads M1, waits `delayMs`, writes `ASL_ERROR TIMEOUT` and closes. */
function cuttingServer(delayMs: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const done = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      void (async () => {
        try {
          await conn.read(new Uint8Array(64));
          await new Promise((r) => setTimeout(r, delayMs));
          await conn.write(new TextEncoder().encode("ASL_ERROR TIMEOUT\n\n"));
        } catch {
          // the probe went away
        } finally {
          try {
            conn.close();
          } catch {
            // closed
          }
        }
      })();
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      await done;
    },
  };
}

Deno.test("stallHandshakes counts cuts at the timeout as in time", async () => {
  const server = cuttingServer(600);
  try {
    const r = await stallHandshakes("127.0.0.1", server.port, 5, 600);
    assert.equal(r.stalled, 5);
    assert.equal(r.cut_in_time, 5);
    assert.equal(r.cut_early, 0);
    assert.equal(r.never_cut, 0);
    assert.equal(r.sample_reply, "ASL_ERROR TIMEOUT");
    assert.ok(r.slowest_cut_ms >= 350);
  } finally {
    await server.close();
  }
});

Deno.test("stallHandshakes reports cuts well before the timeout as early", async () => {
  const server = cuttingServer(0);
  try {
    const r = await stallHandshakes("127.0.0.1", server.port, 3, 2000);
    assert.equal(r.cut_early, 3);
    assert.equal(r.cut_in_time, 0);
  } finally {
    await server.close();
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
