// Tests of lib/server/store_postgres.ts beyond the shared store contract (that one runs in
// server_store_test.ts): durability across reopen, the sid counter, whole-batch rollback,
// schema creation by several nodes at once, SCHEMA_TOO_NEW, unreachable databases with the
// password kept out of errors, and recovery after the server dropped its connections.
// Against a real PostgreSQL server (tests/helpers/pg.ts), never a mock.

import { StoreError } from "../lib/server/errors.ts";
import assert from "node:assert/strict";
import type { AcceptOp, StoreOp, StoreResult } from "../lib/server/store.ts";
import { PostgresStore } from "../lib/server/store_postgres.ts";
import { PG_SCHEMA_VERSION, SID_BLOCK } from "../lib/server/store_postgres_schema.ts";
import type { PostgresLocation } from "../lib/server/store_url.ts";
import {
  adminSql,
  createPgDatabase,
  type PgTestDatabase,
  pgTestEnv,
  reportPgSkip,
} from "./helpers/pg.ts";

const pg = pgTestEnv();
reportPgSkip("server_store_postgres_test", pg);

const P1 = "aGVsbG8=";
const P2 = "d29ybGQ=";
const T0 = 1_700_000_000_000;
const LEAF = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x0a]);
const CA = new Uint8Array([0x30, 0x04, 0x02, 0x02, 0x01, 0x00]);

function accept(
  sender: string,
  messageId: string,
  recipients: string[],
  payload: string,
  firstSid: number,
): StoreOp {
  return {
    kind: "accept",
    sender,
    messageId,
    recipients,
    payload,
    firstSid,
    precheck: "pass",
    at: T0,
  };
}

function outcomes(results: StoreResult[]): string[] {
  return results.map((r) => r.kind === "accept" ? r.outcome : r.kind);
}

function open(db: { location: PostgresLocation; password: string | undefined }) {
  return PostgresStore.open(
    db.password === undefined
      ? { location: db.location }
      : { location: db.location, password: db.password },
  );
}

/** Runs `fn` with a fresh database, dropped afterwards; ignored without a test server. */
function pgTest(name: string, fn: (db: PgTestDatabase) => Promise<void>): void {
  Deno.test({
    name: `store(postgres): ${name}`,
    ignore: !pg.available,
    async fn() {
      if (!pg.available) return;
      const db = await createPgDatabase(pg);
      try {
        await fn(db);
      } finally {
        await db.drop();
      }
    },
  });
}

pgTest("durable across reopen; sid leases never go back", async (db) => {
  let store = await open(db);
  const leased = await store.leaseSids(); // the sids below come from it
  assert.deepEqual(leased, { first: 1, end: 1 + SID_BLOCK });
  await store.apply([
    { kind: "user", userId: "bob", at: T0, chain: [LEAF, CA] },
    accept("a", "m1", ["bob"], P1, 41),
    accept("a", "m2", ["bob"], P2, 42),
  ]);
  await store.apply([{ kind: "ack", recipient: "bob", sid: 41 }]);
  await store.close();
  store = await open(db);
  try {
    const snap = await store.load();
    assert.deepEqual(snap.users, ["bob"]);
    assert.deepEqual(snap.queues, [{ recipient: "bob", sender: "a", count: 1 }]);
    const first = await store.leaseSids();
    assert.equal(first.first, leased.end); // the sequence survived the reopen
    const second = await store.leaseSids();
    assert.ok(second.first >= first.end, "leases never overlap");
    const r = await store.apply([
      accept("a", "m1", ["bob"], P1, 500), // remembered across the reopen
      { kind: "cert", userId: "bob" },
      { kind: "fetch", recipient: "bob", afterSid: 0, limit: 10 },
    ]);
    assert.deepEqual(outcomes(r), ["same", "cert", "fetch"]);
    assert.deepEqual(r[1], { kind: "cert", known: true, chain: [LEAF, CA] });
    assert.deepEqual(r[2], { kind: "fetch", messages: [{ sid: 42, sender: "a", payload: P2 }] });
  } finally {
    await store.close();
  }
});

