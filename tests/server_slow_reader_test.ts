// A slow reader against the real server (ASL spec section 5, back-pressure): a client that
// stops reading while it floods itself is paused and bounded, others keep talking. It pushes
// 16 MB through loopback TCP to fill the kernel's buffers, so it is one of the slow tests
// (`deno task test`, not `test:unit`); tests/server_router_test.ts checks the same bound
// in-process.

import assert from "node:assert/strict";
import { connect } from "../lib/asl/mod.ts";
import { type Delivery, startTestServer, type TestClient } from "./helpers/server.ts";
import { makeTestPki } from "./helpers/pki.ts";
import { FreezableConn } from "../tools/load/faults.ts";

const P = "aGVsbG8=";

Deno.test("serve: a slow reader is paused and bounded; others keep talking", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netsec-pki-" });
  const p = await makeTestPki(dir, { users: ["alice", "bob", "carol"] });
  // A window and caps large enough that carol's own deliveries (11 KB each) exceed what the
  // kernel buffers take, so the unread-output bound is what holds her output back.
  const t = await startTestServer({
    pki: p,
    rate: { rate: 0, burst: 0 },
    inflight: 5000,
    queueMax: 100_000,
    senderQueueMax: 100_000,
  }).catch(async (err) => {
    await Deno.remove(dir, { recursive: true });
    throw err;
  });
  const clients: TestClient[] = [];
  let sloth: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    const conn = new FreezableConn(await Deno.connect({ hostname: "127.0.0.1", port: t.port }));
    sloth = await connect(conn, {
      credentials: await p.credentials("carol"),
      trust: p.trust,
      serverName: "127.0.0.1",
    });
    const it = sloth[Symbol.asyncIterator]();
    await sloth.send("REGISTER carol");
    assert.deepEqual(await it.next(), { value: "OK carol", done: false });
    const alice = await t.client("alice");
    const bob = await t.client("bob");
    clients.push(alice, bob);

    conn.freeze(); // from now on carol reads nothing
    const big = "A".repeat(11_108);
    const N = 1500; // 16 MB of self-deliveries: more than the kernel buffers hold
    for (let i = 0; i < N; i++) sloth.send(`MESSAGE s${i} carol ${big}`).catch(() => {});
    // Wait until the server's output to carol is stuck: nothing more delivered or accepted
    // for a second, over half the bound unread.
    let maxUnread = 0;
    let last = "";
    let steady = 0;
    for (let i = 0; i < 600 && steady < 20; i++) {
      const s = t.server.stats();
      maxUnread = Math.max(maxUnread, s.unreadBytes);
      const now = `${s.delivered}/${s.accepted}`;
      steady = now === last && s.unreadBytes > (1 << 19) ? steady + 1 : 0;
      last = now;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(steady, 20, "the output to carol never stalled");
    const stuck = t.server.stats();
    assert.ok(stuck.delivered < N, `delivered ${stuck.delivered}`); // the rest waits
    // Now carol's further commands are not read: nothing reaches bob from her...
    for (let i = 0; i < 20; i++) sloth.send(`MESSAGE c${i} bob ${P}`).catch(() => {});
    // ...while alice and bob keep talking.
    for (let round = 0; round < 50; round++) {
      assert.equal(await alice.request(`MESSAGE r${round} bob ${P}`), `OK r${round}`);
      const [d] = await bob.deliveriesN(1);
      assert.equal(d?.from, "alice");
      await bob.ack([d as Delivery]);
      maxUnread = Math.max(maxUnread, t.server.stats().unreadBytes);
    }
    assert.equal(t.server.stats().accepted, stuck.accepted + 50);
    assert.ok(maxUnread <= (1 << 20) + 3 * 11_300, `unread ${maxUnread}`);
    // Once carol reads again, the server resumes: her messages to bob arrive.
    conn.thaw();
    (async () => {
      for await (const _ of { [Symbol.asyncIterator]: () => it }) {
        // drain carol's replies and deliveries
      }
    })();
    const fromCarol = await bob.deliveriesN(20, 30_000);
    assert.ok(fromCarol.every((d) => d.from === "carol"));
  } finally {
    for (const c of clients) await c.close();
    await sloth?.close();
    await t.close();
    await Deno.remove(dir, { recursive: true });
  }
});
