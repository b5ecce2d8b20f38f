// `server migrate` (docs/CLUSTER.md, "Moving from one machine"): copies the durable state of
// ASL spec section 5 from a SQLite store (lib/server/store_sqlite.ts, schema 1 or 2) into a
// PostgreSQL store (lib/server/store_postgres.ts, schema 2): users with their first
// registration time and recorded certificate chains, the queued messages under their own
// sids, and the senders' MESSAGEID memory; the sid sequence is set past every copied sid.
// All or nothing: one PostgreSQL transaction, schema creation under the store's advisory
// lock included, so a failed or interrupted run leaves the target as it was. The source is
// opened read-only.

import { DatabaseSync } from "node:sqlite";
import type postgres from "postgres";
import { connectPostgres } from "./pg_connect.ts";
import { StoreError } from "./errors.ts";
import { createOrMigrateSchema, SID_BLOCK } from "./store_postgres_schema.ts";
import { decodeChain, SCHEMA_VERSION as SQLITE_SCHEMA_VERSION } from "./store_sqlite.ts";
import { type PostgresLocation, redact, storeUrlText } from "./store_url.ts";

/** What went wrong; messages never hold the password. */
export type MigrateErrorCode =
  | "SOURCE" // the SQLite file cannot be opened or read, or is not a NetSec-MSG database
  | "SOURCE_SCHEMA" // the SQLite file was written by a newer version
  | "BAD_ROW" // a row of the source that the target cannot hold (nothing was copied)
  | "NOT_EMPTY" // the target holds data and `force` was not given
  | "TARGET"; // the PostgreSQL database failed or could not be reached (nothing was copied)

/** A failed migration; the target is as it was before. */
export class MigrateError extends Error {
  override name = "MigrateError";
  constructor(readonly code: MigrateErrorCode, message: string) {
    super(message);
  }
}

/** The copy's source, target and choices. */
export interface MigrateOptions {
  /** The SQLite database file (opened read-only). */
  readonly from: string;
  /** The PostgreSQL database. */
  readonly to: PostgresLocation;
  readonly password?: string;
  /** Replace what the target holds (else a target with data is refused). */
  readonly force?: boolean;
  /** Seconds to wait for the connection (default 10). */
  readonly connectTimeoutSec?: number;
  /** Rows per INSERT statement (default 500). */
  readonly chunkRows?: number;
  /** Called after each table is copied, inside the transaction (for progress, and tests). */
  readonly onTable?: (table: "users" | "queue" | "message_ids", rows: number) => Promise<void>;
}

/** What the target held before a `force` run replaced it. */
export interface TargetContents {
  readonly users: number;
  readonly queued: number;
  readonly messageIds: number;
  readonly sessions: number;
}

/** What was copied. */
export interface MigrateReport {
  readonly users: number;
  /** Of those, users with a recorded certificate chain. */
  readonly usersWithChain: number;
  readonly queued: number;
  /** The lowest and highest copied sid (0 when nothing was queued). */
  readonly firstSid: number;
  readonly lastSid: number;
  readonly messageIds: number;
  /** The first sid the target's sequence hands out next. */
  readonly nextSid: number;
  /** What `force` replaced (undefined when the target held nothing). */
  readonly replaced?: TargetContents;
}

type Row = Record<string, unknown>;

/**
 * Copies the SQLite database `options.from` into the PostgreSQL database `options.to` in one
 * transaction. Throws MigrateError; then the target is unchanged.
 *
 * @example
 * ```ts ignore
 * import { migrateSqliteToPostgres } from "./migrate.ts";
 * const report = await migrateSqliteToPostgres({
 *   from: "data/netsec-msg.db",
 *   to: { kind: "postgres", host: "db", port: 5432, database: "netsec", user: "netsec" },
 *   password: Deno.env.get("PGPASSWORD"),
 * });
 * console.log(report.users, report.queued, report.messageIds);
 * ```
 */
export async function migrateSqliteToPostgres(options: MigrateOptions): Promise<MigrateReport> {
  const source = openSource(options.from);
  try {
    // One read transaction: a consistent snapshot of the source for the whole copy.
    source.exec("BEGIN");
    return await copyInto(source, options);
  } finally {
    source.close();
  }
}

