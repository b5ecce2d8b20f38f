// The PostgreSQL store's statements (lib/server/store_postgres.ts): one SQL statement per
// store operation, built when the batch is assembled and sent with it in one round trip. The
// accept of a cluster checks known users and queue limits in the same statement, after the
// MESSAGEID memory (spec section 5's reason order), and notifies the other nodes at commit.

import type postgres from "postgres";
import type { AcceptOp, StoreOp } from "./store.ts";
import { encodeChain } from "./store_sqlite.ts";

/** Notification channels: `NODE RECIPIENT` (queued) and `NODE USER EPOCH` (registered). */
export const QUEUE_CHANNEL = "netsec_queue";
export const SESSION_CHANNEL = "netsec_session";

type Sql = postgres.Sql;
/** A result row, as the driver returns it. */
export type Row = Record<string, unknown>;

/** The one statement of `op` (built now, sent with the batch). */
export function statement(
  sql: Sql,
  op: StoreOp,
  digest: Uint8Array | undefined,
  node: string,
): postgres.PendingQuery<Row[]> {
  switch (op.kind) {
    case "accept":
      if (op.limits !== undefined) return checkedAccept(sql, op, digest, node);
      if (op.precheck !== "pass") {
        return sql`SELECT false AS inserted, digest FROM message_ids
          WHERE sender = ${op.sender} AND message_id = ${op.messageId}`;
      }
      // Remember the id unless known; queue one copy per recipient only if it was new.
      // The digest subquery sees the table as before this statement: the earlier holder.
      return sql`WITH ins AS (
          INSERT INTO message_ids (sender, message_id, digest, accepted_at)
          VALUES (${op.sender}, ${op.messageId}, ${
        digest ?? new Uint8Array()
      }::bytea, ${op.at}::int8)
          ON CONFLICT DO NOTHING RETURNING 1
        ), q AS (
          INSERT INTO queue (sid, recipient, sender, payload, accepted_at)
          SELECT ${op.firstSid}::int8 + t.o - 1, t.r, ${op.sender}, ${op.payload}, ${op.at}::int8
          FROM unnest(${op.recipients as string[]}::text[]) WITH ORDINALITY AS t(r, o)
          WHERE EXISTS (SELECT 1 FROM ins)
        )
        SELECT EXISTS (SELECT 1 FROM ins) AS inserted,
          (SELECT digest FROM message_ids
            WHERE sender = ${op.sender} AND message_id = ${op.messageId}) AS digest`;
    case "ack":
      return op.sender !== undefined
        ? sql`DELETE FROM queue WHERE sid = ${op.sid}::int8 AND recipient = ${op.recipient}
            RETURNING 1 AS removed`
        : sql`DELETE FROM queue WHERE sid = ${op.sid}::int8 AND recipient = ${op.recipient}
            RETURNING sender`;
    case "user": {
      // An unchanged chain (the same certificate again) writes no user row. Every REGISTER
      // takes a new session epoch and tells the other nodes (at commit).
      const session = sql`s AS (
          INSERT INTO sessions (user_id, epoch) VALUES (${op.userId}, nextval('session_epoch'))
          ON CONFLICT (user_id) DO UPDATE SET epoch = excluded.epoch RETURNING epoch
        )
        SELECT epoch, pg_notify(${SESSION_CHANNEL}, ${node} || ' ' || ${op.userId} || ' ' || epoch)
        FROM s`;
      return op.chain === undefined
        ? sql`WITH u AS (
            INSERT INTO users (user_id, registered_at) VALUES (${op.userId}, ${op.at}::int8)
            ON CONFLICT DO NOTHING
          ), ${session}`
        : sql`WITH u AS (
            INSERT INTO users (user_id, registered_at, cert_chain)
            VALUES (${op.userId}, ${op.at}::int8, ${encodeChain(op.chain)}::bytea)
            ON CONFLICT (user_id) DO UPDATE SET cert_chain = excluded.cert_chain
            WHERE users.cert_chain IS DISTINCT FROM excluded.cert_chain
          ), ${session}`;
    }
    case "cert":
      return sql`SELECT cert_chain FROM users WHERE user_id = ${op.userId}`;
    case "fetch":
      return op.exclude === undefined || op.exclude.length === 0
        ? sql`SELECT sid, sender, payload FROM queue
          WHERE recipient = ${op.recipient} AND sid > ${op.afterSid}::int8
          ORDER BY sid LIMIT ${op.limit}::int8`
        : sql`SELECT sid, sender, payload FROM queue
          WHERE recipient = ${op.recipient} AND sid > ${op.afterSid}::int8
            AND sid <> ALL (${op.exclude as number[]}::int8[])
          ORDER BY sid LIMIT ${op.limit}::int8`;
    case "prune":
      return sql`WITH gone AS (
          DELETE FROM message_ids WHERE accepted_at < ${op.before}::int8 RETURNING 1
        ) SELECT count(*)::int8 AS pruned FROM gone`;
  }
}

