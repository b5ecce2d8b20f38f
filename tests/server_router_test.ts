import assert from "node:assert/strict";
import { type ClientSession, Router, type RouterOptions } from "../lib/server/router.ts";
import type { StoreOp } from "../lib/server/store.ts";
import { MemoryStore } from "../lib/server/store_memory.ts";

const P = "aGVsbG8=";

/** A connection as the router sees it: records what it was sent. */
class FakePort {
  lines: string[] = [];
  closed = false;
  /** When set, sends stay unsettled (a peer that does not read). */
  stalled = false;
  #release: (() => void)[] = [];
  /** Stands in for the certificate chain presented in the handshake. */
  readonly chain: readonly Uint8Array[];
  constructor(readonly identity: string, chain?: readonly Uint8Array[]) {
    this.chain = chain ?? [new TextEncoder().encode(`leaf of ${identity}`)];
  }
  send(line: string): Promise<void> {
    this.lines.push(line);
    if (!this.stalled) return Promise.resolve();
    return new Promise((resolve) => this.#release.push(resolve));
  }
  close(): void {
    this.closed = true;
  }
  releaseAll(): void {
    for (const r of this.#release.splice(0)) r();
  }
  take(): string[] {
    return this.lines.splice(0);
  }
}

interface Client {
  port: FakePort;
  session: ClientSession;
}

async function setup(options: RouterOptions = {}, store = new MemoryStore()) {
  const router = await Router.create(store, { registerTimeoutMs: 60_000, ...options });
  const clients: Client[] = [];
  const connect = (cn: string, chain?: readonly Uint8Array[]): Client => {
    const port = new FakePort(cn, chain);
    const client = { port, session: router.open(port) };
    clients.push(client);
    return client;
  };
  const settle = async () => {
    for (let i = 0; i < 5; i++) {
      await router.idle();
      await new Promise((r) => setTimeout(r, 0));
    }
  };
  const send = async (c: Client, ...lines: string[]) => {
    for (const line of lines) c.session.receive(line);
    await settle();
    return c.port.take();
  };
  const registered = async (cn: string, chain?: readonly Uint8Array[]) => {
    const c = connect(cn, chain);
    assert.deepEqual(await send(c, `REGISTER ${cn}`), [`OK ${cn}`]);
    return c;
  };
  const stop = async () => {
    for (const c of clients) c.session.end();
    await router.close();
  };
  return { router, connect, send, settle, registered, stop, store };
}

Deno.test("router: REGISTER binds to the certificate CN, idempotent, ALREADY_REGISTERED first", async () => {
  const t = await setup();
  try {
    const a = t.connect("alice");
    assert.deepEqual(await t.send(a, "REGISTER bob"), ["FAILED bob NOT_YOUR_ID"]);
    assert.deepEqual(await t.send(a, "MESSAGE m1 alice " + P), ["FAILED m1 NOT_REGISTERED"]);
    assert.deepEqual(await t.send(a, "REGISTER alice"), ["OK alice"]);
    assert.deepEqual(await t.send(a, "REGISTER alice"), ["OK alice"]);
    // Another id: ALREADY_REGISTERED is checked before NOT_YOUR_ID.
    assert.deepEqual(await t.send(a, "REGISTER bob"), ["FAILED bob ALREADY_REGISTERED"]);
    assert.deepEqual(await t.send(a, "REGISTER alice x"), ["FAILED alice MALFORMED"]);
    assert.deepEqual(await t.send(a, "REGISTER"), ["FAILED * MALFORMED"]);
    assert.deepEqual(await t.send(a, "NOPE x"), ["FAILED * MALFORMED"]);
    assert.equal(t.router.stats.knownUsers, 1);
  } finally {
    await t.stop();
  }
});

Deno.test("router: 1:1 delivery after the sender's OK, acks never answered", async () => {
  const t = await setup();
  try {
    const alice = await t.registered("alice");
    const bob = await t.registered("bob");
    assert.deepEqual(await t.send(alice, `MESSAGE m1 bob ${P}`), ["OK m1"]);
    const [delivery, ...rest] = bob.port.take();
    assert.deepEqual(rest, []);
    const match = /^MESSAGE ([1-9][0-9]*) alice aGVsbG8=$/.exec(delivery ?? "");
    assert.ok(match, delivery);
    const sid = match[1];
    assert.deepEqual(await t.send(bob, `OK ${sid}`, "OK 999", "OK", "FAILED x!", `OK ${sid}`), []);
    assert.equal(t.router.stats.queued, 0);
    assert.equal(t.router.stats.acked, 1);
    assert.deepEqual(alice.port.take(), []);
  } finally {
    await t.stop();
  }
});

Deno.test("router: pipelined commands are answered in order", async () => {
  const t = await setup();
  try {
    const alice = t.connect("alice");
    const replies = await t.send(
      alice,
      "MESSAGE m0 alice " + P,
      "REGISTER alice",
      "MESSAGE m1 alice " + P,
      "MESSAGE m1 alice " + P,
      "MESSAGE m2 nobody " + P,
      "BAD",
      "MESSAGE m3 alice x",
      "MESSAGE m1 alice aGk=",
    );
    const replyLines = replies.filter((l) => !l.startsWith("MESSAGE "));
    assert.deepEqual(replyLines, [
      "FAILED m0 NOT_REGISTERED",
      "OK alice",
      "OK m1",
      "OK m1",
      "FAILED m2 UNKNOWN_USER",
      "FAILED * MALFORMED",
      "FAILED m3 MALFORMED",
      "FAILED m1 DUPLICATE_ID",
    ]);
    // A message to oneself is delivered once, after its OK.
    const deliveries = replies.filter((l) => l.startsWith("MESSAGE "));
    assert.equal(deliveries.length, 1);
    assert.ok(replies.indexOf(deliveries[0] ?? "") > replies.indexOf("OK m1"));
  } finally {
    await t.stop();
  }
});

Deno.test("router: groups are all-or-nothing and include the sender when named", async () => {
  const t = await setup();
  try {
    const alice = await t.registered("alice");
    const bob = await t.registered("bob");
    const carol = await t.registered("carol");
    assert.deepEqual(await t.send(alice, `MESSAGE g1 {bob,ghost,carol} ${P}`), [
      "FAILED g1 UNKNOWN_USER",
    ]);
    assert.deepEqual(bob.port.take(), []);
    assert.deepEqual(carol.port.take(), []);
    assert.equal(t.router.stats.queued, 0);
    // The failed id may be used again.
    const replies = await t.send(alice, `MESSAGE g1 {carol,alice,bob} ${P}`);
    assert.equal(replies[0], "OK g1");
    assert.equal(replies.length, 2); // OK + own copy
    const sids = [replies[1], bob.port.take()[0], carol.port.take()[0]].map((l) =>
      l?.split(" ")[1]
    );
    assert.equal(new Set(sids).size, 3); // one sid per recipient
    // bob and {bob} are the same recipient set for a retry.
    assert.deepEqual(await t.send(alice, `MESSAGE r1 bob ${P}`), ["OK r1"]);
    assert.deepEqual(await t.send(alice, `MESSAGE r1 {bob} ${P}`), ["OK r1"]);
    assert.equal(bob.port.take().length, 1);
  } finally {
    await t.stop();
  }
});

Deno.test("router: offline delivery after REGISTER's OK, in order, redelivered with the same sid", async () => {
  const t = await setup();
  try {
    const bob0 = await t.registered("bob");
    bob0.session.end();
    const alice = await t.registered("alice");
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await t.send(alice, `MESSAGE m${i} bob ${P}`), [`OK m${i}`]);
    }
    const bob1 = t.connect("bob");
    const first = await t.send(bob1, "REGISTER bob");
    assert.equal(first[0], "OK bob");
    const sids = first.slice(1).map((l) => Number(l.split(" ")[1]));
    assert.equal(sids.length, 5);
    assert.deepEqual([...sids].sort((a, b) => a - b), sids);
    // Acknowledge two, reconnect: the other three come again with their sids.
    await t.send(bob1, `OK ${sids[0]}`, `FAILED ${sids[1]} NOPE`);
    bob1.session.end();
    const bob2 = t.connect("bob");
    const again = await t.send(bob2, "REGISTER bob");
    assert.deepEqual(again.slice(1).map((l) => Number(l.split(" ")[1])), sids.slice(2));
  } finally {
    await t.stop();
  }
});