/** Opens the SQLite file read-only and checks that its schema is one this code knows. */
function openSource(path: string): DatabaseSync {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: true });
  } catch (err) {
    throw new MigrateError("SOURCE", `cannot open ${path}: ${(err as Error).message}`);
  }
  try {
    const version = Number(db.prepare("PRAGMA user_version").get()?.user_version ?? 0);
    if (version > SQLITE_SCHEMA_VERSION) {
      throw new MigrateError(
        "SOURCE_SCHEMA",
        `${path} has schema version ${version}; this version knows up to ${SQLITE_SCHEMA_VERSION}`,
      );
    }
    if (version < 1) {
      throw new MigrateError("SOURCE", `${path} is not a NetSec-MSG database (schema version 0)`);
    }
    return db;
  } catch (err) {
    db.close();
    if (err instanceof MigrateError) throw err;
    throw new MigrateError("SOURCE", `cannot read ${path}: ${(err as Error).message}`);
  }
}

async function copyInto(source: DatabaseSync, options: MigrateOptions): Promise<MigrateReport> {
  const where = storeUrlText(options.to);
  const chunk = options.chunkRows ?? 500;
  const hasChains = Number(source.prepare("PRAGMA user_version").get()?.user_version) >= 2;
  const sql = connectPostgres(options.to, {
    password: options.password,
    connectTimeoutSec: options.connectTimeoutSec ?? 10,
    applicationName: "netsec-msg migrate",
  });
  try {
    return await sql.begin(async (tx) => {
      await createOrMigrateSchema(tx);
      const replaced = await emptyTarget(tx, where, options.force === true);

      // Users, in user id order, with their first registration time and chain.
      let users = 0;
      let usersWithChain = 0;
      const userRows = source.prepare(
        `SELECT user_id, registered_at, ${hasChains ? "cert_chain" : "NULL AS cert_chain"}
         FROM users WHERE user_id > ? ORDER BY user_id LIMIT ?`,
      );
      for (let after = "";;) {
        const rows = userRows.all(after, chunk);
        if (rows.length === 0) break;
        const batch = rows.map((row) => {
          const user = {
            user_id: text(row, "users", "user_id"),
            registered_at: integer(row, "users", "registered_at"),
            cert_chain: chain(row),
          };
          if (user.cert_chain !== null) usersWithChain++;
          return user;
        });
        await tx`INSERT INTO users ${tx(batch, "user_id", "registered_at", "cert_chain")}`;
        users += batch.length;
        after = batch[batch.length - 1]!.user_id;
      }
      await options.onTable?.("users", users);

      // Queued messages, in sid order, under their own sids.
      let queued = 0;
      let firstSid = 0;
      let lastSid = 0;
      const queueRows = source.prepare(
        `SELECT sid, recipient, sender, payload, accepted_at
         FROM queue WHERE sid > ? ORDER BY sid LIMIT ?`,
      );
      for (let after = -1;;) {
        const rows = queueRows.all(after, chunk);
        if (rows.length === 0) break;
        const batch = rows.map((row) => ({
          sid: integer(row, "queue", "sid"),
          recipient: text(row, "queue", "recipient"),
          sender: text(row, "queue", "sender"),
          payload: text(row, "queue", "payload"),
          accepted_at: integer(row, "queue", "accepted_at"),
        }));
        await tx`INSERT INTO queue ${
          tx(batch, "sid", "recipient", "sender", "payload", "accepted_at")
        }`;
        if (queued === 0) firstSid = batch[0]!.sid;
        queued += batch.length;
        lastSid = batch[batch.length - 1]!.sid;
        after = lastSid;
      }
      await options.onTable?.("queue", queued);

      // The MESSAGEID memory: sender, id, content digest, accepted time.
      let messageIds = 0;
      const idRows = source.prepare(
        `SELECT sender, message_id, digest, accepted_at FROM message_ids
         WHERE (sender, message_id) > (?, ?) ORDER BY sender, message_id LIMIT ?`,
      );
      for (let afterSender = "", afterId = "";;) {
        const rows = idRows.all(afterSender, afterId, chunk);
        if (rows.length === 0) break;
        const batch = rows.map((row) => ({
          sender: text(row, "message_ids", "sender"),
          message_id: text(row, "message_ids", "message_id"),
          digest: blob(row, "message_ids", "digest"),
          accepted_at: integer(row, "message_ids", "accepted_at"),
        }));
        await tx`INSERT INTO message_ids ${
          tx(batch, "sender", "message_id", "digest", "accepted_at")
        }`;
        messageIds += batch.length;
        const last = batch[batch.length - 1]!;
        afterSender = last.sender;
        afterId = last.message_id;
      }
      await options.onTable?.("message_ids", messageIds);

      // The sid sequence: past every copied sid and the source's counter, and never back.
      const counter = source.prepare("SELECT value FROM meta WHERE key = 'next_sid'").get();
      const sourceNext = Math.max(
        counter === undefined ? 1 : integer(counter, "meta", "value"),
        lastSid + 1,
      );
      const [seq] = await tx`SELECT last_value, is_called FROM queue_sid`;
      const targetNext = seq?.is_called === true
        ? Number(seq.last_value) + SID_BLOCK
        : Number(seq?.last_value ?? 1);
      const nextSid = Math.max(sourceNext, targetNext);
      await tx`SELECT setval('queue_sid', ${nextSid}::int8, false)`;

      return {
        users,
        usersWithChain,
        queued,
        firstSid,
        lastSid,
        messageIds,
        nextSid,
        ...(replaced !== undefined ? { replaced } : {}),
      };
    });
  } catch (err) {
    if (err instanceof MigrateError) throw err;
    const e = err as Error & { code?: unknown };
    const detail = e.message === "" ? String(e.code ?? "failed") : e.message;
    const code = err instanceof StoreError && err.code === "SCHEMA_TOO_NEW"
      ? "target schema too new: "
      : "";
    throw new MigrateError(
      "TARGET",
      redact(`${where}: ${code}${detail} (nothing was copied)`, options.password),
    );
  } finally {
    await sql.end({ timeout: 5 }).catch(() => {});
  }
}

