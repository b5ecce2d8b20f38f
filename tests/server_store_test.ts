import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { Store, StoreOp, StoreResult } from "../lib/server/store.ts";
import { MemoryStore } from "../lib/server/store_memory.ts";
import { SCHEMA_VERSION, SqliteStore } from "../lib/server/store_sqlite.ts";
import { StoreError } from "../lib/server/errors.ts";
import { WorkerStore } from "../lib/server/store_threaded.ts";
import { writeV1Database } from "./helpers/store_v1.ts";
import { PostgresStore } from "../lib/server/store_postgres.ts";
import { createPgDatabase, pgTestEnv, reportPgSkip } from "./helpers/pg.ts";

const P1 = "aGVsbG8=";
const P2 = "d29ybGQ=";
const T0 = 1_700_000_000_000;

function accept(
  sender: string,
  messageId: string,
  recipients: string[],
  payload: string,
  firstSid: number,
  precheck: "pass" | "UNKNOWN_USER" | "QUEUE_FULL" = "pass",
  at = T0,
): StoreOp {
  return { kind: "accept", sender, messageId, recipients, payload, firstSid, precheck, at };
}

/** Stand-ins for DER certificates (the store keeps bytes, it does not parse them). */
const LEAF_A = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x0a]);
const LEAF_B = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x0b]);
const CA = new Uint8Array([0x30, 0x04, 0x02, 0x02, 0x01, 0x00]);

/** The chain of a CertResult, as hex strings per certificate (or the outcome). */
function certOf(result: StoreResult | undefined): string[] | "unknown" | "none" {
  assert.equal(result?.kind, "cert");
  if (result?.kind !== "cert") return "unknown";
  if (!result.known) return "unknown";
  return result.chain === undefined ? "none" : result.chain.map((der) => der.toHex());
}

/** A cert result as `certOf` shows it, any other result as its kind. */
function certOrKind(result: StoreResult): string | string[] {
  return result.kind === "cert" ? certOf(result) : result.kind;
}

function outcomes(results: StoreResult[]): string[] {
  return results.map((r) => r.kind === "accept" ? r.outcome : r.kind);
}

type Maker = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

const engines: [string, Maker][] = [
  ["memory", () => Promise.resolve({ store: new MemoryStore(), cleanup: () => Promise.resolve() })],
  ["sqlite", async () => {
    const dir = await Deno.makeTempDir();
    return {
      store: new SqliteStore(`${dir}/t.db`),
      cleanup: () => Deno.remove(dir, { recursive: true }),
    };
  }],
  ["worker", async () => {
    const dir = await Deno.makeTempDir();
    return {
      store: await WorkerStore.open(`${dir}/t.db`),
      cleanup: () => Deno.remove(dir, { recursive: true }),
    };
  }],
];

// The same contract on PostgreSQL, each test in a database of its own (tests/helpers/pg.ts).
const pg = pgTestEnv();
reportPgSkip("server_store_test", pg);
if (pg.available) {
  engines.push(["postgres", async () => {
    const db = await createPgDatabase(pg);
    try {
      const store = await PostgresStore.open(
        db.password === undefined
          ? { location: db.location }
          : { location: db.location, password: db.password },
      );
      return { store, cleanup: () => db.drop() };
    } catch (err) {
      await db.drop();
      throw err;
    }
  }]);
}