Deno.test("router: the newest session wins and takes over unacknowledged messages", async () => {
  const t = await setup();
  try {
    const alice = await t.registered("alice");
    const bob1 = await t.registered("bob");
    await t.send(alice, `MESSAGE m1 bob ${P}`);
    const d1 = bob1.port.take();
    assert.equal(d1.length, 1);
    const bob2 = t.connect("bob");
    const r = await t.send(bob2, "REGISTER bob");
    assert.equal(bob1.port.closed, true);
    assert.deepEqual(bob1.port.take(), []); // closed without a message
    assert.deepEqual(r, ["OK bob", d1[0]]);
    await t.send(alice, `MESSAGE m2 bob ${P}`);
    assert.equal(bob2.port.take().length, 1);
    assert.equal(t.router.stats.online, 2);
  } finally {
    await t.stop();
  }
});

Deno.test("router: at most `inflight` unacknowledged deliveries per session", async () => {
  const t = await setup({ inflight: 4 });
  try {
    const alice = await t.registered("alice");
    const bob = await t.registered("bob");
    const lines = Array.from({ length: 10 }, (_, i) => `MESSAGE m${i} bob ${P}`);
    assert.equal((await t.send(alice, ...lines)).length, 10);
    let got = bob.port.take();
    assert.equal(got.length, 4);
    const all: string[] = [...got];
    for (let round = 0; round < 10 && all.length < 10; round++) {
      got = await t.send(bob, ...got.map((l) => `OK ${l.split(" ")[1]}`));
      assert.ok(got.length <= 4);
      all.push(...got);
    }
    assert.equal(all.length, 10);
    const sids = all.map((l) => Number(l.split(" ")[1]));
    assert.deepEqual([...sids].sort((a, b) => a - b), sids);
    assert.equal(new Set(sids).size, 10);
  } finally {
    await t.stop();
  }
});

