import assert from "node:assert/strict";
import { GroupCommitter } from "../lib/server/committer.ts";
import type { AcceptOp, SidLease, StoreOp, StoreResult } from "../lib/server/store.ts";
import { MemoryStore } from "../lib/server/store_memory.ts";

/** A MemoryStore that records batch sizes and commits only when released. */
class GatedStore extends MemoryStore {
  batches: number[] = [];
  #gate: (() => void)[] = [];
  gated = true;
  override async apply(ops: readonly StoreOp[]): Promise<StoreResult[]> {
    this.batches.push(ops.length);
    if (this.gated) await new Promise<void>((resolve) => this.#gate.push(resolve));
    return super.apply(ops);
  }
  release(): void {
    for (const r of this.#gate.splice(0)) r();
  }
}

const user = (userId: string): StoreOp => ({ kind: "user", userId, at: 0 });

Deno.test("committer: a lone op commits at once; ops arriving meanwhile share the next batch", async () => {
  const store = new GatedStore();
  const committer = new GroupCommitter(store);
  const done: string[] = [];
  committer.submit(user("a"), () => done.push("a"));
  await Promise.resolve();
  await Promise.resolve();
  assert.deepEqual(store.batches, [1]); // committing without waiting for company
  for (const u of ["b", "c", "d"]) committer.submit(user(u), () => done.push(u));
  assert.equal(committer.queued, 3);
  store.release();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(store.batches, [1, 3]);
  store.gated = false;
  store.release();
  await committer.idle();
  assert.deepEqual(done, ["a", "b", "c", "d"]); // callbacks in submission order
  assert.equal(committer.batches, 2);
  assert.equal(committer.committedOps, 4);
});

const accept = (messageId: string, recipients: string[]): AcceptOp => ({
  kind: "accept",
  sender: "a",
  messageId,
  recipients,
  payload: "QUJD",
  firstSid: 0,
  precheck: "pass",
  at: 0,
});

Deno.test("committer: sids are consecutive per message, from the store's lease, in order", async () => {
  const store = new MemoryStore();
  const committer = new GroupCommitter(store);
  const ops = [accept("m1", ["a", "b", "c"]), accept("m2", ["b"])];
  for (const op of ops) committer.submit(op, () => {});
  await committer.idle();
  assert.deepEqual(ops.map((op) => op.firstSid), [1, 4]);
  // The store's counter moved past them: a new committer continues after sid 4.
  const next = new GroupCommitter(store);
  const op = accept("m3", ["b"]);
  next.submit(op, () => {});
  await next.idle();
  assert.equal(op.firstSid, 5);
});

/** A store leasing small blocks, like a shared store's sequence. */
class BlockStore extends MemoryStore {
  leases = 0;
  #next = 100;
  override leaseSids(): Promise<SidLease> {
    this.leases++;
    const first = this.#next;
    this.#next += 10;
    return Promise.resolve({ first, end: first + 10 });
  }
}

Deno.test("committer: leases blocks as needed; a message never straddles two blocks", async () => {
  const store = new BlockStore();
  const committer = new GroupCommitter(store);
  const ops = [
    accept("m1", ["a", "b", "c", "d"]),
    accept("m2", ["a", "b", "c", "d"]),
    accept("m3", ["a", "b", "c", "d"]), // 2 left in the first block: goes to the next
    { ...accept("m4", ["a"]), precheck: "QUEUE_FULL" as const }, // no sids
  ];
  for (const op of ops) committer.submit(op, () => {});
  await committer.idle();
  assert.deepEqual(ops.map((op) => op.firstSid), [100, 104, 110, 0]);
  assert.ok(store.leases >= 2);
});

Deno.test("committer: a failing lease fails its batch, and the next batch leases again", async () => {
  let fail = true;
  const store = new (class extends BlockStore {
    override leaseSids() {
      return fail ? Promise.reject(new Error("down")) : super.leaseSids();
    }
  })();
  const committer = new GroupCommitter(store);
  const errors: string[] = [];
  committer.submit(accept("m1", ["a"]), (_r, err) => errors.push(err?.message ?? "ok"));
  await committer.idle();
  fail = false;
  const op = accept("m2", ["a"]);
  committer.submit(op, (_r, err) => errors.push(err?.message ?? "ok"));
  await committer.idle();
  assert.deepEqual(errors, ["down", "ok"]);
  assert.equal(op.firstSid, 100);
});

Deno.test("committer: a failing batch reports the error to each op and the loop goes on", async () => {
  let fail = true;
  const store = new (class extends MemoryStore {
    override apply(ops: readonly StoreOp[]) {
      return fail ? Promise.reject(new Error("boom")) : super.apply(ops);
    }
  })();
  const committer = new GroupCommitter(store);
  const errors: string[] = [];
  committer.submit(user("a"), (_r, err) => errors.push(err?.message ?? "ok"));
  committer.submit(user("b"), (_r, err) => errors.push(err?.message ?? "ok"));
  await committer.idle();
  fail = false;
  committer.submit(user("c"), (_r, err) => errors.push(err?.message ?? "ok"));
  await committer.idle();
  assert.deepEqual(errors, ["boom", "boom", "ok"]);
});

/** A store that commits on the calling thread, like SqliteStore in process. */
class BlockingStore extends MemoryStore {
  readonly blocking = true;
  batches: number[] = [];
  override apply(ops: readonly StoreOp[]): Promise<StoreResult[]> {
    this.batches.push(ops.length);
    return super.apply(ops);
  }
}

Deno.test("committer: a blocking store's batch waits for the rest of the turn's work", async () => {
  const submitLater = async (committer: GroupCommitter, id: string) => {
    // Work that is still running in this turn, a few promise steps later.
    for (let i = 0; i < 5; i++) await Promise.resolve();
    committer.submit(user(id), () => {});
  };
  const nonBlocking = new (class extends MemoryStore {
    batches: number[] = [];
    override apply(ops: readonly StoreOp[]): Promise<StoreResult[]> {
      this.batches.push(ops.length);
      return super.apply(ops);
    }
  })();
  const a = new GroupCommitter(nonBlocking);
  a.submit(user("a"), () => {});
  await submitLater(a, "b");
  await a.idle();
  assert.deepEqual(nonBlocking.batches, [1, 1]); // the microtask went first

  const blocking = new BlockingStore();
  const b = new GroupCommitter(blocking);
  b.submit(user("a"), () => {});
  await submitLater(b, "b");
  await b.idle();
  assert.deepEqual(blocking.batches, [2]); // one batch, one flush

  // After a commit, ops that arrived during it are gathered the same way.
  const done: string[] = [];
  b.submit(user("c"), () => {
    done.push("c");
    b.submit(user("d"), () => done.push("d"));
    void submitLater(b, "e");
  });
  await new Promise((r) => setTimeout(r, 10));
  await b.idle();
  assert.deepEqual(blocking.batches, [2, 1, 2]);
  assert.deepEqual(done, ["c", "d"]);
});

Deno.test("committer: deferrable ops ride with the next batch, or commit alone after DEFER_MS", async () => {
  for (const store of [new BlockingStore(), new GatedStore()]) {
    if (store instanceof GatedStore) store.gated = false;
    const batches = () => (store as BlockingStore | GatedStore).batches;
    const committer = new GroupCommitter(store, 50);
    const done: string[] = [];
    // Alone: not committed at once, but within the defer time.
    committer.submit(user("a"), () => done.push("a"), true);
    await new Promise((r) => setTimeout(r, 2));
    assert.deepEqual(batches(), []);
    const t0 = performance.now();
    while (done.length === 0 && performance.now() - t0 < 2_000) {
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.deepEqual(done, ["a"]);
    assert.deepEqual(batches(), [1]);
    // With company: one batch, in submission order.
    committer.submit(user("b"), () => done.push("b"), true);
    committer.submit(user("c"), () => done.push("c"));
    await new Promise((r) => setTimeout(r, 2));
    assert.deepEqual(batches(), [1, 2]);
    assert.deepEqual(done, ["a", "b", "c"]);
    // Someone waiting for idle() does not wait for the defer time (an hour here).
    const patient = new GroupCommitter(store, 3_600_000);
    patient.submit(user("d"), () => done.push("d"), true);
    await new Promise((r) => setTimeout(r, 2));
    assert.deepEqual(done, ["a", "b", "c"]);
    await patient.idle();
    assert.deepEqual(done, ["a", "b", "c", "d"]);
  }
});
