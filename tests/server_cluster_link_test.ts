// The router on a store shared by several nodes (lib/server/cluster.ts, delivery.ts and
// register.ts in shared mode; docs/CLUSTER.md), with an in-memory stand-in for the shared
// store whose notifications the test sends itself: another node's message wakes the local
// recipient, a smaller sid committed late is not skipped, a newer session elsewhere closes
// the local one (also when its notice comes before the local REGISTER commits), and the
// sweep does both from the store's view. The real PostgreSQL store: server_cluster_test.ts.

import assert from "node:assert/strict";
import { Router } from "../lib/server/router.ts";
import type {
  AcceptOp,
  ClusterEvents,
  SharedStore,
  StoreOp,
  StoreResult,
  SweepInfo,
} from "../lib/server/store.ts";
import { MemoryStore } from "../lib/server/store_memory.ts";

const P = "aGVsbG8=";

/** A MemoryStore posing as a shared store: epochs per REGISTER, events captured. */
class FakeSharedStore extends MemoryStore implements SharedStore {
  readonly shared = true;
  readonly nodeId = "here";
  events: ClusterEvents | undefined;
  readonly epochs = new Map<string, number>();
  #epoch = 0;

  subscribe(events: ClusterEvents): Promise<void> {
    this.events = events;
    return Promise.resolve();
  }

  override async apply(ops: readonly StoreOp[]): Promise<StoreResult[]> {
    const results = await super.apply(ops);
    return results.map((r, i) => {
      const op = ops[i]!;
      if (op.kind !== "user") return r;
      const epoch = ++this.#epoch;
      this.epochs.set(op.userId, epoch);
      return { kind: "user", epoch };
    });
  }

  async sweepInfo(users: readonly string[]): Promise<SweepInfo> {
    const queued = new Set<string>();
    for (const user of users) {
      const [r] = await super.apply([{ kind: "fetch", recipient: user, afterSid: 0, limit: 1 }]);
      if (r?.kind === "fetch" && r.messages.length > 0) queued.add(user);
    }
    const epochs = new Map([...this.epochs].filter(([u]) => users.includes(u)));
    return { epochs, queued };
  }

  /** What another node commits: an accepted message under `sid`. */
  async otherNode(sender: string, recipient: string, sid: number, id: string): Promise<void> {
    const op: AcceptOp = {
      kind: "accept",
      sender,
      messageId: id,
      recipients: [recipient],
      payload: P,
      firstSid: sid,
      precheck: "pass",
      at: Date.now(),
    };
    await super.apply([op]);
  }
}

class FakePort {
  lines: string[] = [];
  closed = false;
  readonly chain = [new Uint8Array([1])];
  constructor(readonly identity: string) {}
  send(line: string): Promise<void> {
    this.lines.push(line);
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
  }
  take(): string[] {
    return this.lines.splice(0);
  }
}

async function setup() {
  const store = new FakeSharedStore();
  const router = await Router.create(store, { registerTimeoutMs: 60_000, sweepMs: 3_600_000 });
  const sessions: { end(): void }[] = [];
  const settle = async () => {
    for (let i = 0; i < 5; i++) {
      await router.idle();
      await new Promise((r) => setTimeout(r, 0));
    }
  };
  const connect = async (cn: string) => {
    const port = new FakePort(cn);
    const session = router.open(port);
    sessions.push(session);
    session.receive(`REGISTER ${cn}`);
    await settle();
    return { port, session };
  };
  const stop = async () => {
    for (const s of sessions) s.end();
    await router.close();
  };
  const events = () => {
    assert.ok(store.events !== undefined, "the router subscribed");
    return store.events;
  };
  return { store, router, settle, connect, stop, events };
}

Deno.test("cluster link: another node's message wakes the local recipient; no cursor skips a late sid", async () => {
  const t = await setup();
  try {
    const bob = await t.connect("bob");
    assert.deepEqual(bob.port.take(), ["OK bob"]);
    await t.store.otherNode("carol", "bob", 5000, "c1");
    t.events().queued("bob");
    t.events().queued("nobody"); // not online here: nothing to do
    await t.settle();
    assert.deepEqual(bob.port.take(), [`MESSAGE 5000 carol ${P}`]);
    // 5000 stays in flight; another node commits a SMALLER sid later: still delivered.
    await t.store.otherNode("dave", "bob", 1200, "d1");
    t.events().queued("bob");
    await t.settle();
    assert.deepEqual(bob.port.take(), [`MESSAGE 1200 dave ${P}`]);
    // Acknowledged rows are gone; a wake with nothing new sends nothing again.
    bob.session.receive("OK 5000");
    bob.session.receive("OK 1200");
    await t.settle();
    t.events().queued("bob");
    await t.settle();
    assert.deepEqual(bob.port.take(), []);
  } finally {
    await t.stop();
  }
});

Deno.test("cluster link: a newer REGISTER elsewhere closes the local session; an older one does not", async () => {
  const t = await setup();
  try {
    const bob = await t.connect("bob");
    const mine = t.store.epochs.get("bob")!;
    t.events().registered("bob", mine - 1); // an older session elsewhere: keep ours
    await t.settle();
    assert.equal(bob.port.closed, false);
    t.events().registered("bob", mine + 100);
    await t.settle();
    assert.equal(bob.port.closed, true);
    assert.equal(t.router.stats.online, 0);
    // The notice of a newer session may arrive before our own REGISTER has committed.
    t.events().registered("dave", 10_000);
    const dave = await t.connect("dave");
    assert.deepEqual(dave.port.take(), ["OK dave"]);
    assert.equal(dave.port.closed, true);
  } finally {
    await t.stop();
  }
});

Deno.test("cluster link: the sweep closes replaced sessions and wakes those with a backlog", async () => {
  const t = await setup();
  try {
    const bob = await t.connect("bob");
    const carol = await t.connect("carol");
    bob.port.take();
    // Notifications lost: a message for bob, and carol registered again on another node.
    await t.store.otherNode("erin", "bob", 7000, "e1");
    t.store.epochs.set("carol", t.store.epochs.get("carol")! + 50);
    t.events().resync();
    await t.settle();
    assert.deepEqual(bob.port.take(), [`MESSAGE 7000 erin ${P}`]);
    assert.equal(carol.port.closed, true);
    assert.equal(bob.port.closed, false);
  } finally {
    await t.stop();
  }
});