Deno.test("router: QUEUE_FULL per recipient and per sender-recipient, nothing queued", async () => {
  const t = await setup({ queueMax: 3, senderQueueMax: 2 });
  try {
    const alice = await t.registered("alice");
    const carol = await t.registered("carol");
    const bob = await t.registered("bob");
    bob.session.end();
    assert.deepEqual(
      await t.send(alice, `MESSAGE a1 bob ${P}`, `MESSAGE a2 bob ${P}`, `MESSAGE a3 bob ${P}`),
      ["OK a1", "OK a2", "FAILED a3 QUEUE_FULL"],
    );
    assert.deepEqual(await t.send(carol, `MESSAGE c1 bob ${P}`, `MESSAGE c2 bob ${P}`), [
      "OK c1",
      "FAILED c2 QUEUE_FULL",
    ]);
    // A group with one full member fails as a whole.
    assert.deepEqual(await t.send(carol, `MESSAGE g {alice,bob} ${P}`), ["FAILED g QUEUE_FULL"]);
    assert.deepEqual(alice.port.take(), []);
    // UNKNOWN_USER beats QUEUE_FULL.
    assert.deepEqual(await t.send(carol, `MESSAGE g {bob,zz} ${P}`), ["FAILED g UNKNOWN_USER"]);
    // A retry of an accepted message is still OK even though the queue is full.
    assert.deepEqual(await t.send(alice, `MESSAGE a1 bob ${P}`), ["OK a1"]);
    assert.equal(t.router.stats.queued, 3);
  } finally {
    await t.stop();
  }
});

Deno.test("router: RATE_LIMITED per USERID across sessions, per session before REGISTER", async () => {
  let now = 1_000_000;
  const t = await setup({ rate: { rate: 1, burst: 3 }, now: () => now });
  try {
    const anon = t.connect("alice");
    // Before REGISTER: the session's own bucket; RATE_LIMITED beats NOT_REGISTERED, not no-id.
    assert.deepEqual(
      await t.send(
        anon,
        `MESSAGE a bob ${P}`,
        "BAD",
        `MESSAGE b bob ${P}`,
        `MESSAGE c bob ${P}`,
        "BAD",
      ),
      [
        "FAILED a NOT_REGISTERED",
        "FAILED * MALFORMED",
        "FAILED b NOT_REGISTERED",
        "FAILED c RATE_LIMITED",
        "FAILED * MALFORMED",
      ],
    );
    assert.deepEqual(await t.send(anon, "REGISTER alice"), ["FAILED alice RATE_LIMITED"]);
    now += 1000;
    assert.deepEqual(await t.send(anon, "REGISTER alice"), ["OK alice"]);
    // Three tokens for alice as a user: two spent here, one below.
    assert.deepEqual(await t.send(anon, `MESSAGE m1 alice x`, `MESSAGE m2 alice x`), [
      "FAILED m1 MALFORMED",
      "FAILED m2 MALFORMED",
    ]);
    // A second session of alice: its REGISTER uses its own session bucket, then the
    // per-USERID bucket is shared (one token left).
    const again = t.connect("alice");
    assert.deepEqual(
      await t.send(again, "REGISTER alice", `MESSAGE m3 alice x`, `MESSAGE m4 alice x`),
      ["OK alice", "FAILED m3 MALFORMED", "FAILED m4 RATE_LIMITED"],
    );
  } finally {
    await t.stop();
  }
});

