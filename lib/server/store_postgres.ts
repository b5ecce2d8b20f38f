// The durable Store (lib/server/store.ts) on PostgreSQL, for ASL spec section 5's
// store-and-forward with a database that several server nodes share (docs/CLUSTER.md).
// Same semantics as store_sqlite.ts: each `apply` batch is one transaction, committed
// before its promise resolves; the schema is created or migrated at start under an
// advisory lock, so nodes may start together. For the cluster: sids in blocks from a
// sequence, known users and queue limits checked in the accept's statement, LISTEN/NOTIFY
// between nodes (queued messages, newer sessions), and a backoff while the database is
// unreachable. Client: the `postgres` npm package.

import { StoreError } from "./errors.ts";
import { createOrMigrateSchema, SID_BLOCK } from "./store_postgres_schema.ts";
import { QUEUE_CHANNEL, type Row, SESSION_CHANNEL, statement } from "./store_postgres_sql.ts";
import type postgres from "postgres";
import { connectPostgres } from "./pg_connect.ts";
import {
  type AcceptOp,
  type AcceptOutcome,
  batchDigests,
  type QueuedMessage,
  sameDigest,
  type SharedStore,
  type SidLease,
  type StoreOp,
  type StoreResult,
  type StoreSnapshot,
  type SweepInfo,
} from "./store.ts";
import type { ClusterEvents } from "./store.ts";
import { decodeChain } from "./store_sqlite.ts";
import { type PostgresLocation, redact, storeUrlText } from "./store_url.ts";

/** Backoff while the database is unreachable: first and longest wait, ms. */
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5_000;

/** How to reach the database. */
export interface PostgresStoreOptions {
  readonly location: PostgresLocation;
  /** The password (from PGPASSWORD or a file); none for trust or .pgpass authentication. */
  readonly password?: string;
  /** Seconds to wait for a new connection (default 10). */
  readonly connectTimeoutSec?: number;
  /** Seconds a statement may wait and run before it fails (default 30). */
  readonly queryTimeoutSec?: number;
}

type Sql = postgres.Sql;

/** Driver error codes that mean no connection was made or it was lost. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "QUEUE_TIMEOUT",
  "28P01", // invalid password
  "28000", // no pg_hba.conf entry / invalid authorization
  "3D000", // the database does not exist
  "57P01", // terminated by an administrator
  "57P03", // the server is starting up or shutting down
]);

/**
 * Driver error codes that mean a new connection could not be made (the database is down or
 * refuses): these start the backoff. A connection lost mid-way does not (the pool's next one
 * may work at once).
 */
const CONNECT_FAILURES = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "CONNECT_TIMEOUT",
  "28P01",
  "28000",
  "3D000",
  "57P03",
]);

/**
 * A Store in a PostgreSQL database that any number of server nodes share. One pool of
 * connections; each batch is sent as one `sql.batch` (one round trip, one transaction).
 * Sids come in blocks from the sequence `queue_sid`; the listening connection is the
 * driver's own (re-made with backoff after a loss, which calls `resync`).
 *
 * @example
 * ```ts ignore
 * import { PostgresStore } from "./store_postgres.ts";
 * const store = await PostgresStore.open({
 *   location: { kind: "postgres", host: "127.0.0.1", port: 5432, database: "netsec", user: "netsec" },
 *   password: Deno.env.get("PGPASSWORD"),
 * });
 * const snapshot = await store.load();
 * await store.close();
 * ```
 */
export class PostgresStore implements SharedStore {
  readonly shared = true;
  /** This process's name in notifications. */
  readonly nodeId = crypto.randomUUID().slice(0, 8);
  readonly #sql: Sql;
  readonly #where: string;
  readonly #password: string | undefined;
  #closed = false;
  /** While the database is unreachable: no statement is tried before this time (ms). */
  #downUntil = 0;
  #backoffMs = 0;

  private constructor(sql: Sql, where: string, password: string | undefined) {
    this.#sql = sql;
    this.#where = where;
    this.#password = password;
  }

