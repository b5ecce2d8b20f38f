// Database work per relayed message on the PostgreSQL store (docs/CLUSTER.md, "How far it
// scales"): two server.ts nodes on one throwaway database, alice on node 1 sending to bob on
// node 2 (cross-node) or on node 1 (same node), bob acknowledging; the database's own
// counters (pg_stat_database) before and after give transactions, rows written and read per
// message (N pipelined); then 300 messages one at a time give the latency. Then the database's commit rate: single-row INSERT transactions from 1, 4 and 16
// connections for 2 s each (synchronous_commit on, as the store uses it).
//
//   eval "$(tools/pg/cluster.sh start)"
//   deno run -A bench/cluster_db_cost.ts [MESSAGES]
//   tools/pg/cluster.sh stop "$NETSEC_TEST_PG_DIR"

import postgres from "postgres";
import { storeUrlText } from "../lib/server/store_url.ts";
import { adminSql, createPgDatabase, pgTestEnv } from "../tests/helpers/pg.ts";
import { makeTestPki } from "../tests/helpers/pki.ts";
import { spawnServer, TestClient } from "../tests/helpers/server.ts";

const encoder = new TextEncoder();
const print = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));
const env = pgTestEnv();
if (!env.available) {
  Deno.stderr.writeSync(encoder.encode(`no PostgreSQL: ${env.reason}\n`));
  Deno.exit(2);
}
const N = Number(Deno.args[0] ?? 2000);
const WINDOW = 100;
const P = "aGVsbG8gd29ybGQ=";

const db = await createPgDatabase(env);
const dir = await Deno.makeTempDir({ prefix: "netsec-dbcost-" });
const stats = adminSql(env, db.location.database);

async function counters(): Promise<Record<string, number>> {
  const [row] = await stats`SELECT xact_commit, xact_rollback, tup_inserted, tup_deleted,
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
  await stats`SELECT pg_stat_clear_snapshot()`;
  return await counters();
}

try {
  const pki = await makeTestPki(`${dir}/pki`, { users: ["alice", "bob"] });
  const args = ["--store", storeUrlText(db.location), "--rate", "0"];
  if (db.password !== undefined) {
    await Deno.writeTextFile(`${dir}/pw`, `${db.password}\n`);
    args.push("--store-password-file", `${dir}/pw`);
  }
  const n1 = await spawnServer({ pki, args });
  const n2 = await spawnServer({ pki, args });
  try {
    for (const [label, bobPort] of [["cross-node", n2.port], ["same node", n1.port]] as const) {
      const alice = await TestClient.connect(n1.port, pki, "alice", { timeoutMs: 60_000 });
      const bob = await TestClient.connect(bobPort, pki, "bob", { timeoutMs: 60_000 });
      const before = await settled();
      const started = performance.now();
      const receiving = (async () => {
        let got = 0;
        while (got < N) {
          await bob.until(() => bob.deliveries.length > 0, "deliveries");
          const batch = bob.deliveries.splice(0);
          got += batch.length;
          await bob.ack(batch);
        }
      })();
      for (let i = 0; i < N; i += WINDOW) {
        const n = Math.min(WINDOW, N - i);
        for (let j = 0; j < n; j++) await alice.send(`MESSAGE ${label[0]}${i + j} bob ${P}`);
        for (let j = 0; j < n; j++) {
          const reply = await alice.reply();
          if (!reply.startsWith("OK")) throw new Error(reply);
        }
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
        await alice.send(`MESSAGE ${label[0]}l${i} bob ${P}`);
        await bob.until(() => bob.deliveries.length > 0, "a delivery");
        lat.push(performance.now() - t0);
        await bob.ack(bob.deliveries.splice(0));
        const reply = await alice.reply();
        if (!reply.startsWith("OK")) throw new Error(reply);
      }
      lat.sort((x, y) => x - y);
      const q = (f: number) => lat[Math.floor(f * (lat.length - 1))]!.toFixed(2);
      print(`${label}: one at a time, MESSAGE → delivery: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms`);
      await alice.close();
      await bob.close();
    }
  } finally {
    n1.kill("SIGTERM");
    n2.kill("SIGTERM");
    await n1.status;
    await n2.status;
  }

  // The commit rate: one-row INSERT transactions, each durably committed.
  await stats`CREATE TABLE probe (id bigserial PRIMARY KEY, at bigint NOT NULL)`;
  for (const conns of [1, 4, 16]) {
    const pool = postgres({
      host: db.location.host,
      port: db.location.port,
      database: db.location.database,
      username: db.location.user,
      ...(db.password !== undefined ? { password: db.password } : {}),
      max: conns,
      onnotice: false,
    });
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
  await stats.end();
  await db.drop();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