Deno.test("router: a session that does not REGISTER in time is closed", async () => {
  const t = await setup({ registerTimeoutMs: 50 });
  try {
    const late = t.connect("alice");
    const ontime = t.connect("bob");
    await t.send(ontime, "REGISTER bob");
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(late.port.closed, true);
    assert.equal(ontime.port.closed, false);
  } finally {
    await t.stop();
  }
});

Deno.test("router: reading pauses past the unread-output bound and resumes when drained", async () => {
  const t = await setup({ maxUnreadBytes: 4096, rate: { rate: 0, burst: 0 } });
  try {
    const alice = await t.registered("alice");
    alice.port.stalled = true;
    let n = 0;
    while (!alice.session.mustPause && n < 1000) {
      alice.session.receive(`MESSAGE m${n++} alice ${"A".repeat(400)}`);
      await t.settle();
    }
    assert.ok(alice.session.mustPause, "the bound was reached");
    assert.ok(n < 1000);
    let resumed = false;
    const drained = alice.session.drained().then(() => (resumed = true));
    await t.settle();
    assert.equal(resumed, false);
    alice.port.releaseAll();
    await drained;
    assert.equal(alice.session.mustPause, false);
  } finally {
    await t.stop();
  }
});

Deno.test("router: counts survive a restart on the same store", async () => {
  const store = new MemoryStore();
  const t = await setup({ queueMax: 2 }, store);
  const alice = await t.registered("alice");
  const bob = await t.registered("bob");
  bob.session.end();
  await t.send(alice, `MESSAGE m1 bob ${P}`, `MESSAGE m2 bob ${P}`);
  alice.session.end();
  await t.router.idle();
  // Restart on the same (memory) store without closing it.
  const t2 = await setup({ queueMax: 2 }, store);
  try {
    const alice2 = await t2.registered("alice");
    assert.deepEqual(await t2.send(alice2, `MESSAGE m3 bob ${P}`, `MESSAGE m1 bob ${P}`), [
      "FAILED m3 QUEUE_FULL",
      "OK m1",
    ]);
    const bob2 = t2.connect("bob");
    const got = await t2.send(bob2, "REGISTER bob");
    assert.equal(got.length, 3);
  } finally {
    await t2.stop();
  }
});

/** A MemoryStore whose next batches fail while `failing` is set. */
class FlakyStore extends MemoryStore {
  failing = false;
  override apply(...args: Parameters<MemoryStore["apply"]>) {
    return this.failing ? Promise.reject(new Error("disk on fire")) : super.apply(...args);
  }
}

Deno.test("router: a failed commit answers INTERNAL and keeps nothing; the next succeeds", async () => {
  const store = new FlakyStore();
  const t = await setup({}, store);
  try {
    const alice = await t.registered("alice");
    const bob = await t.registered("bob");
    store.failing = true;
    assert.deepEqual(await t.send(alice, `MESSAGE m1 bob ${P}`, `MESSAGE m2 bob ${P}`), [
      "FAILED m1 INTERNAL",
      "FAILED m2 INTERNAL",
    ]);
    assert.deepEqual(bob.port.take(), []);
    assert.equal(t.router.stats.queued, 0);
    const carol = t.connect("carol");
    assert.deepEqual(await t.send(carol, "REGISTER carol"), ["FAILED carol INTERNAL"]);
    assert.equal(carol.port.closed, true);
    store.failing = false;
    assert.deepEqual(await t.send(alice, `MESSAGE m1 bob ${P}`), ["OK m1"]);
    assert.equal(bob.port.take().length, 1);
    // carol's row never committed: she is not a known user, and she can register again.
    assert.deepEqual(await t.send(alice, `MESSAGE m3 carol ${P}`), ["FAILED m3 UNKNOWN_USER"]);
    await t.registered("carol");
    assert.deepEqual(await t.send(alice, `MESSAGE m3 carol ${P}`), ["OK m3"]);
  } finally {
    await t.stop();
  }
});

