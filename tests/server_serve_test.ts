import assert from "node:assert/strict";
import { AslError } from "../lib/asl/mod.ts";
import { connect } from "../lib/asl/mod.ts";
import { startTestServer, TestClient } from "./helpers/server.ts";
import { serve } from "../lib/server/serve.ts";
import { parseCredentials } from "../lib/pki/credentials.ts";
import { makeCert, makeTestPki, testKeys, type TestPki } from "./helpers/pki.ts";
import { writeV1Database } from "./helpers/store_v1.ts";
import { decodeBase64Strict } from "../lib/base64.ts";

const USERS = ["alice", "bob", "carol", "dave"];
const P = "aGVsbG8=";

let shared: { dir: string; pki: TestPki } | undefined;
async function pki(): Promise<TestPki> {
  if (shared === undefined) {
    const dir = await Deno.makeTempDir({ prefix: "netsec-pki-" });
    shared = { dir, pki: await makeTestPki(dir, { users: USERS }) };
  }
  return shared.pki;
}

function payload(text: string): string {
  return new TextEncoder().encode(text).toBase64();
}

Deno.test("serve: 1:1 and group delivery, offline delivery after REGISTER, order, acks unanswered", async () => {
  const t = await startTestServer({ pki: await pki() });
  const clients: TestClient[] = [];
  try {
    const alice = await t.client("alice");
    const bob = await t.client("bob");
    const carol = await t.client("carol");
    clients.push(alice, bob, carol);
    assert.equal(await alice.request(`MESSAGE m1 bob ${payload("hi bob")}`), "OK m1");
    const [d1] = await bob.deliveriesN(1);
    assert.equal(d1?.from, "alice");
    assert.equal(d1?.payload, payload("hi bob"));
    await bob.ack([d1!]);
    // A group including the sender: one copy each, distinct sids.
    assert.equal(await alice.request(`MESSAGE g1 {carol,alice,bob} ${P}`), "OK g1");
    const copies = [
      ...(await alice.deliveriesN(1)),
      ...(await bob.deliveriesN(1)),
      ...(await carol.deliveriesN(1)),
    ];
    assert.equal(new Set(copies.map((c) => c.sid)).size, 3);
    for (const [c, d] of [[alice, copies[0]], [bob, copies[1]], [carol, copies[2]]] as const) {
      await c.ack([d!]);
    }
    // dave is known (registered once), then offline: messages wait and arrive in order.
    const dave0 = await t.client("dave");
    await dave0.close();
    await dave0.waitEnded();
    for (let i = 0; i < 20; i++) await alice.send(`MESSAGE o${i} dave ${payload(`n${i}`)}`);
    for (let i = 0; i < 20; i++) assert.equal(await alice.reply(), `OK o${i}`);
    const dave = await t.client("dave");
    clients.push(dave);
    const got = await dave.deliveriesN(20);
    assert.deepEqual(
      got.map((d) => d.payload),
      Array.from({ length: 20 }, (_, i) => payload(`n${i}`)),
    );
    const sids = got.map((d) => Number(d.sid));
    assert.deepEqual([...sids].sort((a, b) => a - b), sids);
    // Acknowledgements of every shape are never answered.
    await dave.ack(got);
    await dave.send("OK 123456789");
    await dave.send("FAILED nope REASON");
    await dave.send("OK");
    assert.equal(await dave.request("REGISTER dave"), "OK dave"); // the next reply is this one
    assert.deepEqual(dave.replies, []);
  } finally {
    for (const c of clients) await c.close();
    await t.close();
  }
});

Deno.test("serve: unacknowledged messages come again with the same sid; newest session wins", async () => {
  const t = await startTestServer({ pki: await pki() });
  const clients: TestClient[] = [];
  try {
    const alice = await t.client("alice");
    const bob1 = await t.client("bob");
    clients.push(alice, bob1);
    for (const id of ["a", "b", "c"]) {
      assert.equal(await alice.request(`MESSAGE ${id} bob ${P}`), `OK ${id}`);
    }
    const first = await bob1.deliveriesN(3);
    await bob1.ack(first.slice(0, 1));
    // A newer session for bob replaces the older one, which is closed without a message.
    const bob2 = await t.client("bob");
    clients.push(bob2);
    await bob1.waitEnded();
    assert.deepEqual(bob1.replies, []);
    const again = await bob2.deliveriesN(2);
    assert.deepEqual(again.map((d) => d.sid), first.slice(1).map((d) => d.sid));
    // Not again within one session.
    assert.equal(await alice.request(`MESSAGE d bob ${P}`), "OK d");
    const [next] = await bob2.deliveriesN(1);
    assert.ok(Number(next?.sid) > Number(first[2]?.sid));
    assert.deepEqual(bob2.deliveries, []);
  } finally {
    for (const c of clients) await c.close();
    await t.close();
  }
});

