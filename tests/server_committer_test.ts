import assert from "node:assert/strict";
import { GroupCommitter } from "../lib/server/committer.ts";
import type { StoreOp, StoreResult } from "../lib/server/store.ts";
import { MemoryStore } from "../lib/server/store_memory.ts";

/** A MemoryStore that records batch sizes and commits only when released. */
class GatedStore extends MemoryStore {
  batches: number[] = [];
  #gate: (() => void)[] = [];
  gated = true;
  override async apply(ops: readonly StoreOp[], nextSid: number): Promise<StoreResult[]> {
    this.batches.push(ops.length);
    if (this.gated) await new Promise<void>((resolve) => this.#gate.push(resolve));
    return super.apply(ops, nextSid);
  }
  release(): void {
    for (const r of this.#gate.splice(0)) r();
  }
}

const user = (userId: string): StoreOp => ({ kind: "user", userId, at: 0 });

Deno.test("committer: a lone op commits at once; ops arriving meanwhile share the next batch", async () => {
  const store = new GatedStore();
  const committer = new GroupCommitter(store, 1);
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

Deno.test("committer: sids are consecutive and persisted as the counter", async () => {
  const store = new MemoryStore();
  const committer = new GroupCommitter(store, 40);
  assert.equal(committer.allocateSids(3), 40);
  assert.equal(committer.allocateSids(1), 43);
  committer.submit(user("a"), () => {});
  await committer.idle();
  assert.equal((await store.load()).nextSid, 44);
});

Deno.test("committer: a failing batch reports the error to each op and the loop goes on", async () => {
  let fail = true;
  const store = new (class extends MemoryStore {
    override apply(ops: readonly StoreOp[], nextSid: number) {
      return fail ? Promise.reject(new Error("boom")) : super.apply(ops, nextSid);
    }
  })();
  const committer = new GroupCommitter(store, 1);
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
  override apply(ops: readonly StoreOp[], nextSid: number): Promise<StoreResult[]> {
    this.batches.push(ops.length);
    return super.apply(ops, nextSid);
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
    override apply(ops: readonly StoreOp[], nextSid: number): Promise<StoreResult[]> {
      this.batches.push(ops.length);
      return super.apply(ops, nextSid);
    }
  })();
  const a = new GroupCommitter(nonBlocking, 1);
  a.submit(user("a"), () => {});
  await submitLater(a, "b");
  await a.idle();
  assert.deepEqual(nonBlocking.batches, [1, 1]); // the microtask went first

  const blocking = new BlockingStore();
  const b = new GroupCommitter(blocking, 1);
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
    const committer = new GroupCommitter(store, 1, 50);
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
    const patient = new GroupCommitter(store, 1, 3_600_000);
    patient.submit(user("d"), () => done.push("d"), true);
    await new Promise((r) => setTimeout(r, 2));
    assert.deepEqual(done, ["a", "b", "c"]);
    await patient.idle();
    assert.deepEqual(done, ["a", "b", "c", "d"]);
  }
});
