// Revision 4 batching against the real server (spec section 3, "Records", and section 5):
// with X25519_AES_GCM a client's pipelined commands leave in a few records and the server's
// replies come back batched and in order; each line of a batch is judged on its own; a record
// with an empty line ends only that connection; acknowledgements in a batch all count.

import "reflect-metadata";
import assert from "node:assert/strict";
import { connect } from "../lib/asl/endpoint.ts";
import type { RecordCipher } from "../lib/asl/records_cipher.ts";
import type { Suite } from "../lib/asl/types.ts";
import { startTestServer, TestClient, type TestServer } from "./helpers/server.ts";

const P = "aGVsbG8=";
/** Handshake messages each side writes before its first record: M1 M3 M5 M7 / M2 M4 M6. */
const HANDSHAKE_MESSAGES = { c2s: 4, s2c: 3 } as const;

/** A loopback TCP relay to the server that counts messages (`LF LF`) in each direction. */
interface CountingProxy {
  readonly port: number;
  /** Records seen so far, per direction (messages minus the handshake's). */
  records(): { c2s: number; s2c: number };
  close(): void;
}

function countingProxy(target: number): CountingProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const counts = { c2s: 0, s2c: 0 };
  const conns: Deno.Conn[] = [];
  const pump = async (from: Deno.Conn, to: Deno.Conn, dir: "c2s" | "s2c") => {
    let last = 0; // the previous byte, so LF LF split across reads counts once
    try {
      for await (const chunk of from.readable) {
        for (const b of chunk) {
          if (b === 0x0a && last === 0x0a) {
            counts[dir]++;
            last = 0;
          } else last = b;
        }
        let off = 0;
        while (off < chunk.length) off += await to.write(chunk.subarray(off));
      }
    } catch {
      // a side went away
    } finally {
      try {
        to.close();
      } catch { /* closed */ }
    }
  };
  (async () => {
    for await (const inbound of listener) {
      const outbound = await Deno.connect({ hostname: "127.0.0.1", port: target });
      conns.push(inbound, outbound);
      pump(inbound, outbound, "c2s");
      pump(outbound, inbound, "s2c");
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    records: () => ({
      c2s: counts.c2s - HANDSHAKE_MESSAGES.c2s,
      s2c: counts.s2c - HANDSHAKE_MESSAGES.s2c,
    }),
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

/** A client through `port` (a proxy or the server itself), with optional wire tricks. */
async function client(
  t: TestServer,
  user: string,
  port: number,
  opts: { suites?: Suite[]; wrapSendCipher?: (c: RecordCipher) => RecordCipher } = {},
): Promise<TestClient> {
  const session = await connect(
    { hostname: "127.0.0.1", port },
    {
      credentials: await t.pki.credentials(user),
      trust: t.pki.trust,
      serverName: "127.0.0.1",
      ...(opts.suites ? { suites: opts.suites } : {}),
    },
    opts.wrapSendCipher ? { wrapSendCipher: opts.wrapSendCipher } : {},
  );
  const c = new TestClient(session, user);
  assert.equal(await c.request(`REGISTER ${user}`), `OK ${user}`);
  return c;
}

for (const suite of ["X25519_AES_GCM", "AES_GCM"] as Suite[]) {
  Deno.test(`batch ${suite}: 200 pipelined MESSAGEs, 200 replies in order; records counted`, async () => {
    const t = await startTestServer({ users: ["alice", "bob"] });
    const proxy = countingProxy(t.port);
    const clients: TestClient[] = [];
    try {
      clients.push(await t.client("bob"));
      const alice = await client(t, "alice", proxy.port, { suites: [suite] });
      clients.push(alice);
      const before = proxy.records();
      const ids = Array.from({ length: 200 }, (_, i) => `p${i}`);
      await Promise.all(ids.map((id) => alice.send(`MESSAGE ${id} bob ${P}`)));
      await alice.until(() => alice.replies.length >= 200, "200 replies");
      assert.deepEqual(alice.replies.splice(0), ids.map((id) => `OK ${id}`));
      const after = proxy.records();
      const sent = after.c2s - before.c2s;
      const replies = after.s2c - before.s2c;
      if (suite === "X25519_AES_GCM") {
        assert.ok(sent <= 4, `200 commands in ${sent} records`);
        assert.ok(replies < 200, `200 replies in ${replies} records`);
      } else {
        assert.equal(sent, 200, "revision 3: one line per record");
        assert.equal(replies, 200);
      }
    } finally {
      for (const c of clients) await c.close();
      proxy.close();
      await t.close();
    }
  });
}

Deno.test("batch: one malformed line in a batch gets FAILED * MALFORMED; its neighbours go through", async () => {
  const t = await startTestServer({ users: ["alice", "bob"] });
  const clients: TestClient[] = [];
  try {
    const alice = await t.client("alice");
    clients.push(alice);
    await Promise.all([
      alice.send(`MESSAGE a1 alice ${P}`),
      alice.send("BOGUS line"),
      alice.send(`MESSAGE a2 alice not-base64!`),
      alice.send(`MESSAGE a3 alice ${P}`),
    ]);
    await alice.until(() => alice.replies.length >= 4, "4 replies");
    assert.deepEqual(alice.replies, [
      "OK a1",
      "FAILED * MALFORMED",
      "FAILED a2 MALFORMED",
      "OK a3",
    ]);
  } finally {
    for (const c of clients) await c.close();
    await t.close();
  }
});

/** Seals `EVIL` as a batch whose middle line is empty (what no honest sender does). */
const emptyLineSender = (cipher: RecordCipher): RecordCipher => {
  const evil = new TextEncoder().encode("EVIL");
  const forged = new TextEncoder().encode(`MESSAGE e1 bob ${P}\n\nMESSAGE e2 bob ${P}`);
  const swap = (p: Uint8Array) =>
    p.length === evil.length && p.every((b, i) => b === evil[i]) ? forged : p;
  return {
    seal: (p, seq) => cipher.seal(swap(p), seq),
    open: (r, seq) => cipher.open(r, seq),
    ...(cipher.sealSync
      ? { sealSync: (p: Uint8Array, seq: number) => cipher.sealSync!(swap(p), seq) }
      : {}),
  };
};

Deno.test("batch: a record with an empty line closes that connection, handles none of it; others are served", async () => {
  const t = await startTestServer({ users: ["alice", "bob", "carol"] });
  const clients: TestClient[] = [];
  try {
    const bob = await t.client("bob");
    const carol = await t.client("carol");
    const alice = await client(t, "alice", t.port, { wrapSendCipher: emptyLineSender });
    clients.push(bob, carol, alice);
    await alice.send("EVIL");
    await alice.waitEnded();
    assert.ok(alice.ended, "the server closed alice's connection");
    assert.deepEqual(alice.replies, [], "nothing answered");
    // Neither forged MESSAGE was handled, and the server still serves everyone else.
    assert.equal(await carol.request(`MESSAGE c1 bob ${P}`), "OK c1");
    const [d] = await bob.deliveriesN(1);
    assert.equal(d?.from, "carol");
    assert.equal(bob.deliveries.length, 0);
  } finally {
    for (const c of clients) await c.close();
    await t.close();
  }
});

Deno.test("batch: acknowledgements sent in one batch are all honoured (nothing comes back)", async () => {
  const t = await startTestServer({ users: ["alice", "bob"] });
  const clients: TestClient[] = [];
  try {
    const alice = await t.client("alice");
    clients.push(alice);
    const bob = await t.client("bob");
    for (let i = 0; i < 50; i++) await alice.send(`MESSAGE k${i} bob ${P}`);
    await alice.until(() => alice.replies.length >= 50, "50 replies");
    alice.replies.splice(0);
    const got = await bob.deliveriesN(50);
    await Promise.all(got.map((d) => bob.send(`OK ${d.sid}`))); // one turn: one batch
    // A marker after the acks: its delivery proves the acks before it were read and handled.
    assert.equal(await alice.request(`MESSAGE mark bob ${P}`), "OK mark");
    const [mark] = await bob.deliveriesN(1);
    await bob.ack([mark!]);
    await bob.close();
    await bob.waitEnded();
    const again = await t.client("bob");
    clients.push(again);
    // A probe after reconnecting: only its own delivery arrives, no redelivery of the 51.
    assert.equal(await alice.request(`MESSAGE probe bob ${P}`), "OK probe");
    const [first] = await again.deliveriesN(1);
    assert.equal(first?.payload, P);
    assert.equal(again.deliveries.length, 0);
    assert.notEqual(first?.sid, mark?.sid);
    assert.ok(!got.some((d) => d.sid === first?.sid));
  } finally {
    for (const c of clients) await c.close();
    await t.close();
  }
});