pgTest("a failing batch is rolled back as a whole; the store goes on", async (db) => {
  const store = await open(db);
  try {
    await store.apply([accept("a", "m1", ["bob"], P1, 1)]);
    // sid 1 is taken: the second accept violates the primary key, so m2 is not kept either.
    await assert.rejects(
      () => store.apply([accept("a", "m2", ["bob"], P1, 2), accept("a", "m3", ["bob"], P1, 1)]),
      (err) => err instanceof StoreError && err.code === "DATABASE",
    );
    const r = await store.apply([
      accept("a", "m2", ["bob"], P2, 5),
      { kind: "fetch", recipient: "bob", afterSid: 0, limit: 10 },
    ]);
    assert.deepEqual(outcomes(r), ["accepted", "fetch"]);
    assert.deepEqual(r[1]?.kind === "fetch" && r[1].messages.map((m) => m.sid), [1, 5]);
  } finally {
    await store.close();
  }
});

pgTest("the same chain again writes nothing (no new row version)", async (db) => {
  const store = await open(db);
  const admin = adminSql(pg as typeof pg & { available: true }, db.location.database);
  try {
    const version = async () =>
      String((await admin`SELECT xmin::text AS v FROM users WHERE user_id = 'alice'`)[0]?.v);
    await store.apply([{ kind: "user", userId: "alice", at: T0, chain: [LEAF, CA] }]);
    const before = await version();
    await store.apply([{ kind: "user", userId: "alice", at: T0 + 1, chain: [LEAF, CA] }]);
    assert.equal(await version(), before);
    await store.apply([{ kind: "user", userId: "alice", at: T0 + 2, chain: [LEAF] }]);
    assert.notEqual(await version(), before);
    const [row] = await admin`SELECT registered_at FROM users WHERE user_id = 'alice'`;
    assert.equal(Number(row?.registered_at), T0); // the first registration time is kept
  } finally {
    await admin.end();
    await store.close();
  }
});

pgTest("one batch of 4096 operations (the committer's largest) commits", async (db) => {
  const store = await open(db);
  try {
    const ops: StoreOp[] = [];
    for (let i = 0; i < 4096; i++) ops.push(accept(`s${i % 7}`, `m${i}`, ["bob"], P1, i + 1));
    const r = await store.apply(ops);
    assert.ok(r.every((x) => x.kind === "accept" && x.outcome === "accepted"));
    const snap = await store.load();
    assert.equal(snap.queues.reduce((n, q) => n + q.count, 0), 4096);
  } finally {
    await store.close();
  }
});