Deno.test("serve: every reason code over the wire, in the spec's order", async () => {
  const t = await startTestServer({
    pki: await pki(),
    queueMax: 2,
    senderQueueMax: 1,
    rate: { rate: 1, burst: 40 },
  });
  const clients: TestClient[] = [];
  try {
    const bob = await t.client("bob");
    const carol = await t.client("carol");
    await bob.close();
    await carol.close();
    const alice = await t.client("alice", { register: false });
    clients.push(alice);
    const expect = async (line: string, reply: string) =>
      assert.equal(await alice.request(line), reply, line);
    await expect(`MESSAGE m1 bob ${P}`, "FAILED m1 NOT_REGISTERED");
    await expect("REGISTER bob", "FAILED bob NOT_YOUR_ID");
    await expect("HELLO", "FAILED * MALFORMED");
    await expect(`MESSAGE bad.id bob ${P}`, "FAILED * MALFORMED");
    await expect("REGISTER alice", "OK alice");
    await expect("REGISTER alice", "OK alice");
    await expect("REGISTER bob", "FAILED bob ALREADY_REGISTERED");
    await expect(`MESSAGE m1 bob`, "FAILED m1 MALFORMED");
    await expect(`MESSAGE m1 {bob,bob} ${P}`, "FAILED m1 MALFORMED");
    await expect(`MESSAGE m1 bob aGk`, "FAILED m1 MALFORMED");
    await expect(`MESSAGE m1 bob ${"A".repeat(11_112)}`, "FAILED m1 TOO_LARGE");
    const many = Array.from({ length: 101 }, (_, i) => `u${i}`).join(",");
    await expect(`MESSAGE m1 {${many}} ${P}`, "FAILED m1 TOO_MANY_RECIPIENTS");
    await expect(`MESSAGE m1 {bob,ghost} ${P}`, "FAILED m1 UNKNOWN_USER");
    await expect(`MESSAGE m1 bob ${P}`, "OK m1");
    await expect(`MESSAGE m1 {bob} ${P}`, "OK m1"); // a retry: same set, same payload
    await expect(`MESSAGE m1 bob aGk=`, "FAILED m1 DUPLICATE_ID");
    await expect(`MESSAGE m1 {bob,ghost} ${P}`, "FAILED m1 DUPLICATE_ID"); // beats UNKNOWN_USER
    await expect(`MESSAGE m2 bob ${P}`, "FAILED m2 QUEUE_FULL"); // alice -> bob cap is 1
    await expect(`MESSAGE m3 {carol,bob} ${P}`, "FAILED m3 QUEUE_FULL"); // all or nothing
    await expect(`MESSAGE m3 carol ${P}`, "OK m3");
    // Exhaust the rest of the burst: RATE_LIMITED comes before everything but no-id.
    const replies: string[] = [];
    for (let i = 0; i < 40; i++) await alice.send(`MESSAGE r${i} nobody ${P}`);
    for (let i = 0; i < 40; i++) replies.push(await alice.reply());
    assert.ok(replies.includes("FAILED r39 RATE_LIMITED"), replies.join("\n"));
    assert.ok(replies.every((r) => / (UNKNOWN_USER|RATE_LIMITED)$/.test(r)));
    await expect("HELLO", "FAILED * MALFORMED");
    // INTERNAL is covered by tests/server_router_test.ts with a failing store.
  } finally {
    for (const c of clients) await c.close();
    await t.close();
  }
});

Deno.test("serve: a session that does not REGISTER in time is closed", async () => {
  const t = await startTestServer({ pki: await pki(), registerTimeoutMs: 300 });
  const clients: TestClient[] = [];
  try {
    const idle = await t.client("alice", { register: false });
    const active = await t.client("bob");
    clients.push(idle, active);
    await idle.waitEnded(5_000);
    assert.equal(idle.ended, true);
    assert.equal(await active.request("REGISTER bob"), "OK bob");
  } finally {
    for (const c of clients) await c.close();
    await t.close();
  }
});