  /** Connects, then creates or migrates the schema under an advisory lock. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const { location } = options;
    const sql = connectPostgres(location, {
      password: options.password,
      max: 4,
      connectTimeoutSec: options.connectTimeoutSec ?? 10,
      queryTimeoutSec: options.queryTimeoutSec ?? 30,
      applicationName: "netsec-msg",
    });
    const store = new PostgresStore(sql, storeUrlText(location), options.password);
    try {
      await store.#migrate();
    } catch (err) {
      await sql.end({ timeout: 1 }).catch(() => {});
      throw store.#wrap(err);
    }
    return store;
  }

  async #migrate(): Promise<void> {
    await this.#sql.begin((tx) => createOrMigrateSchema(tx));
  }

  async load(): Promise<StoreSnapshot> {
    this.#open();
    try {
      const sql = this.#sql;
      const [users = [], queues = []] = await sql.batch([
        sql`SELECT user_id FROM users`,
        sql`SELECT recipient, sender, count(*)::int8 AS n FROM queue GROUP BY recipient, sender`,
      ]) as unknown as Row[][];
      return {
        users: users.map((r) => String(r.user_id)),
        queues: queues.map((r) => ({
          recipient: String(r.recipient),
          sender: String(r.sender),
          count: Number(r.n),
        })),
      };
    } catch (err) {
      throw this.#wrap(err);
    }
  }

  /** A block of SID_BLOCK sids from the sequence (one round trip, no transaction held). */
  async leaseSids(): Promise<SidLease> {
    this.#open();
    this.#checkUp();
    try {
      const [row] = await this.#sql`SELECT nextval('queue_sid') AS first`;
      this.#up();
      const first = Number(row?.first);
      return { first, end: first + SID_BLOCK };
    } catch (err) {
      throw this.#failed(err);
    }
  }

  async apply(ops: readonly StoreOp[]): Promise<StoreResult[]> {
    this.#open();
    this.#checkUp();
    const sql = this.#sql;
    const digests = batchDigests(ops);
    const queries = ops.map((op, i) => statement(sql, op, digests[i], this.nodeId));
    let rows: readonly Row[][];
    try {
      // One round trip; outside `begin`, a batch is one implicit transaction (all or nothing).
      rows = queries.length === 0 ? [] : await sql.batch(queries) as unknown as Row[][];
      this.#up();
    } catch (err) {
      throw this.#failed(err);
    }
    const results: StoreResult[] = [];
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      results.push(await this.#result(op, digests[i], rows[i] ?? []));
    }
    return results;
  }

  /** The result of `op` from the rows its statement returned. */
  async #result(op: StoreOp, digest: Uint8Array | undefined, rows: Row[]): Promise<StoreResult> {
    switch (op.kind) {
      case "accept":
        return { kind: "accept", outcome: await this.#acceptOutcome(op, digest, rows[0]) };
      case "ack": {
        const row = rows[0];
        if (row === undefined) return { kind: "ack", removed: false };
        return { kind: "ack", removed: true, sender: op.sender ?? String(row.sender) };
      }
      case "user": {
        const epoch = rows[0]?.epoch;
        return epoch === undefined || epoch === null
          ? { kind: "user" }
          : { kind: "user", epoch: Number(epoch) };
      }
      case "cert": {
        const row = rows[0];
        if (row === undefined) return { kind: "cert", known: false, chain: undefined };
        const blob = row.cert_chain;
        return {
          kind: "cert",
          known: true,
          chain: blob instanceof Uint8Array ? decodeChain(new Uint8Array(blob)) : undefined,
        };
      }
      case "fetch": {
        const messages: QueuedMessage[] = rows.map((row) => ({
          sid: Number(row.sid),
          sender: String(row.sender),
          payload: String(row.payload),
        }));
        return { kind: "fetch", messages };
      }
      case "prune":
        return { kind: "prune", pruned: Number(rows[0]?.pruned ?? 0) };
    }
  }