pgTest("several nodes starting at once create the schema once (advisory lock)", async (db) => {
  const stores = await Promise.all(Array.from({ length: 4 }, () => open(db)));
  try {
    const admin = adminSql(pg as typeof pg & { available: true }, db.location.database);
    try {
      const [row] = await admin`SELECT value FROM meta WHERE key = 'schema_version'`;
      assert.equal(Number(row?.value), PG_SCHEMA_VERSION);
    } finally {
      await admin.end();
    }
    await stores[0]!.apply([{ kind: "user", userId: "bob", at: T0 }]);
    assert.deepEqual((await stores[3]!.load()).users, ["bob"]);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
});

pgTest("a database from a newer schema is refused with SCHEMA_TOO_NEW", async (db) => {
  await (await open(db)).close();
  const admin = adminSql(pg as typeof pg & { available: true }, db.location.database);
  try {
    await admin`UPDATE meta SET value = ${PG_SCHEMA_VERSION + 1} WHERE key = 'schema_version'`;
  } finally {
    await admin.end();
  }
  await assert.rejects(
    () => open(db),
    (err) =>
      err instanceof StoreError && err.code === "SCHEMA_TOO_NEW" &&
      err.message.includes(`postgres://${db.location.user}@`),
  );
});

pgTest(
  "a wrong password or a closed port is UNREACHABLE; the password is in no message",
  async (db) => {
    const secret = "s3cret-Never-Printed";
    await assert.rejects(
      () => PostgresStore.open({ location: db.location, password: secret, connectTimeoutSec: 5 }),
      (err) =>
        err instanceof StoreError && err.code === "UNREACHABLE" &&
        !err.message.includes(secret) && /password authentication failed/.test(err.message),
    );
    // A port nothing listens on: a listener taken and closed again.
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    await assert.rejects(
      () =>
        PostgresStore.open({
          location: { ...db.location, port },
          password: secret,
          connectTimeoutSec: 5,
        }),
      (err) =>
        err instanceof StoreError && err.code === "UNREACHABLE" &&
        !err.message.includes(secret) && err.message.includes(`127.0.0.1:${port}`),
    );
  },
);

pgTest(
  "connections the server dropped: a batch fails or commits, never half; then it works",
  async (db) => {
    const store = await open(db);
    const admin = adminSql(pg as typeof pg & { available: true });
    try {
      await store.apply([{ kind: "user", userId: "bob", at: T0 }]);
      await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = ${db.location.database} AND pid <> pg_backend_pid()`;
      // The first batch after may meet the dead connection (and fail as a whole) or a new one.
      const first = await store.apply([accept("a", "m1", ["bob"], P1, 1)]).then(
        (r) => outcomes(r)[0],
        (err: unknown) => err instanceof StoreError ? err.code : String(err),
      );
      assert.ok(["accepted", "UNREACHABLE"].includes(first ?? ""), first);
      const again = await store.apply([
        accept("a", "m1", ["bob"], P1, 2),
        { kind: "fetch", recipient: "bob", afterSid: 0, limit: 10 },
      ]);
      const sids = again[1]?.kind === "fetch" ? again[1].messages.map((m) => m.sid) : [];
      if (first === "accepted") {
        assert.equal(outcomes(again)[0], "same");
        assert.deepEqual(sids, [1]);
      } else {
        assert.equal(outcomes(again)[0], "accepted");
        assert.deepEqual(sids, [2]);
      }
    } finally {
      await admin.end();
      await store.close();
    }
  },
);

Deno.test({
  name: "store(postgres): a closed store refuses batches with CLOSED",
  ignore: !pg.available,
  async fn() {
    if (!pg.available) return;
    const db = await createPgDatabase(pg);
    try {
      const store = await open(db);
      await store.close();
      await assert.rejects(
        () => store.apply([]),
        (err) => err instanceof StoreError && err.code === "CLOSED",
      );
    } finally {
      await db.drop();
    }
  },
});

const LIMITS = { queue: 3, pair: 2 };

function checked(sender: string, messageId: string, recipients: string[], payload = P1): AcceptOp {
  return {
    kind: "accept",
    sender,
    messageId,
    recipients,
    payload,
    firstSid: 0,
    precheck: "pass",
    at: T0,
    limits: LIMITS,
  };
}

pgTest(
  "shared: known users and queue limits counted in the transaction, after the MESSAGEID",
  async (db) => {
    const store = await open(db);
    try {
      let sid = (await store.leaseSids()).first;
      const op = (o: AcceptOp) => (o.firstSid = sid, sid += o.recipients.length, o);
      await store.apply(["a", "b", "c", "bob"].map((userId) => ({ kind: "user", userId, at: T0 })));
      const r = await store.apply([
        op(checked("a", "m1", ["bob"])),
        op(checked("a", "m2", ["bob", "zed"])), // zed never registered
        op(checked("a", "m3", ["bob"])), // a → bob: 2 of 2
        op(checked("a", "m4", ["bob"])), // the pair is full
        op(checked("a", "m1", ["bob"])), // a retry: OK although the pair is full
        op(checked("a", "m1", ["zed"], P2)), // DUPLICATE_ID before UNKNOWN_USER
        op(checked("b", "m1", ["bob"])), // bob: 3 of 3
        op(checked("c", "m1", ["bob"])), // bob's queue is full
      ]);
      assert.deepEqual(outcomes(r), [
        "accepted",
        "UNKNOWN_USER",
        "accepted",
        "QUEUE_FULL",
        "same",
        "DUPLICATE_ID",
        "accepted",
        "QUEUE_FULL",
      ]);
      // An ack makes room again (another store instance: what another node committed counts).
      const other = await open(db);
      try {
        const [fetched] = await other.apply([{
          kind: "fetch",
          recipient: "bob",
          afterSid: 0,
          limit: 10,
        }]);
        const first = fetched?.kind === "fetch" ? fetched.messages[0]?.sid ?? 0 : 0;
        await other.apply([{ kind: "ack", recipient: "bob", sid: first }]);
      } finally {
        await other.close();
      }
      const [again] = await store.apply([op(checked("c", "m1", ["bob"]))]);
      assert.deepEqual(outcomes([again!]), ["accepted"]);
    } finally {
      await store.close();
    }
  },
);

pgTest(
  "shared: two nodes' leases never overlap; REGISTER epochs rise; the sweep's view",
  async (db) => {
    const a = await open(db);
    const b = await open(db);
    try {
      const leases = [await a.leaseSids(), await b.leaseSids(), await a.leaseSids()];
      for (const l of leases) assert.equal(l.end - l.first, SID_BLOCK);
      const starts = leases.map((l) => l.first).sort((x, y) => x - y);
      for (let i = 1; i < starts.length; i++) assert.ok(starts[i]! >= starts[i - 1]! + SID_BLOCK);
      assert.notEqual(a.nodeId, b.nodeId);
      const [r1] = await a.apply([{ kind: "user", userId: "bob", at: T0 }]);
      const [r2] = await b.apply([{ kind: "user", userId: "bob", at: T0 }]);
      const epoch = (r: StoreResult | undefined) => r?.kind === "user" ? r.epoch ?? 0 : 0;
      assert.ok(epoch(r1) > 0 && epoch(r2) > epoch(r1));
      const m = checked("a", "s1", ["bob"]);
      m.firstSid = leases[0]!.first;
      await a.apply([{ kind: "user", userId: "carol", at: T0 }, m]);
      const info = await b.sweepInfo(["bob", "carol", "nobody"]);
      assert.deepEqual([...info.epochs.keys()].sort(), ["bob", "carol"]);
      assert.equal(info.epochs.get("bob"), epoch(r2));
      assert.deepEqual([...info.queued], ["bob"]);
    } finally {
      await a.close();
      await b.close();
    }
  },
);

pgTest(
  "shared: another node's commits are notified (after commit), a node's own are not",
  async (db) => {
    const a = await open(db);
    const b = await open(db);
    try {
      const heard: string[] = [];
      let wake: (() => void) | undefined;
      const events = (who: string) => ({
        queued: (r: string) => (heard.push(`${who} queued ${r}`), wake?.()),
        registered: (
          u: string,
          e: number,
        ) => (heard.push(`${who} registered ${u} ${e > 0}`), wake?.()),
        resync: () => {},
      });
      await a.subscribe(events("a"));
      await b.subscribe(events("b"));
      const m = checked("alice", "n1", ["alice", "bob"]);
      m.firstSid = (await a.leaseSids()).first;
      await a.apply([
        { kind: "user", userId: "alice", at: T0 },
        { kind: "user", userId: "bob", at: T0 },
        m,
      ]);
      const giveUp = Date.now() + 10_000;
      while (heard.length < 4 && Date.now() < giveUp) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, 500);
        });
        clearTimeout(timer);
      }
      assert.deepEqual(heard.sort(), [
        "b queued alice",
        "b queued bob",
        "b registered alice true",
        "b registered bob true",
      ]);
    } finally {
      await a.close();
      await b.close();
    }
  },
);
