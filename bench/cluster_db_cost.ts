// Database work per relayed message on the PostgreSQL store (docs/CLUSTER.md, "How far it
// scales"): two server.ts nodes on one throwaway database, alice on node 1 sending to bob on
// node 2 (cross-node) or on node 1 (same node), bob acknowledging; the database's own
// counters (pg_stat_database) before and after give transactions, rows written and read per
// message (N pipelined); then 300 messages one at a time give the latency. Then the
// database's commit rate: single-row INSERT transactions from 1, 4 and 16 connections for 2 s
// each (synchronous_commit on, as the store uses it). The server given by NETSEC_TEST_PG_URL
// (and NETSEC_TEST_PG_PASSWORD_FILE or PGPASSWORD), else a throwaway cluster started here:
//   deno run -A bench/cluster_db_cost.ts [MESSAGES]
// Built from lib/ and tools/ (the load tool's PKI, PostgreSQL and ASL clients), not tests/.

import type postgres from "postgres";
import { connectPostgres } from "../lib/server/pg_connect.ts";
import { parseStoreUrl, storeUrlText } from "../lib/server/store_url.ts";
import { spawnServerTs } from "../tools/harness.ts";
import { openAsl } from "../tools/load/asl_client.ts";
import { openLoadPki } from "../tools/load/context.ts";
import { openPgStore, stopThrowaway } from "../tools/load/postgres.ts";
import { register } from "../tools/load/relay.ts";
import { summarize } from "../tools/load/stats.ts";

const encoder = new TextEncoder();
const print = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));
const N = Number(Deno.args[0] ?? 2000);
const WINDOW = 100;
const P = "aGVsbG8gd29ybGQ=";

const url = Deno.env.get("NETSEC_TEST_PG_URL");
const location = url === undefined ? undefined : parseStoreUrl(url);
if (typeof location === "string" || (location !== undefined && location.kind !== "postgres")) {
  Deno.stderr.writeSync(encoder.encode(`NETSEC_TEST_PG_URL is not usable: ${location}\n`));
  Deno.exit(2);
}
const passwordFile = Deno.env.get("NETSEC_TEST_PG_PASSWORD_FILE") || undefined;
const store = await openPgStore(
  location === undefined
    ? { kind: "throwaway" }
    : { kind: "url", location, ...(passwordFile !== undefined ? { passwordFile } : {}) },
);
const sql = (database: string, max = 1) =>
  connectPostgres(store.location, { password: store.password, database, max });
const database = `netsec_dbcost_${Deno.pid}`;
const admin = sql(store.location.database);
const dir = await Deno.makeTempDir({ prefix: "netsec-dbcost-" });
let stats: postgres.Sql | undefined;

async function counters(): Promise<Record<string, number>> {
  const [row] = await stats!`SELECT xact_commit, xact_rollback, tup_inserted, tup_deleted,
      tup_updated, tup_returned, tup_fetched,
      pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') AS wal_bytes
    FROM pg_stat_database WHERE datname = current_database()`;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(row ?? {})) out[k] = Number(v);
  return out;
}

/**
 * Waits until the statistics have caught up: PostgreSQL 15 backends that stay connected (the
 * nodes' pools) report theirs once idle for 10 s.
 */
async function settled(): Promise<Record<string, number>> {
  await new Promise((r) => setTimeout(r, 11_000));
  await stats!`SELECT pg_stat_clear_snapshot()`;
  return await counters();
}

