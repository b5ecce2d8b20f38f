// Crash durability (ASL spec section 5: `OK` means stored durably): a server.ts child process
// is killed with SIGKILL while several senders stream; after a restart on the same database
// every message that got OK is delivered, each exactly once by sid.

import assert from "node:assert/strict";
import { type ChildServer, spawnServer, TestClient } from "./helpers/server.ts";
import { makeTestPki } from "./helpers/pki.ts";

const SENDERS = ["s0", "s1", "s2", "s3"];
const RECIPIENT = "rcv";
const WINDOW = 40; // commands in flight per sender

function payloadOf(sender: string, id: string): string {
  return new TextEncoder().encode(`${sender}/${id}/${"x".repeat(60)}`).toBase64();
}

/** Streams MESSAGEs m0, m1, … until stopped or the connection dies; records what got OK. */
async function stream(
  client: TestClient,
  sent: string[],
  oked: Set<string>,
  stop: { now: boolean },
): Promise<void> {
  let next = 0;
  let answered = 0;
  try {
    while (!stop.now && !client.ended) {
      while (next - answered < WINDOW && !stop.now) {
        const id = `m${next++}`;
        sent.push(id);
        await client.send(`MESSAGE ${id} ${RECIPIENT} ${payloadOf(client.user, id)}`);
      }
      const reply = await client.reply(5_000);
      answered++;
      const ok = /^OK (m[0-9]+)$/.exec(reply);
      assert.ok(ok, reply);
      oked.add(ok[1] ?? "");
    }
  } catch {
    // The server was killed: the stream ends here.
  }
}

Deno.test("crash: every OK'd message survives SIGKILL and is delivered exactly once by sid", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netsec-crash-" });
  let child: ChildServer | undefined;
  const clients: TestClient[] = [];
  try {
    const pki = await makeTestPki(`${dir}/pki`, { users: [...SENDERS, RECIPIENT] });
    const dataPath = `${dir}/crash.db`;
    const args = ["--rate", "0"];
    child = await spawnServer({ pki, dataPath, args });

    // The recipient is online and acknowledges as it goes; it keeps every sid it saw.
    const bySid = new Map<string, string>(); // sid -> "sender/id"
    const rcv1 = await TestClient.connect(child.port, pki, RECIPIENT);
    clients.push(rcv1);
    const senders = await Promise.all(SENDERS.map((s) => TestClient.connect(child!.port, pki, s)));
    clients.push(...senders);
    const sent = new Map(SENDERS.map((s) => [s, [] as string[]]));
    const oked = new Map(SENDERS.map((s) => [s, new Set<string>()]));
    const stop = { now: false };
    const streams = senders.map((c) => stream(c, sent.get(c.user)!, oked.get(c.user)!, stop));
    const record = (d: { sid: string; from: string; payload: string }) => {
      const key = new TextDecoder().decode(Uint8Array.fromBase64(d.payload)).split("/")
        .slice(0, 2).join("/");
      assert.equal(key.split("/")[0], d.from);
      const before = bySid.get(d.sid);
      if (before !== undefined) assert.equal(before, key, `sid ${d.sid} reused`);
      bySid.set(d.sid, key);
    };
    const acking = (async () => {
      while (!rcv1.ended) {
        try {
          await rcv1.until(() => rcv1.deliveries.length > 0, "deliveries", 2_000);
        } catch {
          continue;
        }
        const batch = rcv1.deliveries.splice(0);
        batch.forEach(record);
        await rcv1.ack(batch).catch(() => {});
      }
    })();

    // Let the senders stream until a good number of messages got OK, then kill the server.
    const total = () => [...oked.values()].reduce((n, s) => n + s.size, 0);
    const deadline = Date.now() + 30_000;
    while (total() < 400 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(total() >= 400, `only ${total()} OK before the deadline`);
    child.kill("SIGKILL");
    const status = await child.status;
    assert.equal(status.signal, "SIGKILL");
    stop.now = true;
    await Promise.all(streams);
    await acking;
    for (const c of clients.splice(0)) await c.close();
    const okBeforeCrash = new Map([...oked].map(([s, set]) => [s, new Set(set)]));

    // Restart on the same database.
    child = await spawnServer({ pki, dataPath, args });
    // Senders retry everything they sent without an OK: same id, same payload.
    for (const s of SENDERS) {
      const c = await TestClient.connect(child.port, pki, s);
      clients.push(c);
      const retry = (sent.get(s) ?? []).filter((id) => !okBeforeCrash.get(s)?.has(id));
      for (const id of retry) await c.send(`MESSAGE ${id} ${RECIPIENT} ${payloadOf(s, id)}`);
      for (const id of retry) assert.equal(await c.reply(), `OK ${id}`);
    }
    // Every message was sent and OK'd once now; the recipient must see each exactly once.
    const expected = new Set(SENDERS.flatMap((s) => (sent.get(s) ?? []).map((id) => `${s}/${id}`)));
    const rcv2 = await TestClient.connect(child.port, pki, RECIPIENT);
    clients.push(rcv2);
    const seen = () => new Set(bySid.values());
    const until = Date.now() + 60_000;
    while (seen().size < expected.size && Date.now() < until) {
      try {
        await rcv2.until(() => rcv2.deliveries.length > 0, "deliveries", 2_000);
      } catch {
        continue;
      }
      const batch = rcv2.deliveries.splice(0);
      batch.forEach(record);
      await rcv2.ack(batch);
    }
    // Each (sender, id) under exactly one sid, and every OK'd one present.
    const keys = [...bySid.values()];
    assert.equal(new Set(keys).size, keys.length, "a message was delivered under two sids");
    for (const [s, ids] of okBeforeCrash) {
      for (const id of ids) assert.ok(seen().has(`${s}/${id}`), `lost ${s}/${id} after OK`);
    }
    assert.equal(seen().size, expected.size);
    assert.deepEqual([...seen()].sort(), [...expected].sort());
    // Nothing more arrives: all acknowledged, nothing duplicated.
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(rcv2.deliveries.filter((d) => !bySid.has(d.sid)), []);
  } finally {
    for (const c of clients) await c.close().catch(() => {});
    if (child) {
      child.kill("SIGKILL");
      await child.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
});