/**
 * Refuses a target that holds users, queued messages, MESSAGEID memory or sessions, unless
 * `force`: then empties it (in the transaction) and returns what it held.
 */
async function emptyTarget(
  tx: postgres.TransactionSql,
  where: string,
  force: boolean,
): Promise<TargetContents | undefined> {
  const [row] = await tx`SELECT
    (SELECT count(*) FROM users)::int8 AS users,
    (SELECT count(*) FROM queue)::int8 AS queued,
    (SELECT count(*) FROM message_ids)::int8 AS message_ids,
    (SELECT count(*) FROM sessions)::int8 AS sessions`;
  const held: TargetContents = {
    users: Number(row?.users ?? 0),
    queued: Number(row?.queued ?? 0),
    messageIds: Number(row?.message_ids ?? 0),
    sessions: Number(row?.sessions ?? 0),
  };
  if (held.users + held.queued + held.messageIds + held.sessions === 0) return undefined;
  if (!force) {
    throw new MigrateError(
      "NOT_EMPTY",
      `${where} is not empty: it holds ${describeContents(held)} (--force replaces them)`,
    );
  }
  await tx`TRUNCATE users, queue, message_ids, sessions`;
  return held;
}

/** "2 users, 5 queued messages, 3 message ids, 1 session". */
export function describeContents(c: TargetContents): string {
  return [
    plural(c.users, "user"),
    plural(c.queued, "queued message"),
    plural(c.messageIds, "message id"),
    plural(c.sessions, "session"),
  ].join(", ");
}

/** The report as one line for the operator. */
export function describeReport(r: MigrateReport): string {
  const sids = r.queued === 0 ? "" : ` (sids ${r.firstSid} to ${r.lastSid})`;
  const replaced = r.replaced === undefined
    ? ""
    : `; replaced ${describeContents(r.replaced)} that the target held`;
  return `copied ${plural(r.users, "user")} (${r.usersWithChain} with a certificate chain), ` +
    `${plural(r.queued, "queued message")}${sids}, ${plural(r.messageIds, "message id")}; ` +
    `next sid ${r.nextSid}${replaced}`;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

function bad(table: string, row: Row, column: string, why: string): MigrateError {
  const key = table === "queue"
    ? `sid ${String(row.sid)}`
    : table === "users"
    ? `user ${JSON.stringify(String(row.user_id))}`
    : table === "message_ids"
    ? `sender ${JSON.stringify(String(row.sender))} id ${JSON.stringify(String(row.message_id))}`
    : `key next_sid`;
  return new MigrateError(
    "BAD_ROW",
    `source table ${table}, ${key}: ${column} ${why} (nothing was copied)`,
  );
}

function text(row: Row, table: string, column: string): string {
  const v = row[column];
  if (typeof v !== "string" || v === "") throw bad(table, row, column, "is not a non-empty text");
  return v;
}

function integer(row: Row, table: string, column: string): number {
  const v = row[column];
  const n = typeof v === "bigint" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    throw bad(table, row, column, "is not a non-negative integer");
  }
  return n;
}

function blob(row: Row, table: string, column: string): Uint8Array {
  const v = row[column];
  if (!(v instanceof Uint8Array)) throw bad(table, row, column, "is not a BLOB");
  return v;
}

/** A user's chain BLOB (checked to decode), or null for a user without one. */
function chain(row: Row): Uint8Array | null {
  const v = row.cert_chain;
  if (v === null || v === undefined) return null;
  if (!(v instanceof Uint8Array)) throw bad("users", row, "cert_chain", "is not a BLOB");
  try {
    decodeChain(v);
  } catch {
    throw bad("users", row, "cert_chain", "is a damaged certificate chain");
  }
  return v;
}