Deno.test("router: two sessions registering a new id while its row commits share the commit", async () => {
  const store = new FlakyStore();
  const t = await setup({}, store);
  try {
    store.failing = true;
    const first = t.connect("dave");
    const second = t.connect("dave");
    first.session.receive("REGISTER dave");
    second.session.receive("REGISTER dave"); // newest session wins; first is closed
    await t.settle();
    assert.deepEqual(second.port.take(), ["FAILED dave INTERNAL"]);
    const alice = await t.registered("alice").catch(() => undefined);
    assert.equal(alice, undefined); // the store still fails
    store.failing = false;
    const a = await t.registered("alice");
    assert.deepEqual(await t.send(a, `MESSAGE m1 dave ${P}`), ["FAILED m1 UNKNOWN_USER"]);
  } finally {
    await t.stop();
  }
});

/** Stand-in certificates: the router passes bytes through, it does not parse them. */
const CERT_A1 = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0xa1]);
const CERT_A2 = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0xa2]);
const CERT_CA = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0xca]);
const b64 = (der: Uint8Array) => der.toBase64();

Deno.test("router: CERT answers the chain presented at the latest REGISTER; reasons in order", async () => {
  const t = await setup();
  try {
    const alice = await t.registered("alice", [CERT_A1, CERT_CA]);
    const bob = await t.registered("bob", [CERT_CA]);
    const anon = t.connect("carol");
    assert.deepEqual(
      await t.send(anon, "CERT alice", "CERT alice bob", "CERT", "CERT bad-id!"),
      [
        "FAILED alice NOT_REGISTERED",
        "FAILED alice NOT_REGISTERED", // NOT_REGISTERED before the field count
        "FAILED * MALFORMED",
        "FAILED * MALFORMED",
      ],
    );
    assert.deepEqual(
      await t.send(
        bob,
        "CERT alice",
        `MESSAGE m1 alice ${P}`,
        "CERT ghost",
        "CERT",
        "CERT a b",
        "CERT bad-id!",
        "CERT bob",
      ),
      [
        `OK alice ${b64(CERT_A1)} ${b64(CERT_CA)}`,
        "OK m1",
        "FAILED ghost UNKNOWN_USER",
        "FAILED * MALFORMED",
        "FAILED a MALFORMED",
        "FAILED * MALFORMED",
        `OK bob ${b64(CERT_CA)}`,
      ],
    );
    assert.equal(alice.port.take().length, 1); // the delivery of m1
    // A repeated REGISTER in the same session changes nothing; a newer session's replaces.
    assert.deepEqual(await t.send(alice, "REGISTER alice", "CERT alice"), [
      "OK alice",
      `OK alice ${b64(CERT_A1)} ${b64(CERT_CA)}`,
    ]);
    const alice2 = t.connect("alice", [CERT_A2]);
    assert.deepEqual(await t.send(alice2, "REGISTER alice").then((l) => l[0]), "OK alice");
    assert.equal(alice.port.closed, true);
    assert.deepEqual(await t.send(bob, "CERT alice"), [`OK alice ${b64(CERT_A2)}`]);
    // A first registration still committing: a CERT for it is read after its row.
    const dave = t.connect("dave", [CERT_A1]);
    dave.session.receive("REGISTER dave");
    bob.session.receive("CERT dave");
    await t.settle();
    assert.deepEqual(dave.port.take(), ["OK dave"]);
    assert.deepEqual(bob.port.take(), [`OK dave ${b64(CERT_A1)}`]);
  } finally {
    await t.stop();
  }
});

