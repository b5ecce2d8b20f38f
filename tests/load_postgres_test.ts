// Tests of tools/load/postgres.ts and its /proc readers: the postmaster's children's CPU, and
// (only with NETSEC_TEST_PG_URL, i.e. PostgreSQL installed) a throwaway cluster started and
// stopped, and a tiny real run of the PostgreSQL relay phases with two nodes. Benchmarks, not
// timed tests: no figure is asserted beyond "messages went through".

import assert from "node:assert/strict";
import { parseLoadArgs } from "../tools/load/args.ts";
import { openPgStore, stopThrowawayClustersSync } from "../tools/load/postgres.ts";
import { parseStatPpid, readChildrenCpuSeconds } from "../tools/load/proc.ts";
import { runLoad } from "../tools/load/run.ts";
import type { PgRelayFigure } from "../tools/load/results.ts";
import { adminSql, pgCtlAvailable, pgTestEnv, reportPgSkip } from "./helpers/pg.ts";

Deno.test("parseStatPpid reads field 4 past a command name with spaces and parentheses", () => {
  assert.equal(parseStatPpid("7 (postgres: netsec (x) idle) S 5 7 7 0 -1 0 0 0 0 0 3 4"), 5);
  assert.throws(() => parseStatPpid("garbage"), SyntaxError);
  assert.throws(() => parseStatPpid("7 (x) S"), SyntaxError);
});

Deno.test("readChildrenCpuSeconds counts the children of a pid (here: ours)", async () => {
  const child = new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" })
    .spawn();
  try {
    const mine = readChildrenCpuSeconds(Deno.pid);
    assert.ok(mine.processes >= 1, `children of ${Deno.pid}: ${mine.processes}`);
    assert.ok(mine.cpuSeconds >= 0);
    assert.deepEqual(readChildrenCpuSeconds(child.pid), { cpuSeconds: 0, processes: 0 });
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});

const env = pgTestEnv();
reportPgSkip("tests/load_postgres_test.ts", env);

Deno.test({
  name: "a throwaway cluster: cluster.sh's URL and password work; stopped and removed after",
  ignore: !env.available,
  async fn() {
    const store = await openPgStore({ kind: "throwaway" });
    try {
      assert.ok(store.throwawayDir !== undefined && store.password !== undefined);
      assert.equal(store.location.host, "127.0.0.1");
      assert.equal(store.passwordFile, `${store.throwawayDir}/password`);
      const sql = adminSql({ available: true, ...store });
      try {
        assert.deepEqual([...await sql`SELECT current_user AS u`], [{ u: "netsec" }]);
      } finally {
        await sql.end();
      }
    } finally {
      stopThrowawayClustersSync();
    }
    await assert.rejects(Deno.stat(store.throwawayDir), Deno.errors.NotFound);
  },
});

Deno.test({
  name: "a tiny real run: the relay on PostgreSQL with one and two nodes, databases dropped",
  ignore: !env.available,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    if (!env.available) return;
    const url = Deno.env.get("NETSEC_TEST_PG_URL") as string;
    const out = await Deno.makeTempDir({ prefix: "netsec-load-pg-test-" });
    try {
      const opts = parseLoadArgs([
        ...["--phases", "relay", "--no-baseline", "--quick"],
        ...["--pairs", "2", "--seconds", "0.5", "--out", out, "--store", url, "--nodes", "2"],
        ...(env.passwordFile !== undefined ? ["--store-password-file", env.passwordFile] : []),
      ]);
      const r = await runLoad(opts);
      const pg = r.postgres;
      assert.ok(pg !== undefined);
      assert.equal(pg.nodes, 2);
      assert.equal(pg.throwaway, false);
      assert.ok(!pg.store.includes(env.password ?? "\u0000"));
      for (
        const [n, keys] of [[1, ["2x20", "2x1"]], [2, ["2x20", "2x1", "2x1_same_node"]]] as const
      ) {
        const figures: Record<string, PgRelayFigure> | undefined = pg[`nodes${n}`];
        assert.deepEqual(Object.keys(figures ?? {}).sort(), [...keys].sort());
        for (const key of keys) {
          const f: PgRelayFigure | undefined = figures?.[key];
          assert.ok(f !== undefined && f.messages > 0, `nodes${n} ${key}: ${JSON.stringify(f)}`);
          assert.equal(f.errors, 0, `nodes${n} ${key}`);
          // A cluster of tools/pg/cluster.sh runs here: its postmaster's children are read.
          if (pgCtlAvailable()) assert.equal(typeof f.db_cpu_us_per_msg, "number", key);
        }
      }
      assert.equal(typeof pg.cross_node_2x1_p50_ms, "number");
      assert.equal(typeof pg.same_node_2x1_p50_ms, "number");
      assert.deepEqual(r.targets.slice(5).map((t) => t.met === null), [false, false, false]);
      const sql = adminSql(env);
      try {
        const left = await sql`SELECT datname FROM pg_database
          WHERE datname LIKE ${`netsec_load_${Deno.pid}_%`}`;
        assert.equal(left.length, 0);
      } finally {
        await sql.end();
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