  async #acceptOutcome(
    op: AcceptOp,
    digest: Uint8Array | undefined,
    row: Row | undefined,
  ): Promise<AcceptOutcome> {
    if (row?.inserted === true) return "accepted";
    let known = row?.digest;
    const verdict = row?.verdict;
    if (
      !(known instanceof Uint8Array) && (verdict === "UNKNOWN_USER" || verdict === "QUEUE_FULL")
    ) {
      return verdict;
    }
    if (!(known instanceof Uint8Array) && op.precheck === "pass") {
      // Not inserted, yet not seen: another node's transaction committed this id while
      // ours waited on it (its row was not in our statement's snapshot). Read it now.
      try {
        const [again] = await this.#sql`SELECT digest FROM message_ids
          WHERE sender = ${op.sender} AND message_id = ${op.messageId}`;
        known = again?.digest;
      } catch (err) {
        throw this.#wrap(err);
      }
      if (!(known instanceof Uint8Array)) {
        throw new StoreError("DATABASE", "message id neither inserted nor found");
      }
    }
    if (known instanceof Uint8Array) {
      return sameDigest(new Uint8Array(known), digest ?? new Uint8Array())
        ? "same"
        : "DUPLICATE_ID";
    }
    if (op.precheck === "pass") throw new Error("unreachable");
    return op.precheck;
  }

  /** Listens on both channels; `events.resync()` each time the listening connection is made. */
  async subscribe(events: ClusterEvents): Promise<void> {
    this.#open();
    const node = this.nodeId;
    try {
      await this.#sql.listen(QUEUE_CHANNEL, (payload) => {
        const [from, recipient] = payload.split(" ");
        if (from !== node && recipient !== undefined) events.queued(recipient);
      });
      await this.#sql.listen(SESSION_CHANNEL, (payload) => {
        const [from, user, epoch] = payload.split(" ");
        if (from !== node && user !== undefined) events.registered(user, Number(epoch));
      }, () => events.resync());
    } catch (err) {
      throw this.#wrap(err);
    }
  }

  async sweepInfo(users: readonly string[]): Promise<SweepInfo> {
    this.#open();
    this.#checkUp();
    let rows: readonly Row[];
    try {
      rows = await this.#sql`SELECT t.u AS user_id, s.epoch,
          EXISTS (SELECT 1 FROM queue WHERE recipient = t.u) AS queued
        FROM unnest(${users as string[]}::text[]) AS t(u)
        LEFT JOIN sessions s ON s.user_id = t.u`;
      this.#up();
    } catch (err) {
      throw this.#failed(err);
    }
    const epochs = new Map<string, number>();
    const queued = new Set<string>();
    for (const row of rows) {
      const user = String(row.user_id);
      if (row.epoch !== null && row.epoch !== undefined) epochs.set(user, Number(row.epoch));
      if (row.queued === true) queued.add(user);
    }
    return { epochs, queued };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#sql.end({ timeout: 5 }).catch(() => {});
  }

  #open(): void {
    if (this.#closed) throw new StoreError("CLOSED", "the store is closed");
  }

  /** Fails at once while the database is known unreachable (its backoff is running). */
  #checkUp(): void {
    if (this.#downUntil > Date.now()) {
      throw new StoreError("UNREACHABLE", `${this.#where}: unreachable (retrying)`);
    }
  }

  #up(): void {
    this.#backoffMs = 0;
    this.#downUntil = 0;
  }

  /** Wraps `err`; a connection that could not be made starts (or lengthens) the backoff. */
  #failed(err: unknown): StoreError {
    const wrapped = this.#wrap(err);
    const code = String((err as { code?: unknown } | null)?.code ?? "");
    if (CONNECT_FAILURES.has(code)) {
      this.#backoffMs = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, this.#backoffMs * 2));
      this.#downUntil = Date.now() + this.#backoffMs;
    }
    return wrapped;
  }

  /** A driver error as a StoreError naming the database, without the password. */
  #wrap(err: unknown): StoreError {
    if (err instanceof StoreError) {
      const message = err.message.startsWith(this.#where)
        ? err.message
        : `${this.#where}: ${err.message}`;
      return new StoreError(err.code, redact(message, this.#password));
    }
    const e = err instanceof Error ? err : new Error(String(err));
    const code = String((e as { code?: unknown }).code ?? "");
    const what = CONNECTION_CODES.has(code) ? "UNREACHABLE" : "DATABASE";
    const detail = e.message === "" ? code : e.message;
    return new StoreError(what, redact(`${this.#where}: ${detail}`, this.#password));
  }
}
