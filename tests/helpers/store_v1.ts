// A database as the server wrote it before revision 4 (SQLite schema version 1, no recorded
// certificate chains), for the migration tests of lib/server/store_sqlite.ts (ASL spec
// section 5, CERT: such users answer NO_CERTIFICATE until they register again).

import { DatabaseSync } from "node:sqlite";

/** The schema of version 1, as that version's migration created it. */
export const SCHEMA_V1 = `
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
  PRAGMA user_version = 1;
`;

/** A message queued in the old database. */
export interface V1Queued {
  readonly sid: number;
  readonly recipient: string;
  readonly sender: string;
  readonly payload: string;
}

/**
 * Writes a version 1 database at `path` with `users` registered at `at` and `queued`
 * messages waiting; its sid counter is one past the highest sid.
 */
export function writeV1Database(
  path: string,
  users: readonly string[],
  queued: readonly V1Queued[] = [],
  at = 1_700_000_000_000,
): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(SCHEMA_V1);
    const addUser = db.prepare("INSERT INTO users (user_id, registered_at) VALUES (?, ?)");
    for (const user of users) addUser.run(user, at);
    const enqueue = db.prepare(
      "INSERT INTO queue (sid, recipient, sender, payload, accepted_at) VALUES (?, ?, ?, ?, ?)",
    );
    let next = 1;
    for (const m of queued) {
      enqueue.run(m.sid, m.recipient, m.sender, m.payload, at);
      next = Math.max(next, m.sid + 1);
    }
    db.prepare("UPDATE meta SET value = ? WHERE key = 'next_sid'").run(next);
  } finally {
    db.close();
  }
}
