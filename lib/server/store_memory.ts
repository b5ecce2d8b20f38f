// An in-memory Store (lib/server/store.ts) for unit tests and throwaway servers: the same
// semantics as the SQLite store (ASL spec section 5), nothing durable.

import {
  type AcceptOp,
  type AcceptOutcome,
  batchDigests,
  type QueuedMessage,
  sameDigest,
  type SidLease,
  sidsUsedEnd,
  type Store,
  type StoreOp,
  type StoreResult,
  type StoreSnapshot,
  wholeSpace,
} from "./store.ts";

interface Remembered {
  readonly digest: Uint8Array;
  readonly at: number;
}

interface Row extends QueuedMessage {
  readonly recipient: string;
}

/**
 * A Store kept in maps. `apply` validates nothing it cannot also undo: ops are applied in
 * order and the batch is all-or-nothing like a transaction.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "./store_memory.ts";
 * const store = new MemoryStore();
 * await store.apply([{ kind: "user", userId: "bob", at: Date.now() }]);
 * console.log((await store.load()).users); // ["bob"]
 * ```
 */
export class MemoryStore implements Store {
  #users = new Map<string, number>();
  /** Recorded chains (copies), per USERID. */
  #chains = new Map<string, readonly Uint8Array[]>();
  #queue = new Map<number, Row>(); // insertion order = sid order
  #ids = new Map<string, Remembered>(); // key: sender + " " + messageId
  #nextSid = 1;
  #closed = false;

  load(): Promise<StoreSnapshot> {
    const counts = new Map<string, { recipient: string; sender: string; count: number }>();
    for (const row of this.#queue.values()) {
      const key = `${row.recipient} ${row.sender}`;
      const entry = counts.get(key) ?? { recipient: row.recipient, sender: row.sender, count: 0 };
      entry.count++;
      counts.set(key, entry);
    }
    return Promise.resolve({
      users: [...this.#users.keys()],
      queues: [...counts.values()],
    });
  }

  leaseSids(): Promise<SidLease> {
    return Promise.resolve(wholeSpace(this.#nextSid));
  }

  apply(ops: readonly StoreOp[]): Promise<StoreResult[]> {
    if (this.#closed) return Promise.reject(new Error("the store is closed"));
    try {
      const digests = batchDigests(ops);
      const results: StoreResult[] = [];
      ops.forEach((op, i) => results.push(this.#applyOne(op, digests[i])));
      this.#nextSid = Math.max(this.#nextSid, sidsUsedEnd(ops));
      return Promise.resolve(results);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #applyOne(op: StoreOp, digest: Uint8Array | undefined): StoreResult {
    switch (op.kind) {
      case "accept":
        return { kind: "accept", outcome: this.#accept(op, digest ?? new Uint8Array()) };
      case "ack": {
        const row = this.#queue.get(op.sid);
        if (row === undefined || row.recipient !== op.recipient) {
          return { kind: "ack", removed: false };
        }
        this.#queue.delete(op.sid);
        return { kind: "ack", removed: true, sender: row.sender };
      }
      case "user":
        if (!this.#users.has(op.userId)) this.#users.set(op.userId, op.at);
        if (op.chain !== undefined) {
          this.#chains.set(op.userId, op.chain.map((der) => der.slice()));
        }
        return { kind: "user" };
      case "cert": {
        const chain = this.#chains.get(op.userId);
        return {
          kind: "cert",
          known: this.#users.has(op.userId),
          chain: chain?.map((der) => der.slice()),
        };
      }
      case "fetch": {
        const messages: QueuedMessage[] = [];
        for (const row of this.#queue.values()) {
          if (messages.length >= op.limit) break;
          if (
            row.recipient === op.recipient && row.sid > op.afterSid &&
            !(op.exclude?.includes(row.sid) ?? false)
          ) {
            messages.push({ sid: row.sid, sender: row.sender, payload: row.payload });
          }
        }
        return { kind: "fetch", messages };
      }
      case "prune": {
        let pruned = 0;
        for (const [key, memo] of this.#ids) {
          if (memo.at < op.before) {
            this.#ids.delete(key);
            pruned++;
          }
        }
        return { kind: "prune", pruned };
      }
    }
  }

  #accept(op: AcceptOp, digest: Uint8Array): AcceptOutcome {
    const key = `${op.sender} ${op.messageId}`;
    const memo = this.#ids.get(key);
    if (memo !== undefined) return sameDigest(memo.digest, digest) ? "same" : "DUPLICATE_ID";
    if (op.precheck !== "pass") return op.precheck;
    this.#ids.set(key, { digest, at: op.at });
    op.recipients.forEach((recipient, i) => {
      const sid = op.firstSid + i;
      this.#queue.set(sid, { sid, recipient, sender: op.sender, payload: op.payload });
    });
    return "accepted";
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