for (const [name, make] of engines) {
  Deno.test(`store(${name}): accept, retry, DUPLICATE_ID, and failed ids stay reusable`, async () => {
    const { store, cleanup } = await make();
    try {
      // Sids come from a lease, as the committer takes them (a fresh store's starts at 1).
      assert.equal((await store.leaseSids()).first, 1);
      const r = await store.apply([
        { kind: "user", userId: "alice", at: T0 },
        { kind: "user", userId: "bob", at: T0 },
        accept("alice", "m1", ["bob"], P1, 1),
        accept("alice", "m1", ["bob"], P1, 2), // same content: a retry
        accept("alice", "m1", ["bob"], P2, 3), // other payload
        accept("alice", "m1", ["alice", "bob"], P1, 4), // other recipients
        accept("alice", "m2", ["zed"], P1, 0, "UNKNOWN_USER"),
        accept("alice", "m1", ["zed"], P2, 0, "UNKNOWN_USER"), // DUPLICATE_ID wins
        accept("alice", "m1", ["bob"], P1, 0, "QUEUE_FULL"), // a retry is still OK
        accept("alice", "m2", ["bob"], P1, 6), // m2 failed before: usable
        accept("bob", "m1", ["alice"], P1, 7), // ids are per sender
      ]);
      assert.deepEqual(outcomes(r), [
        "user",
        "user",
        "accepted",
        "same",
        "DUPLICATE_ID",
        "DUPLICATE_ID",
        "UNKNOWN_USER",
        "DUPLICATE_ID",
        "same",
        "accepted",
        "accepted",
      ]);
      const snap = await store.load();
      assert.deepEqual([...snap.users].sort(), ["alice", "bob"]);
      assert.deepEqual(
        [...snap.queues].sort((a, b) => a.recipient.localeCompare(b.recipient)),
        [{ recipient: "alice", sender: "bob", count: 1 }, {
          recipient: "bob",
          sender: "alice",
          count: 2,
        }],
      );
      assert.ok((await store.leaseSids()).first >= 8); // never the leased or accepted sids again
    } finally {
      await store.close();
      await cleanup();
    }
  });

  Deno.test(`store(${name}): fetch in sid order after a cursor; ack only for the holder`, async () => {
    const { store, cleanup } = await make();
    try {
      await store.apply([
        accept("a", "x1", ["bob", "carol"], P1, 10),
        accept("a", "x2", ["bob"], P2, 12),
        accept("c", "x1", ["bob"], P1, 13),
      ]);
      const [all, after, limited, excluded, excludedLimited] = await store.apply([
        { kind: "fetch", recipient: "bob", afterSid: 0, limit: 100 },
        { kind: "fetch", recipient: "bob", afterSid: 10, limit: 100 },
        { kind: "fetch", recipient: "bob", afterSid: 0, limit: 2 },
        // Without a cursor: all but the sids in flight (a shared store's fetch).
        { kind: "fetch", recipient: "bob", afterSid: 0, exclude: [12], limit: 100 },
        { kind: "fetch", recipient: "bob", afterSid: 0, exclude: [10, 99], limit: 1 },
      ]);
      const sids = (r: StoreResult | undefined) =>
        r?.kind === "fetch" ? r.messages.map((m) => m.sid) : [];
      assert.deepEqual(sids(all), [10, 12, 13]);
      assert.deepEqual(sids(after), [12, 13]);
      assert.deepEqual(sids(limited), [10, 12]);
      assert.deepEqual(sids(excluded), [10, 13]);
      assert.deepEqual(sids(excludedLimited), [12]);
      assert.deepEqual(all?.kind === "fetch" && all.messages[1], {
        sid: 12,
        sender: "a",
        payload: P2,
      });
      const acks = await store.apply([
        { kind: "ack", recipient: "carol", sid: 10 }, // not carol's
        { kind: "ack", recipient: "bob", sid: 10 },
        { kind: "ack", recipient: "bob", sid: 10 }, // already gone
        { kind: "ack", recipient: "bob", sid: 999 },
        { kind: "fetch", recipient: "bob", afterSid: 0, limit: 100 },
      ]);
      assert.deepEqual(acks.slice(0, 4), [
        { kind: "ack", removed: false },
        { kind: "ack", removed: true, sender: "a" },
        { kind: "ack", removed: false },
        { kind: "ack", removed: false },
      ]);
      assert.deepEqual(sids(acks[4]), [12, 13]);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  Deno.test(`store(${name}): long contents are compared by SHA-256, short ones as they are`, async () => {
    const { store, cleanup } = await make();
    try {
      const long = "QUJD".repeat(200); // 800 characters: hashed
      const r = await store.apply([
        accept("a", "l1", ["b"], long, 1),
        accept("a", "l1", ["b"], long, 2),
        accept("a", "l1", ["b"], long.slice(0, -4) + "QUJE", 3),
        accept("a", "l1", ["b", "c"], long, 4),
        accept("a", "s1", ["b"], P1, 5),
        accept("a", "s1", ["b"], P2, 6),
      ]);
      assert.deepEqual(outcomes(r), [
        "accepted",
        "same",
        "DUPLICATE_ID",
        "DUPLICATE_ID",
        "accepted",
        "DUPLICATE_ID",
      ]);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  Deno.test(`store(${name}): a user op records the chain, a later one replaces it; cert reads it`, async () => {
    const { store, cleanup } = await make();
    try {
      const chainA = [LEAF_A.slice(), CA.slice()];
      const r = await store.apply([
        { kind: "cert", userId: "alice" }, // before its registration: unknown
        { kind: "user", userId: "alice", at: T0, chain: chainA },
        { kind: "user", userId: "bob", at: T0 }, // no chain given: none recorded
        { kind: "cert", userId: "alice" }, // same batch, after the user op: seen
        { kind: "cert", userId: "bob" },
        { kind: "cert", userId: "zed" },
      ]);
      assert.deepEqual(r.map(certOrKind), [
        "unknown",
        "user",
        "user",
        [LEAF_A.toHex(), CA.toHex()],
        "none",
        "unknown",
      ]);
      chainA[0]!.fill(0); // the store keeps its own bytes
      const [kept] = await store.apply([{ kind: "cert", userId: "alice" }]);
      assert.deepEqual(certOf(kept), [LEAF_A.toHex(), CA.toHex()]);
      const [, replaced] = await store.apply([
        { kind: "user", userId: "alice", at: T0 + 1, chain: [LEAF_B] },
        { kind: "cert", userId: "alice" },
      ]);
      assert.deepEqual(certOf(replaced), [LEAF_B.toHex()]);
      // A user op without a chain keeps the recorded one.
      const [, still] = await store.apply([
        { kind: "user", userId: "alice", at: T0 + 2 },
        { kind: "cert", userId: "alice" },
      ]);
      assert.deepEqual(certOf(still), [LEAF_B.toHex()]);
      const [, bobNow] = await store.apply([
        { kind: "user", userId: "bob", at: T0 + 3, chain: [LEAF_A, CA] },
        { kind: "cert", userId: "bob" },
      ]);
      assert.deepEqual(certOf(bobNow), [LEAF_A.toHex(), CA.toHex()]);
      assert.deepEqual([...(await store.load()).users].sort(), ["alice", "bob"]);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  Deno.test(`store(${name}): MESSAGEIDs are pruned after their time`, async () => {
    const { store, cleanup } = await make();
    try {
      await store.apply([
        accept("a", "old", ["b"], P1, 1, "pass", T0),
        accept("a", "new", ["b"], P1, 2, "pass", T0 + 5000),
      ]);
      const [pruned] = await store.apply([{ kind: "prune", before: T0 + 1 }]);
      assert.deepEqual(pruned, { kind: "prune", pruned: 1 });
      const r = await store.apply([
        accept("a", "old", ["b"], P2, 3), // forgotten: accepted anew
        accept("a", "new", ["b"], P2, 4), // remembered
      ]);
      assert.deepEqual(outcomes(r), ["accepted", "DUPLICATE_ID"]);
    } finally {
      await store.close();
      await cleanup();
    }
  });
}

Deno.test("store(sqlite): durable across reopen; sid counter never goes back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/t.db`;
    let store = new SqliteStore(path);
    await store.apply([
      { kind: "user", userId: "bob", at: T0 },
      accept("a", "m1", ["bob"], P1, 41),
    ]);
    await store.apply([{ kind: "ack", recipient: "bob", sid: 41 }]);
    await store.close();
    store = new SqliteStore(path);
    const snap = await store.load();
    assert.deepEqual(snap.users, ["bob"]);
    assert.deepEqual(snap.queues, []);
    // The counter was raised past sid 41 by its batch, although the queue is empty now.
    assert.deepEqual(await store.leaseSids(), { first: 42, end: Number.MAX_SAFE_INTEGER });
    await store.apply([]);
    assert.equal((await store.leaseSids()).first, 42);
    const r = await store.apply([accept("a", "m1", ["bob"], P1, 500)]);
    assert.deepEqual(outcomes(r), ["same"]);
    await store.close();
    const db = new DatabaseSync(path);
    try {
      assert.equal(Number(db.prepare("PRAGMA user_version").get()?.user_version), SCHEMA_VERSION);
      assert.equal(String(db.prepare("PRAGMA journal_mode").get()?.journal_mode), "wal");
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store(sqlite): a recorded chain survives a reopen; the same chain again writes nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/t.db`;
    let store = new SqliteStore(path);
    await store.apply([{ kind: "user", userId: "alice", at: T0, chain: [LEAF_A, CA] }]);
    await store.close();
    store = new SqliteStore(path);
    const [before] = await store.apply([{ kind: "cert", userId: "alice" }]);
    assert.deepEqual(certOf(before), [LEAF_A.toHex(), CA.toHex()]);
    // A REGISTER presenting the chain already recorded changes no page: no WAL frame, so
    // its commit needs no disk flush.
    const walSize = async () => (await Deno.stat(`${path}-wal`)).size;
    const wal = await walSize();
    await store.apply([{ kind: "user", userId: "alice", at: T0 + 1, chain: [LEAF_A, CA] }]);
    assert.equal(await walSize(), wal);
    await store.apply([{ kind: "user", userId: "alice", at: T0 + 2, chain: [LEAF_B] }]);
    assert.ok(await walSize() > wal);
    await store.close();
    const db = new DatabaseSync(path);
    try {
      const row = db.prepare("SELECT registered_at FROM users WHERE user_id = 'alice'").get();
      assert.equal(Number(row?.registered_at), T0); // the first registration time is kept
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const engine of ["sqlite", "worker"] as const) {
  Deno.test(`store(${engine}): a version 1 database is migrated; its users have no chain until they register`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/old.db`;
      writeV1Database(path, ["alice", "bob"], [
        { sid: 7, recipient: "bob", sender: "alice", payload: P1 },
      ], T0);
      let store: Store = engine === "sqlite" ? new SqliteStore(path) : await WorkerStore.open(path);
      try {
        const snap = await store.load();
        assert.deepEqual([...snap.users].sort(), ["alice", "bob"]);
        assert.deepEqual(snap.queues, [{ recipient: "bob", sender: "alice", count: 1 }]);
        assert.equal((await store.leaseSids()).first, 8);
        const r = await store.apply([
          { kind: "cert", userId: "alice" },
          { kind: "cert", userId: "bob" },
          { kind: "cert", userId: "zed" },
          { kind: "user", userId: "alice", at: T0 + 1, chain: [LEAF_A] },
          { kind: "cert", userId: "alice" },
          { kind: "fetch", recipient: "bob", afterSid: 0, limit: 10 },
        ]);
        assert.deepEqual(r.map(certOrKind), [
          "none",
          "none",
          "unknown",
          "user",
          [LEAF_A.toHex()],
          "fetch",
        ]);
        await store.close();
        store = new SqliteStore(path); // reopening a migrated database changes nothing
        const [again] = await store.apply([{ kind: "cert", userId: "alice" }]);
        assert.deepEqual(certOf(again), [LEAF_A.toHex()]);
      } finally {
        await store.close();
      }
      const db = new DatabaseSync(path);
      try {
        assert.equal(Number(db.prepare("PRAGMA user_version").get()?.user_version), 2);
        assert.equal(SCHEMA_VERSION, 2);
      } finally {
        db.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("store(sqlite): a failing batch is rolled back as a whole", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new SqliteStore(`${dir}/t.db`);
    await store.apply([accept("a", "m1", ["bob"], P1, 1)]);
    // sid 1 is taken: the second accept violates the primary key, so m2 is not kept either.
    await assert.rejects(() =>
      store.apply([accept("a", "m2", ["bob"], P1, 2), accept("a", "m3", ["bob"], P1, 1)])
    );
    const r = await store.apply([
      accept("a", "m2", ["bob"], P2, 5),
      { kind: "fetch", recipient: "bob", afterSid: 0, limit: 10 },
    ]);
    assert.deepEqual(outcomes(r), ["accepted", "fetch"]);
    assert.deepEqual(r[1]?.kind === "fetch" && r[1].messages.map((m) => m.sid), [1, 5]);
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store(sqlite): a database from a newer schema is refused with SCHEMA_TOO_NEW", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = new DatabaseSync(`${dir}/t.db`);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(
      () => new SqliteStore(`${dir}/t.db`),
      (err) => err instanceof StoreError && err.code === "SCHEMA_TOO_NEW",
    );
    await assert.rejects(
      () => WorkerStore.open(`${dir}/t.db`),
      (err) => (err as { code?: string }).code === "SCHEMA_TOO_NEW",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