try {
  await admin.unsafe(`CREATE DATABASE "${database}"`);
  stats = sql(database);
  const { pki, users } = await openLoadPki(`${dir}/pki`, true);
  const args = ["--store", storeUrlText({ ...store.location, database }), "--rate", "0"];
  if (store.passwordFile !== undefined) args.push("--store-password-file", store.passwordFile);
  const n1 = await spawnServerTs({ pki, args, timeoutMs: 30_000 });
  const n2 = await spawnServerTs({ pki, args, timeoutMs: 30_000 });
  /** `user`'s registered session on `port`, and the next line it receives. */
  const client = async (port: number, user: string) => {
    const target = { hostname: "127.0.0.1", port, pki, users, suite: "X25519_AES_GCM" as const };
    const session = await openAsl(target, user);
    const lines = session[Symbol.asyncIterator]();
    await register(session, user, () => {}, lines);
    const next = async () => {
      const r = await lines.next();
      if (r.done === true) throw new Error(`${user}: the session ended`);
      return r.value;
    };
    return { session, next };
  };
  try {
    for (const [label, bobPort] of [["cross-node", n2.port], ["same node", n1.port]] as const) {
      const alice = await client(n1.port, "alice");
      const bob = await client(bobPort, "bob");
      /** The sid of bob's next delivery. */
      const delivery = async () => {
        for (let line = await bob.next();; line = await bob.next()) {
          if (line.startsWith("MESSAGE ")) return line.split(" ")[1]!;
        }
      };
      const ack = (sid: string) => bob.session.send(`OK ${sid}`);
      const replied = async () => {
        const reply = await alice.next();
        if (!reply.startsWith("OK")) throw new Error(reply);
      };
      const before = await settled();
      const started = performance.now();
      const receiving = (async () => {
        const acks: Promise<void>[] = [];
        for (let got = 0; got < N; got++) acks.push(ack(await delivery()));
        await Promise.all(acks);
      })();
      for (let i = 0; i < N; i += WINDOW) {
        const n = Math.min(WINDOW, N - i);
        for (let j = 0; j < n; j++) {
          await alice.session.send(`MESSAGE ${label[0]}${i + j} bob ${P}`);
        }
        for (let j = 0; j < n; j++) await replied();
      }
      await receiving;
      const ms = performance.now() - started;
      const after = await settled();
      const per = (k: string) => ((after[k]! - before[k]!) / N).toFixed(2);
      print(
        `${label}: ${N} messages in ${ms.toFixed(0)} ms (${(N / ms * 1000).toFixed(0)}/s); ` +
          `per message: ${per("xact_commit")} commits, ${per("tup_inserted")} rows inserted, ` +
          `${per("tup_deleted")} deleted, ${per("tup_updated")} updated, ` +
          `${per("tup_fetched")} fetched, ${per("tup_returned")} returned, ` +
          `${per("wal_bytes")} WAL bytes ` +
          `(includes the connections' own catalogue reads and the 5 s sweeps)`,
      );
      // One message at a time: MESSAGE sent until delivered to bob (and acknowledged).
      const lat: number[] = [];
      for (let i = 0; i < 300; i++) {
        const t0 = performance.now();
        await alice.session.send(`MESSAGE ${label[0]}l${i} bob ${P}`);
        const sid = await delivery();
        lat.push(performance.now() - t0);
        await ack(sid);
        await replied();
      }
      const { p50_ms, p99_ms } = summarize(lat);
      print(
        `${label}: one at a time, MESSAGE → delivery: p50 ${p50_ms.toFixed(2)} ms, ` +
          `p99 ${p99_ms.toFixed(2)} ms`,
      );
      await alice.session.close();
      await bob.session.close();
    }
  } finally {
    await n1.stop();
    await n2.stop();
  }

  // The commit rate: one-row INSERT transactions, each durably committed.
  await stats`CREATE TABLE probe (id bigserial PRIMARY KEY, at bigint NOT NULL)`;
  for (const conns of [1, 4, 16]) {
    const pool = sql(database, conns);
    let commits = 0;
    const end = performance.now() + 2000;
    await Promise.all(Array.from({ length: conns }, async () => {
      while (performance.now() < end) {
        await pool`INSERT INTO probe (at) VALUES (${Date.now()})`;
        commits++;
      }
    }));
    await pool.end();
    print(`commit rate, ${conns} connection(s): ${(commits / 2).toFixed(0)} commits/s`);
  }
} finally {
  await stats?.end();
  await admin.unsafe(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => {});
  await admin.end();
  if (store.throwawayDir !== undefined) stopThrowaway(store.throwawayDir);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
