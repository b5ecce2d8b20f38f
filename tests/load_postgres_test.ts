// Tests of tools/load/postgres.ts and its /proc readers: the throwaway cluster's exports,
// the postmaster's children's CPU, and (only with NETSEC_TEST_PG_URL) a tiny real run of the
// PostgreSQL relay phases with two nodes. Benchmarks, not timed tests: no figure is asserted
// beyond "messages went through".

import assert from "node:assert/strict";
import { parseLoadArgs } from "../tools/load/args.ts";
import { parseClusterExports } from "../tools/load/postgres.ts";
import { parseStatPpid, readChildrenCpuSeconds } from "../tools/load/proc.ts";
import { runLoad } from "../tools/load/run.ts";
import type { PgRelayFigure } from "../tools/load/results.ts";
import { adminSql, pgTestEnv, reportPgSkip } from "./helpers/pg.ts";

Deno.test("cluster.sh's export lines are read back, quoted or not", () => {
  const text = [
    "export NETSEC_TEST_PG_URL=postgres://netsec@127.0.0.1:41234/postgres",
    "export NETSEC_TEST_PG_PASSWORD_FILE=/tmp/netsec-pg.Ab12/password",
    "export NETSEC_TEST_PG_DIR='/tmp/dir with space'",
    "export ODD=a\\ b",
    "not an export",
  ].join("\n");
  assert.deepEqual(parseClusterExports(text), {
    NETSEC_TEST_PG_URL: "postgres://netsec@127.0.0.1:41234/postgres",
    NETSEC_TEST_PG_PASSWORD_FILE: "/tmp/netsec-pg.Ab12/password",
    NETSEC_TEST_PG_DIR: "/tmp/dir with space",
    ODD: "a b",
  });
  assert.deepEqual(parseClusterExports(""), {});
});

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