Deno.test("serve: a client of another CA fails the handshake; the server keeps serving", async () => {
  const t = await startTestServer({ pki: await pki() });
  const clients: TestClient[] = [];
  try {
    const otherCa = await makeCert({
      subject: "CN=Other CA",
      keys: await testKeys("RSA", 20),
      profile: "ca",
    });
    const mallory = await makeCert({
      subject: "CN=mallory",
      keys: await testKeys("RSA", 21),
      issuer: otherCa,
      profile: "client",
    });
    const result = await connect({ hostname: "127.0.0.1", port: t.port }, {
      credentials: await parseCredentials(mallory.pem, mallory.keys.pem),
      trust: (await pki()).trust,
      serverName: "127.0.0.1",
    }).then(() => "connected", (err) => err);
    assert.ok(result instanceof AslError, String(result));
    assert.equal(result.code, "UNKNOWN_CA");
    assert.equal(result.remote, true);
    const alice = await t.client("alice");
    clients.push(alice);
    assert.equal(await alice.request("REGISTER alice"), "OK alice");
  } finally {
    for (const c of clients) await c.close();
    await t.close();
  }
});

Deno.test("serve: connections past max-connections are closed at once", async () => {
  const t = await startTestServer({ pki: await pki(), maxConnections: 1 });
  const clients: TestClient[] = [];
  try {
    clients.push(await t.client("alice"));
    const refused = await TestClient.connect(t.port, await pki(), "bob").then(
      () => "connected",
      (err) => err,
    );
    assert.ok(refused instanceof AslError, String(refused));
    assert.equal(refused.code, "CLOSED");
  } finally {
    for (const c of clients) await c.close();
    await t.close();
  }
});

Deno.test("serve: silent peers hold no handshake slot; busy handshakes take turns", async () => {
  const t = await startTestServer({ pki: await pki(), maxHandshakes: 2, handshakeTimeoutMs: 3000 });
  const clients: TestClient[] = [];
  let raw: Deno.TcpConn | undefined;
  let raw2: Deno.TcpConn | undefined;
  try {
    // Two connections that never speak (as many as there are slots) must not hold the
    // slots: slots bound only the expensive work. The genuine clients take turns on them
    // and finish (before the fix they waited for the silent ones and got TIMEOUT).
    raw = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    raw2 = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    const others = await Promise.all(USERS.map((u) => t.client(u)));
    clients.push(...others);
    for (const c of others) assert.equal(await c.request(`REGISTER ${c.user}`), `OK ${c.user}`);
  } finally {
    raw?.close();
    raw2?.close();
    for (const c of clients) await c.close();
    await t.close();
  }
});