Deno.test("router: CERT of a user registered before chains were recorded is NO_CERTIFICATE", async () => {
  const store = new MemoryStore();
  // A user row without a chain, as a store written before revision 4 holds it.
  await store.apply([{ kind: "user", userId: "old", at: 1 }]);
  const t = await setup({}, store);
  try {
    const bob = await t.registered("bob");
    assert.deepEqual(await t.send(bob, "CERT old"), ["FAILED old NO_CERTIFICATE"]);
    await t.registered("old", [CERT_A2, CERT_CA]);
    assert.deepEqual(await t.send(bob, "CERT old"), [`OK old ${b64(CERT_A2)} ${b64(CERT_CA)}`]);
  } finally {
    await t.stop();
  }
});

Deno.test("router: CERT counts against the command rate; RATE_LIMITED comes after no-id only", async () => {
  const now = 1_000_000;
  const t = await setup({ rate: { rate: 1, burst: 3 }, now: () => now });
  try {
    const anon = t.connect("carol");
    assert.deepEqual(await t.send(anon, "CERT x", "CERT x", "CERT x", "CERT x y", "CERT"), [
      "FAILED x NOT_REGISTERED",
      "FAILED x NOT_REGISTERED",
      "FAILED x NOT_REGISTERED",
      "FAILED x RATE_LIMITED", // before NOT_REGISTERED and the field count
      "FAILED * MALFORMED",
    ]);
    const bob = await t.registered("bob");
    assert.deepEqual(await t.send(bob, "CERT bob", "CERT bob", "CERT ghost", "CERT bob"), [
      `OK bob ${b64(bob.port.chain[0]!)}`,
      `OK bob ${b64(bob.port.chain[0]!)}`,
      "FAILED ghost UNKNOWN_USER",
      "FAILED bob RATE_LIMITED",
    ]);
  } finally {
    await t.stop();
  }
});

Deno.test("router: a failed commit of REGISTER or CERT answers INTERNAL", async () => {
  const store = new FlakyStore();
  const t = await setup({}, store);
  try {
    const bob = await t.registered("bob");
    store.failing = true;
    assert.deepEqual(await t.send(bob, "CERT bob"), ["FAILED bob INTERNAL"]);
    // A known user's REGISTER commits its chain too: its failure closes the session.
    const bob2 = t.connect("bob");
    assert.deepEqual(await t.send(bob2, "REGISTER bob"), ["FAILED bob INTERNAL"]);
    assert.equal(bob2.port.closed, true);
    store.failing = false;
    const bob3 = await t.registered("bob");
    assert.deepEqual(await t.send(bob3, "CERT bob"), [`OK bob ${b64(bob3.port.chain[0]!)}`]);
  } finally {
    await t.stop();
  }
});

/** A MemoryStore that records the fetch ops it is given. */
class FetchCountingStore extends MemoryStore {
  fetches: number[] = [];
  override apply(ops: readonly StoreOp[]) {
    for (const op of ops) if (op.kind === "fetch") this.fetches.push(op.limit);
    return super.apply(ops);
  }
}

Deno.test("router: one acknowledgement refills the window at once; a burst of acks, one fetch", async () => {
  const store = new FetchCountingStore();
  const t = await setup({ inflight: 8 }, store);
  try {
    const alice = await t.registered("alice");
    const bob = await t.registered("bob");
    const lines = Array.from({ length: 20 }, (_, i) => `MESSAGE m${i} bob ${P}`);
    assert.equal((await t.send(alice, ...lines)).length, 20);
    const sids = (got: string[]) => got.map((l) => Number(l.split(" ")[1]));
    assert.deepEqual(sids(bob.port.take()), [1, 2, 3, 4, 5, 6, 7, 8]);
    store.fetches = [];
    // One ack frees one slot: the ninth message comes without waiting for more acks.
    assert.deepEqual(sids(await t.send(bob, "OK 1")), [9]);
    assert.deepEqual(store.fetches, [1]);
    // Three acks handled together: one fetch of three.
    store.fetches = [];
    assert.deepEqual(sids(await t.send(bob, "OK 2", "OK 3", "OK 4")), [10, 11, 12]);
    assert.deepEqual(store.fetches, [3]);
    // An ack of a sid not in flight frees nothing.
    store.fetches = [];
    assert.deepEqual(await t.send(bob, "OK 1", "OK 999"), []);
    assert.deepEqual(store.fetches, []);
  } finally {
    await t.stop();
  }
});
