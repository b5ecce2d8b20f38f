// Micro-benchmarks of the server's per-message work (issue #6; ASL spec section 5): parsing
// session commands, and committing batches to the SQLite store (in-process and in its
// worker thread) and the in-memory store — one message alone versus a group commit of 64.
// Run: deno task bench (or deno bench --allow-read --allow-write bench/server_bench.ts).

import { parseCommand } from "../lib/server/command.ts";
import type { Store, StoreOp } from "../lib/server/store.ts";
import { MemoryStore } from "../lib/server/store_memory.ts";
import { SqliteStore } from "../lib/server/store_sqlite.ts";
import { WorkerStore } from "../lib/server/store_threaded.ts";

const PAYLOAD = new Uint8Array(75).fill(0x61).toBase64(); // 100 characters, like the load tool
const lines = {
  message: `MESSAGE m-123456 bob ${PAYLOAD}`,
  group: `MESSAGE m-123457 {carol,bob,alice} ${PAYLOAD}`,
  ack: "OK 123456",
  register: "REGISTER alice",
  malformed: "HELLO there",
};
for (const [name, line] of Object.entries(lines)) {
  Deno.bench(`parseCommand ${name}`, { group: "parse", baseline: name === "message" }, () => {
    parseCommand(line);
  });
}

const dir = await Deno.makeTempDir({ prefix: "netsec-bench-" });
let seq = 0;
let nextSid = 1;

function acceptOps(n: number): StoreOp[] {
  const ops: StoreOp[] = [];
  for (let i = 0; i < n; i++) {
    ops.push({
      kind: "accept",
      sender: "alice",
      messageId: `b${seq++}`,
      recipients: ["bob"],
      payload: PAYLOAD,
      firstSid: nextSid++,
      precheck: "pass",
      at: Date.now(),
    });
  }
  return ops;
}

/** Accept `n` messages in one batch, then ack them in a second one (queues stay small). */
async function commitAndAck(store: Store, n: number): Promise<void> {
  const ops = acceptOps(n);
  await store.apply(ops);
  await store.apply(
    ops.map((op) => ({
      kind: "ack",
      recipient: "bob",
      sid: (op as { firstSid: number }).firstSid,
    })),
  );
}

const stores: [string, Store][] = [
  ["sqlite", new SqliteStore(`${dir}/inproc.db`)],
  ["sqlite worker", await WorkerStore.open(`${dir}/worker.db`)],
  ["memory", new MemoryStore()],
];
for (const [, store] of stores) {
  await store.load();
  await store.apply(
    [{ kind: "user", userId: "alice", at: Date.now() }, {
      kind: "user",
      userId: "bob",
      at: Date.now(),
    }],
  );
}
for (const [name, store] of stores) {
  Deno.bench(`${name}: 1 message per commit (+ its ack)`, { group: `store ${name}` }, async () => {
    await commitAndAck(store, 1);
  });
  Deno.bench(`${name}: 64 messages per commit (+ acks)`, { group: `store ${name}` }, async () => {
    await commitAndAck(store, 64);
  });
}

globalThis.addEventListener("unload", () => {
  for (const [, store] of stores) void store.close();
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // already gone
  }
});