Deno.test("serve: a silent peer gets TIMEOUT", async () => {
  const t = await startTestServer({ pki: await pki(), maxHandshakes: 2, handshakeTimeoutMs: 200 });
  let raw: Deno.TcpConn | undefined;
  try {
    raw = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    const buf = new Uint8Array(64);
    let text = "";
    for (let i = 0; i < 10 && !text.endsWith("\n\n"); i++) {
      const n = await raw.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    assert.equal(text, "ASL_ERROR TIMEOUT\n\n");
  } finally {
    raw?.close();
    await t.close();
  }
});

for (const storeThread of ["main", "worker"] as const) {
  Deno.test(`serve: close() finishes commits; the database keeps everything for a restart (store on ${storeThread})`, async () => {
    const p = await pki();
    const dir = await Deno.makeTempDir();
    try {
      const dataPath = `${dir}/keep.db`;
      const t1 = await startTestServer({ pki: p, dataPath, storeThread });
      const bob = await t1.client("bob");
      await bob.close();
      const alice = await t1.client("alice");
      for (let i = 0; i < 10; i++) await alice.send(`MESSAGE k${i} bob ${P}`);
      for (let i = 0; i < 10; i++) assert.equal(await alice.reply(), `OK k${i}`);
      await t1.close();
      await alice.waitEnded();
      const t2 = await startTestServer({ pki: p, dataPath, storeThread });
      try {
        const bob2 = await t2.client("bob");
        const got = await bob2.deliveriesN(10);
        assert.equal(new Set(got.map((d) => d.sid)).size, 10);
        const alice2 = await t2.client("alice");
        assert.equal(await alice2.request(`MESSAGE k3 bob ${P}`), "OK k3"); // remembered id
        assert.equal(await alice2.request(`MESSAGE k3 bob aGk=`), "FAILED k3 DUPLICATE_ID");
        await alice2.close();
        await bob2.close();
      } finally {
        await t2.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

addEventListener("unload", () => {
  if (shared) Deno.removeSync(shared.dir, { recursive: true });
});

Deno.test("serve: acknowledgements received before a clean shutdown are committed by it", async () => {
  const p = await pki();
  const dir = await Deno.makeTempDir();
  try {
    const dataPath = `${dir}/acks.db`;
    const t1 = await startTestServer({ pki: p, dataPath });
    const bob = await t1.client("bob");
    const alice = await t1.client("alice");
    for (let i = 0; i < 5; i++) {
      assert.equal(await alice.request(`MESSAGE a${i} bob ${P}`), `OK a${i}`);
    }
    const got = await bob.deliveriesN(5);
    await bob.ack(got);
    // Commands are handled in order: once this is answered, the server has every ack, and
    // acks wait (up to 20 ms) for company before their commit.
    assert.equal(await bob.request("REGISTER bob"), "OK bob");
    await t1.close();
    await bob.waitEnded();
    await alice.waitEnded();
    const t2 = await startTestServer({ pki: p, dataPath });
    try {
      const bob2 = await t2.client("bob");
      // A message sent now is delivered after anything still queued for bob: if it is the
      // first delivery, none of the acknowledged five came back.
      const alice2 = await t2.client("alice");
      assert.equal(await alice2.request(`MESSAGE probe bob ${payload("probe")}`), "OK probe");
      const [first] = await bob2.deliveriesN(1);
      assert.equal(first?.payload, payload("probe"));
      assert.deepEqual(bob2.deliveries, []);
      await alice2.close();
      await bob2.close();
    } finally {
      await t2.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The chain of an `OK <user> <CERTB64>...` reply, as DER; fails the test on anything else. */
function chainOf(reply: string, user: string): Uint8Array[] {
  const [ok, id, ...certs] = reply.split(" ");
  assert.equal(`${ok} ${id}`, `OK ${user}`, reply);
  assert.ok(certs.length >= 1 && certs.length <= 5, reply);
  return certs.map((text) => {
    const der = decodeBase64Strict(text);
    assert.ok(der !== undefined, `not strict base64: ${text}`);
    return der;
  });
}

for (const storeThread of ["main", "worker"] as const) {
  Deno.test(`serve: CERT answers the exact DER chain a user registered with, also after a restart (store on ${storeThread})`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      // With an intermediate CA, so that a chain has two certificates.
      const p = await makeTestPki(`${dir}/pki`, { users: ["alice", "bob"], intermediate: true });
      const dataPath = `${dir}/certs.db`;
      const t1 = await startTestServer({ pki: p, dataPath, storeThread });
      try {
        const alice = await t1.client("alice");
        const bob = await t1.client("bob");
        const got = chainOf(await bob.request("CERT alice"), "alice");
        assert.equal(got.length, 2);
        assert.deepEqual(got, p.chain("alice"));
        assert.deepEqual(chainOf(await alice.request("CERT bob"), "bob"), p.chain("bob"));
        assert.deepEqual(chainOf(await alice.request("CERT alice"), "alice"), p.chain("alice"));
        await alice.close();
        await bob.close();
      } finally {
        await t1.close();
      }
      const t2 = await startTestServer({ pki: p, dataPath, storeThread });
      try {
        const bob = await t2.client("bob"); // alice stays offline
        assert.deepEqual(chainOf(await bob.request("CERT alice"), "alice"), p.chain("alice"));
        await bob.close();
      } finally {
        await t2.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("serve: CERT's reasons over the wire, in the spec's order", async () => {
  const t = await startTestServer({ pki: await pki(), rate: { rate: 1, burst: 12 } });
  const clients: TestClient[] = [];
  try {
    const carol = await t.client("carol", { register: false });
    clients.push(carol);
    const expect = async (line: string, reply: string) =>
      assert.equal(await carol.request(line), reply, line);
    await expect("CERT carol", "FAILED carol NOT_REGISTERED");
    await expect("CERT carol dave", "FAILED carol NOT_REGISTERED");
    await expect("CERT", "FAILED * MALFORMED");
    await expect("REGISTER carol", "OK carol");
    await expect("CERT", "FAILED * MALFORMED");
    await expect("CERT bad-id!", "FAILED * MALFORMED");
    await expect("CERT a b", "FAILED a MALFORMED");
    await expect("CERT ghost", "FAILED ghost UNKNOWN_USER");
    assert.deepEqual(
      chainOf(await carol.request("CERT carol"), "carol"),
      (await pki()).chain("carol"),
    );
    // The rest of the burst: CERT counts like any command.
    const replies: string[] = [];
    for (let i = 0; i < 12; i++) await carol.send("CERT ghost");
    for (let i = 0; i < 12; i++) replies.push(await carol.reply());
    assert.equal(replies.at(-1), "FAILED ghost RATE_LIMITED", replies.join("\n"));
    assert.ok(replies.every((r) => / (UNKNOWN_USER|RATE_LIMITED)$/.test(r)));
    await expect("CERT", "FAILED * MALFORMED"); // no id beats RATE_LIMITED
  } finally {
    for (const c of clients) await c.close();
    await t.close();
  }
});

Deno.test("serve: a database from before recorded chains opens; its users answer NO_CERTIFICATE until they register", async () => {
  const p = await pki();
  const dir = await Deno.makeTempDir();
  try {
    const dataPath = `${dir}/v1.db`;
    writeV1Database(dataPath, ["alice", "bob"], [
      { sid: 7, recipient: "bob", sender: "alice", payload: P },
    ]);
    const t = await startTestServer({ pki: p, dataPath });
    try {
      const carol = await t.client("carol");
      assert.equal(await carol.request("CERT alice"), "FAILED alice NO_CERTIFICATE");
      assert.equal(await carol.request("CERT bob"), "FAILED bob NO_CERTIFICATE");
      const bob = await t.client("bob");
      assert.deepEqual(await bob.deliveriesN(1), [{ sid: "7", from: "alice", payload: P }]);
      assert.deepEqual(chainOf(await carol.request("CERT bob"), "bob"), p.chain("bob"));
      assert.equal(await carol.request("CERT alice"), "FAILED alice NO_CERTIFICATE");
      await bob.close();
      await carol.close();
    } finally {
      await t.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve: 100 deliveries in flight; one acknowledgement brings the 101st without more", async () => {
  const t = await startTestServer({ pki: await pki() });
  const clients: TestClient[] = [];
  try {
    const bob = await t.client("bob");
    const alice = await t.client("alice");
    clients.push(bob, alice);
    for (let i = 0; i < 150; i++) await alice.send(`MESSAGE w${i} bob ${P}`);
    for (let i = 0; i < 150; i++) assert.equal(await alice.reply(), `OK w${i}`);
    const window = await bob.deliveriesN(100);
    // A round trip on bob's session: whatever the server sent bob before it is in, and it
    // holds back the rest (the window is full).
    const roundTrip = async () => assert.match(await bob.request("CERT bob"), /^OK bob /);
    await roundTrip();
    assert.deepEqual(bob.deliveries, []);
    await bob.ack(window.slice(0, 1)); // one slot free, no further acknowledgement
    const [next] = await bob.deliveriesN(1);
    assert.equal(Number(next?.sid), Number(window[99]?.sid) + 1);
    await roundTrip();
    assert.deepEqual(bob.deliveries, []); // one freed slot, one delivery
  } finally {
    for (const c of clients) await c.close();
    await t.close();
  }
});

Deno.test("serve: once close() resolves, the port can be bound again at once", async () => {
  const p = await pki();
  const dir = await Deno.makeTempDir();
  const options = {
    hostname: "127.0.0.1",
    credentials: await p.credentials("server"),
    trust: p.trust,
    dataPath: `${dir}/db.sqlite`,
  };
  try {
    const first = await serve({ ...options, port: 0 });
    const port = first.addr.port;
    await first.close();
    // No await in between that could give the runtime a turn to release the socket.
    const second = await serve({ ...options, port });
    assert.equal(second.addr.port, port);
    await second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
