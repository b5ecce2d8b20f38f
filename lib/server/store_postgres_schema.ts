// The PostgreSQL store's schema (lib/server/store_postgres.ts, docs/CLUSTER.md): its version,
// the migrations from each version to the next, and their application under an advisory lock
// so that several nodes (and `server migrate`) may create or migrate it at the same time.

import type postgres from "postgres";
import { StoreError } from "./errors.ts";

/** The schema version this code writes (row `schema_version` of table `meta`). */
export const PG_SCHEMA_VERSION = 2;

/** Sids one `nextval` of the sequence `queue_sid` leases to a node. */
export const SID_BLOCK = 1024;

/** The advisory lock held while the schema is created or migrated ("NSMS" + 1). */
export const SCHEMA_LOCK_KEY = 0x4e534d53_0001;

/** Migrations: entry `i` takes a database from version `i` to `i + 1` (one transaction). */
const MIGRATIONS: readonly string[] = [
  // Version 1: the SQLite schema of version 2 (lib/server/store_sqlite.ts). Keys compare
  // as bytes (COLLATE "C"), as SQLite's do.
  `
  CREATE TABLE meta (
    key text COLLATE "C" PRIMARY KEY,
    value bigint NOT NULL
  );
  INSERT INTO meta (key, value) VALUES ('next_sid', 1), ('schema_version', 0);
  CREATE TABLE users (
    user_id text COLLATE "C" PRIMARY KEY,
    registered_at bigint NOT NULL,
    cert_chain bytea
  );
  CREATE TABLE queue (
    sid bigint PRIMARY KEY,
    recipient text COLLATE "C" NOT NULL,
    sender text COLLATE "C" NOT NULL,
    payload text NOT NULL,
    accepted_at bigint NOT NULL
  );
  CREATE INDEX queue_by_recipient ON queue (recipient, sid);
  CREATE TABLE message_ids (
    sender text COLLATE "C" NOT NULL,
    message_id text COLLATE "C" NOT NULL,
    digest bytea NOT NULL,
    accepted_at bigint NOT NULL,
    PRIMARY KEY (sender, message_id)
  );
  CREATE INDEX message_ids_by_time ON message_ids (accepted_at);
  `,
  // Version 2: several nodes. Sids from a sequence in blocks of SID_BLOCK (never below the
  // old counter or a queued sid); each user's latest session epoch; an index for the
  // per-pair queue limit counted in the database.
  `
  CREATE SEQUENCE queue_sid INCREMENT BY ${SID_BLOCK} MINVALUE 1;
  SELECT setval('queue_sid', greatest(
    (SELECT value FROM meta WHERE key = 'next_sid'),
    (SELECT coalesce(max(sid), 0) + 1 FROM queue)), false);
  DELETE FROM meta WHERE key = 'next_sid';
  CREATE SEQUENCE session_epoch;
  CREATE TABLE sessions (
    user_id text COLLATE "C" PRIMARY KEY,
    epoch bigint NOT NULL
  );
  CREATE INDEX queue_by_pair ON queue (recipient, sender);
  `,
];

/**
 * Creates or migrates the schema inside the transaction `tx`, under the advisory lock
 * SCHEMA_LOCK_KEY (held until `tx` ends), so that several processes may do it at once.
 * Also used by `server migrate` (lib/server/migrate.ts), which copies into the same
 * transaction. Throws StoreError("SCHEMA_TOO_NEW") for a newer database.
 */
export async function createOrMigrateSchema(tx: postgres.TransactionSql): Promise<void> {
  await tx`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK_KEY}::int8)`;
  const [present] = await tx`SELECT to_regclass('meta') IS NOT NULL AS present`;
  let version = 0;
  if (present?.present === true) {
    const [row] = await tx`SELECT value FROM meta WHERE key = 'schema_version'`;
    version = Number(row?.value ?? 0);
  }
  if (version > PG_SCHEMA_VERSION) {
    throw new StoreError(
      "SCHEMA_TOO_NEW",
      `the database has schema version ${version}; this server knows up to ${PG_SCHEMA_VERSION}`,
    );
  }
  while (version < PG_SCHEMA_VERSION) {
    await tx.unsafe(MIGRATIONS[version] ?? "");
    version++;
    await tx`UPDATE meta SET value = ${version} WHERE key = 'schema_version'`;
  }
}