/**
 * An accept that checks, after the MESSAGEID memory (the spec's reason order), that every
 * recipient is a registered user and that no recipient's queue (or the sender's share of
 * it) is full, counting in this transaction (so it sees earlier statements of its batch
 * and what other nodes committed), then remembers the id, queues one row per recipient and
 * notifies the other nodes at commit. The counts stop at the limit (LIMIT), so a check
 * reads at most `limits.queue` index entries of the recipient's queue, and the sender's share
 * is counted only when the queue holds at least `limits.pair` messages.
 */
function checkedAccept(
  sql: Sql,
  op: AcceptOp,
  digest: Uint8Array | undefined,
  node: string,
): postgres.PendingQuery<Row[]> {
  const limits = op.limits ?? { queue: 0, pair: 0 };
  const recipients = op.recipients as string[];
  return sql`WITH prior AS (
      SELECT digest FROM message_ids WHERE sender = ${op.sender} AND message_id = ${op.messageId}
    ), verdict AS (
      SELECT CASE
        WHEN EXISTS (SELECT 1 FROM prior) THEN 'known'
        WHEN EXISTS (SELECT 1 FROM unnest(${recipients}::text[]) AS t(r)
          WHERE NOT EXISTS (SELECT 1 FROM users WHERE user_id = t.r)) THEN 'UNKNOWN_USER'
        WHEN EXISTS (SELECT 1 FROM unnest(${recipients}::text[]) AS t(r)
          CROSS JOIN LATERAL (SELECT count(*) AS n FROM (SELECT 1 FROM queue
            WHERE recipient = t.r LIMIT ${limits.queue}::int8) AS a) AS q
          WHERE CASE
            WHEN q.n >= ${limits.queue}::int8 THEN true
            WHEN q.n < ${limits.pair}::int8 THEN false -- the pair's share cannot be full
            ELSE (SELECT count(*) FROM (SELECT 1 FROM queue
                WHERE recipient = t.r AND sender = ${op.sender}
                LIMIT ${limits.pair}::int8) AS b) >= ${limits.pair}::int8
          END) THEN 'QUEUE_FULL'
        ELSE 'pass' END AS v
    ), ins AS (
      INSERT INTO message_ids (sender, message_id, digest, accepted_at)
      SELECT ${op.sender}, ${op.messageId}, ${digest ?? new Uint8Array()}::bytea, ${op.at}::int8
      WHERE (SELECT v FROM verdict) = 'pass'
      ON CONFLICT DO NOTHING RETURNING 1
    ), q AS (
      INSERT INTO queue (sid, recipient, sender, payload, accepted_at)
      SELECT ${op.firstSid}::int8 + t.o - 1, t.r, ${op.sender}, ${op.payload}, ${op.at}::int8
      FROM unnest(${recipients}::text[]) WITH ORDINALITY AS t(r, o)
      WHERE EXISTS (SELECT 1 FROM ins)
    ), n AS (
      SELECT pg_notify(${QUEUE_CHANNEL}, ${node} || ' ' || t.r)
      FROM unnest(${recipients}::text[]) AS t(r)
      WHERE EXISTS (SELECT 1 FROM ins)
    )
    SELECT EXISTS (SELECT 1 FROM ins) AS inserted, (SELECT digest FROM prior) AS digest,
      (SELECT v FROM verdict) AS verdict, (SELECT count(*) FROM n) AS notified`;
}
