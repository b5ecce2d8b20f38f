// The durable Store (lib/server/store.ts) on node:sqlite, for ASL spec section 5's
// store-and-forward: WAL mode, synchronous=FULL, one transaction per batch (group commit),
// prepared statements reused, schema versioned with PRAGMA user_version and migrated here.

import { StoreError } from "./errors.ts";
import { DatabaseSync, type StatementSync } from "node:sqlite";
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

/** The schema version this code writes (PRAGMA user_version). */
export const SCHEMA_VERSION = 2;

/** Migrations: entry `i` takes a database from version `i` to `i + 1`. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO meta (key, value) VALUES ('next_sid', 1);
  CREATE TABLE users (
    user_id TEXT PRIMARY KEY,
    registered_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE queue (
    sid INTEGER PRIMARY KEY,
    recipient TEXT NOT NULL,
    sender TEXT NOT NULL,
    payload TEXT NOT NULL,
    accepted_at INTEGER NOT NULL
  );
  CREATE INDEX queue_by_recipient ON queue (recipient, sid);
  CREATE TABLE message_ids (
    sender TEXT NOT NULL,
    message_id TEXT NOT NULL,
    digest BLOB NOT NULL,
    accepted_at INTEGER NOT NULL,
    PRIMARY KEY (sender, message_id)
  ) WITHOUT ROWID;
  CREATE INDEX message_ids_by_time ON message_ids (accepted_at);
  `,
  // Version 2 (ASL revision 4, CERT): the chain each user presented at its latest REGISTER,
  // encoded by encodeChain. Users of an older database have none (NULL) until they register.
  `
  ALTER TABLE users ADD COLUMN cert_chain BLOB;
  `,
];

interface Statements {
  rememberId: StatementSync;
  recalledId: StatementSync;
  enqueue: StatementSync;
  dequeue: StatementSync;
  dequeueKnown: StatementSync;
  addUser: StatementSync;
  addUserChain: StatementSync;
  userChain: StatementSync;
  fetch: StatementSync;
  prune: StatementSync;
  setNextSid: StatementSync;
}

/**
 * A Store in one SQLite file, synchronous inside (node:sqlite): `apply` runs the batch's
 * transaction, disk flush included, before it returns. The server runs it on its network
 * thread by default, or in a worker (store_threaded.ts) with `--store-thread worker`.
 *
 * @example
 * ```ts ignore
 * import { SqliteStore } from "./store_sqlite.ts";
 * const store = new SqliteStore("data/netsec-msg.db");
 * const snapshot = await store.load();
 * ```
 */
export class SqliteStore implements Store {
  /** `apply` commits on the calling thread (see `Store.blocking`). */
  readonly blocking = true;
  readonly #db: DatabaseSync;
  readonly #st: Statements;
  #closed = false;

  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    try {
      this.#db.exec("PRAGMA journal_mode = WAL");
      this.#db.exec("PRAGMA synchronous = FULL");
      this.#db.exec("PRAGMA busy_timeout = 5000");
      migrate(this.#db);
      this.#st = prepare(this.#db);
    } catch (err) {
      this.#db.close();
      throw err;
    }
  }

  load(): Promise<StoreSnapshot> {
    this.#open();
    const users = this.#db.prepare("SELECT user_id FROM users").all()
      .map((row) => String(row.user_id));
    const queues = this.#db.prepare(
      "SELECT recipient, sender, count(*) AS n FROM queue GROUP BY recipient, sender",
    ).all().map((row) => ({
      recipient: String(row.recipient),
      sender: String(row.sender),
      count: Number(row.n),
    }));
    return Promise.resolve({ users, queues });
  }

  /**
   * The whole sid space from the durable counter on (one node owns this file): `apply`
   * raises the counter past the sids each batch accepts, in the batch's transaction.
   */
  leaseSids(): Promise<SidLease> {
    try {
      this.#open();
      const meta = this.#db.prepare("SELECT value FROM meta WHERE key = 'next_sid'").get();
      const maxRow = this.#db.prepare("SELECT max(sid) AS m FROM queue").get();
      return Promise.resolve(
        wholeSpace(Math.max(Number(meta?.value ?? 1), Number(maxRow?.m ?? 0) + 1)),
      );
    } catch (err) {
      return Promise.reject(err);
    }
  }

  apply(ops: readonly StoreOp[]): Promise<StoreResult[]> {
    try {
      return Promise.resolve(this.applySync(ops));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** `apply` without the promise: the batch's transaction, committed when it returns. */
  applySync(ops: readonly StoreOp[]): StoreResult[] {
    this.#open();
    const digests = batchDigests(ops);
    const db = this.#db;
    db.exec("BEGIN IMMEDIATE");
    try {
      const results = ops.map((op, i) => this.#applyOne(op, digests[i]));
      const sidEnd = sidsUsedEnd(ops);
      if (sidEnd > 0) this.#st.setNextSid.run(sidEnd, sidEnd);
      db.exec("COMMIT");
      return results;
    } catch (err) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw err;
    }
  }

  #applyOne(op: StoreOp, digest: Uint8Array | undefined): StoreResult {
    const st = this.#st;
    switch (op.kind) {
      case "accept":
        return { kind: "accept", outcome: this.#accept(op, digest ?? new Uint8Array()) };
      case "ack": {
        if (op.sender !== undefined) {
          const removed = Number(st.dequeueKnown.run(op.sid, op.recipient).changes) === 1;
          return removed ? { kind: "ack", removed, sender: op.sender } : { kind: "ack", removed };
        }
        const row = st.dequeue.get(op.sid, op.recipient);
        return row === undefined
          ? { kind: "ack", removed: false }
          : { kind: "ack", removed: true, sender: String(row.sender) };
      }
      case "user":
        if (op.chain === undefined) st.addUser.run(op.userId, op.at);
        else st.addUserChain.run(op.userId, op.at, encodeChain(op.chain));
        return { kind: "user" };
      case "cert": {
        const row = st.userChain.get(op.userId);
        if (row === undefined) return { kind: "cert", known: false, chain: undefined };
        const blob = row.cert_chain;
        return {
          kind: "cert",
          known: true,
          chain: blob instanceof Uint8Array ? decodeChain(blob) : undefined,
        };
      }
      case "fetch": {
        const exclude = op.exclude !== undefined && op.exclude.length > 0
          ? new Set(op.exclude)
          : undefined;
        const rows = st.fetch.all(op.recipient, op.afterSid, op.limit + (exclude?.size ?? 0));
        const messages: QueuedMessage[] = [];
        for (const row of rows) {
          const sid = Number(row.sid);
          if (exclude?.has(sid) || messages.length >= op.limit) continue;
          messages.push({ sid, sender: String(row.sender), payload: String(row.payload) });
        }
        return { kind: "fetch", messages };
      }
      case "prune":
        return { kind: "prune", pruned: Number(st.prune.run(op.before).changes) };
    }
  }

  #accept(op: AcceptOp, digest: Uint8Array): AcceptOutcome {
    const st = this.#st;
    if (op.precheck === "pass") {
      // The common case costs one statement: remember the id unless it is already known.
      const inserted = st.rememberId.run(op.sender, op.messageId, digest, op.at).changes;
      if (Number(inserted) === 1) {
        for (let i = 0; i < op.recipients.length; i++) {
          st.enqueue.run(op.firstSid + i, op.recipients[i] ?? "", op.sender, op.payload, op.at);
        }
        return "accepted";
      }
    }
    const row = st.recalledId.get(op.sender, op.messageId);
    if (row !== undefined) {
      return sameDigest(row.digest as Uint8Array, digest) ? "same" : "DUPLICATE_ID";
    }
    if (op.precheck === "pass") throw new Error("message id neither inserted nor found");
    return op.precheck;
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#db.close();
    }
    return Promise.resolve();
  }

  #open(): void {
    if (this.#closed) throw new StoreError("CLOSED", "the store is closed");
  }
}

function migrate(db: DatabaseSync): void {
  const row = db.prepare("PRAGMA user_version").get();
  let version = Number(row?.user_version ?? 0);
  if (version > SCHEMA_VERSION) {
    throw new StoreError(
      "SCHEMA_TOO_NEW",
      `the database has schema version ${version}; this server knows up to ${SCHEMA_VERSION}`,
    );
  }
  while (version < SCHEMA_VERSION) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(MIGRATIONS[version] ?? "");
      version++;
      db.exec(`PRAGMA user_version = ${version}`);
      db.exec("COMMIT");
    } catch (err) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw err;
    }
  }
}

function prepare(db: DatabaseSync): Statements {
  return {
    rememberId: db.prepare(
      "INSERT INTO message_ids (sender, message_id, digest, accepted_at) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT DO NOTHING",
    ),
    recalledId: db.prepare(
      "SELECT digest FROM message_ids WHERE sender = ? AND message_id = ?",
    ),
    enqueue: db.prepare(
      "INSERT INTO queue (sid, recipient, sender, payload, accepted_at) VALUES (?, ?, ?, ?, ?)",
    ),
    dequeue: db.prepare("DELETE FROM queue WHERE sid = ? AND recipient = ? RETURNING sender"),
    dequeueKnown: db.prepare("DELETE FROM queue WHERE sid = ? AND recipient = ?"),
    addUser: db.prepare(
      "INSERT INTO users (user_id, registered_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
    ),
    // An unchanged chain (the same certificate again) writes nothing, so such a REGISTER
    // costs no disk flush.
    addUserChain: db.prepare(
      "INSERT INTO users (user_id, registered_at, cert_chain) VALUES (?, ?, ?) " +
        "ON CONFLICT (user_id) DO UPDATE SET cert_chain = excluded.cert_chain " +
        "WHERE users.cert_chain IS NOT excluded.cert_chain",
    ),
    userChain: db.prepare("SELECT cert_chain FROM users WHERE user_id = ?"),
    fetch: db.prepare(
      "SELECT sid, sender, payload FROM queue WHERE recipient = ? AND sid > ? ORDER BY sid LIMIT ?",
    ),
    prune: db.prepare("DELETE FROM message_ids WHERE accepted_at < ?"),
    setNextSid: db.prepare(
      "UPDATE meta SET value = max(value, ?) WHERE key = 'next_sid' AND value < ?",
    ),
  };
}

/**
 * A chain as one BLOB: per certificate a 4-byte big-endian length, then its DER. Stored
 * as written, so a REGISTER with the same chain compares equal and writes nothing.
 */
export function encodeChain(chain: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const der of chain) size += 4 + der.length;
  const blob = new Uint8Array(size);
  const view = new DataView(blob.buffer);
  let at = 0;
  for (const der of chain) {
    view.setUint32(at, der.length);
    blob.set(der, at + 4);
    at += 4 + der.length;
  }
  return blob;
}

/** The certificates of a BLOB written by `encodeChain` (none for an empty one); throws on a damaged one. */
export function decodeChain(blob: Uint8Array): Uint8Array[] {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const chain: Uint8Array[] = [];
  let at = 0;
  while (at < blob.length) {
    if (at + 4 > blob.length) throw new Error("a recorded certificate chain is damaged");
    const length = view.getUint32(at);
    const end = at + 4 + length;
    if (length === 0 || end > blob.length) {
      throw new Error("a recorded certificate chain is damaged");
    }
    chain.push(blob.slice(at + 4, end));
    at = end;
  }
  return chain;
}
