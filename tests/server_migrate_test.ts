// Tests of `server migrate` (lib/server/migrate.ts, cli/server/migrate.ts): a SQLite store
// written by a real server is copied into PostgreSQL and a real server on the copy delivers
// the queued messages under their sids, answers CERT with the copied chains and remembers
// MESSAGEIDs (ASL spec section 5); a second run refuses a non-empty target or replaces it with
// --force; a failure mid-way (a bad row, a PostgreSQL error, the connection lost) leaves the
// target unchanged; usage errors are one line, exit 2, without the password. Against a real
// PostgreSQL server (tests/helpers/pg.ts), never a mock; the usage tests need none.

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { decodeBase64Strict } from "../lib/base64.ts";
import { MigrateError, migrateSqliteToPostgres } from "../lib/server/migrate.ts";
import { PostgresStore } from "../lib/server/store_postgres.ts";
import { storeUrlText } from "../lib/server/store_url.ts";
import { main } from "../cli/server/main.ts";
import {
  adminSql,
  createPgDatabase,
  type PgTestDatabase,
  pgTestEnv,
  reportPgSkip,
} from "./helpers/pg.ts";
import { makeTestPki, type TestPki } from "./helpers/pki.ts";
import { SERVER_TS, startTestServer, type TestClient } from "./helpers/server.ts";
import { writeV1Database } from "./helpers/store_v1.ts";

const pg = pgTestEnv();
reportPgSkip("server_migrate_test", pg);

const P1 = "aGVsbG8=";
const P2 = "d29ybGQ=";
const P3 = "Z3JvdXA=";
const SECRET = "s3cret-Pa55word-never-printed";

/** Runs the server program's `main` in this process; returns its exit code and lines. */
async function runMain(args: string[], env: Record<string, string> = {}) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(args, {
    env,
    stdout: (line) => stdout.push(line),
    stderr: (line) => stderr.push(line),
  });
  return { code, stdout, stderr };
}

function openStore(db: PgTestDatabase): Promise<PostgresStore> {
  return PostgresStore.open(
    db.password === undefined
      ? { location: db.location }
      : { location: db.location, password: db.password },
  );
}

function migrate(
  db: PgTestDatabase,
  from: string,
  extra: { force?: boolean; chunkRows?: number } = {},
) {
  return migrateSqliteToPostgres({
    from,
    to: db.location,
    ...(db.password !== undefined ? { password: db.password } : {}),
    ...extra,
  });
}

/** Everything the target holds, as comparable JSON (or "no schema"). */
async function targetDump(db: PgTestDatabase): Promise<string> {
  if (!pg.available) throw new Error("no PostgreSQL");
  const sql = adminSql(pg, db.location.database);
  try {
    const [present] = await sql`SELECT to_regclass('meta') IS NOT NULL AS present`;
    if (present?.present !== true) return "no schema";
    const tables = await Promise.all([
      sql`SELECT * FROM meta ORDER BY key`,
      sql`SELECT user_id, registered_at, encode(cert_chain, 'hex') AS c FROM users ORDER BY 1`,
      sql`SELECT * FROM queue ORDER BY sid`,
      sql`SELECT sender, message_id, encode(digest, 'hex') AS d, accepted_at
        FROM message_ids ORDER BY 1, 2`,
      sql`SELECT * FROM sessions ORDER BY user_id`,
      sql`SELECT last_value, is_called FROM queue_sid`,
    ]);
    return JSON.stringify(tables, (_k, v) => typeof v === "bigint" ? String(v) : v);
  } finally {
    await sql.end();
  }
}

/** A fresh database and a temp directory; both removed afterwards. */
function pgTest(name: string, fn: (db: PgTestDatabase, dir: string) => Promise<void>): void {
  Deno.test({
    name: `migrate: ${name}`,
    ignore: !pg.available,
    async fn() {
      if (!pg.available) return;
      const db = await createPgDatabase(pg);
      const dir = await Deno.makeTempDir({ prefix: "netsec-migrate-" });
      try {
        await fn(db, dir);
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        await db.drop();
      }
    },
  });
}

interface Source {
  readonly pki: TestPki;
  readonly path: string;
  /** What bob and carol had delivered (unacknowledged) or queued, by recipient. */
  readonly bobSids: string[];
  readonly highestSid: number;
}

/**
 * A SQLite store written by a real server: alice, bob and carol registered with chains
 * (dave added without one, as a version 1 database had him); bob online with m2 and g1
 * delivered but not acknowledged; carol offline with m1 and g1 queued; m0 acknowledged by
 * bob (only its MESSAGEID is left).
 */
async function writeSource(dir: string): Promise<Source> {
  const pki = await makeTestPki(`${dir}/pki`, {
    users: ["alice", "bob", "carol", "dave"],
    intermediate: true,
  });
  const path = `${dir}/source.db`;
  const t = await startTestServer({ pki, dataPath: path });
  const clients: TestClient[] = [];
  let bobSids: string[];
  try {
    const alice = await t.client("alice");
    const bob = await t.client("bob");
    const carol = await t.client("carol");
    clients.push(alice, bob);
    await carol.close();
    await carol.waitEnded();
    assert.equal(await alice.request(`MESSAGE m0 bob ${P1}`), "OK m0");
    const [d0] = await bob.deliveriesN(1);
    await bob.ack([d0!]);
    assert.equal(await alice.request(`MESSAGE m1 carol ${P1}`), "OK m1");
    assert.equal(await alice.request(`MESSAGE m2 bob ${P2}`), "OK m2");
    assert.equal(await alice.request(`MESSAGE g1 {bob,carol} ${P3}`), "OK g1");
    bobSids = (await bob.deliveriesN(2)).map((d) => d.sid);
  } finally {
    for (const c of clients) await c.close().catch(() => {});
    await t.server.close();
  }
  const sqlite = new DatabaseSync(path);
  try {
    sqlite.prepare("INSERT INTO users (user_id, registered_at) VALUES ('dave', 1)").run();
    const max = Number(sqlite.prepare("SELECT max(sid) AS m FROM queue").get()?.m);
    return { pki, path, bobSids, highestSid: max };
  } finally {
    sqlite.close();
  }
}

pgTest(
  "a server on the copy delivers the queued messages under their sids, answers CERT and remembers MESSAGEIDs",
  async (db, dir) => {
    const source = await writeSource(dir);
    const before = await Deno.readFile(source.path);
    const report = await migrate(db, source.path);
    assert.deepEqual(
      { ...report },
      {
        users: 4,
        usersWithChain: 3,
        queued: 4,
        firstSid: report.firstSid,
        lastSid: source.highestSid,
        messageIds: 4,
        nextSid: source.highestSid + 1,
      },
    );
    assert.deepEqual(await Deno.readFile(source.path), before, "the source is not changed");

    const t = await startTestServer({ pki: source.pki, store: await openStore(db) });
    const clients: TestClient[] = [];
    try {
      const bob = await t.client("bob");
      clients.push(bob);
      const bobGot = await bob.deliveriesN(2);
      assert.deepEqual(
        bobGot.map((d) => [d.sid, d.from, d.payload]),
        [[source.bobSids[0], "alice", P2], [source.bobSids[1], "alice", P3]],
      );
      const carol = await t.client("carol");
      clients.push(carol);
      const carolGot = await carol.deliveriesN(2);
      assert.deepEqual(carolGot.map((d) => [d.from, d.payload]), [["alice", P1], ["alice", P3]]);
      assert.ok(carolGot.every((d) => Number(d.sid) <= source.highestSid));
      await bob.ack(bobGot);
      await carol.ack(carolGot);

      const alice = await t.client("alice");
      clients.push(alice);
      // CERT answers the copied chains; dave (no chain recorded) has none.
      const [ok, id, ...certs] = (await alice.request("CERT carol")).split(" ");
      assert.equal(`${ok} ${id}`, "OK carol");
      assert.deepEqual(certs.map((c) => decodeBase64Strict(c)), source.pki.chain("carol"));
      assert.equal(await alice.request("CERT dave"), "FAILED dave NO_CERTIFICATE");
      // A retry from before the migration is recognised (not queued again), other content is not.
      assert.equal(await alice.request(`MESSAGE m1 carol ${P1}`), "OK m1");
      assert.equal(await alice.request(`MESSAGE m1 carol ${P2}`), "FAILED m1 DUPLICATE_ID");
      // A new message: a sid above every copied one, and the only delivery carol gets.
      assert.equal(await alice.request(`MESSAGE m3 carol ${P2}`), "OK m3");
      const [fresh] = await carol.deliveriesN(1);
      assert.equal(fresh?.payload, P2);
      assert.ok(Number(fresh?.sid) > source.highestSid, `${fresh?.sid} > ${source.highestSid}`);
      assert.equal(await alice.request("CERT nobody"), "FAILED nobody UNKNOWN_USER");
      await carol.ack([fresh!]);
      assert.equal(await bob.request(`MESSAGE b1 dave ${P1}`), "OK b1"); // dave is known
      assert.equal(carol.deliveries.length, 0, "nothing delivered twice");
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      await t.close();
    }
  },
);

pgTest("a second run refuses a non-empty target; --force replaces it", async (db, dir) => {
  const source = await writeSource(dir);
  const where = storeUrlText(db.location);
  const passwordFile = `${dir}/pg-password`;
  await Deno.writeTextFile(passwordFile, `${db.password ?? ""}\n`);
  const args = ["migrate", "--from", `sqlite:${source.path}`, "--to", where];
  const withPassword = db.password === undefined ? [] : ["--store-password-file", passwordFile];

  // The real program, as an operator runs it.
  const first = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-read", "--allow-write", "--allow-env", SERVER_TS]
      .concat(args, withPassword),
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(first.stdout);
  assert.equal(first.code, 0, new TextDecoder().decode(first.stderr));
  assert.match(
    out,
    /^copied 4 users \(3 with a certificate chain\), 4 queued messages \(sids \d+ to \d+\), 4 message ids; next sid \d+\n$/,
  );
  const copied = await targetDump(db);

  // The target now holds a server's session too.
  const t = await startTestServer({ pki: source.pki, store: await openStore(db) });
  try {
    const alice = await t.client("alice");
    assert.equal(await alice.request(`MESSAGE n1 bob ${P1}`), "OK n1"); // takes a block of sids
    await alice.close();
  } finally {
    await t.close();
  }
  const used = await targetDump(db);

  const again = await runMain([...args, ...withPassword]);
  assert.equal(again.code, 1);
  assert.deepEqual(again.stderr, [
    `error: ${where} is not empty: it holds 4 users, 5 queued messages, 5 message ids, ` +
    `1 session (--force replaces them)`,
  ]);
  assert.equal(await targetDump(db), used, "a refused run changes nothing");

  const forced = await runMain([...args, ...withPassword, "--force"]);
  assert.equal(forced.code, 0, forced.stderr.join("\n"));
  assert.match(
    forced.stdout[0] ?? "",
    /; replaced 4 users, 5 queued messages, 5 message ids, 1 session that the target held$/,
  );
  // The same copy as the first run, but the sid sequence never goes back (the server took
  // a block of sids from it), and the sessions are gone.
  const replaced = JSON.parse(await targetDump(db));
  const original = JSON.parse(copied);
  assert.deepEqual(replaced.slice(0, 4), original.slice(0, 4));
  assert.deepEqual(replaced[4], []);
  assert.ok(Number(replaced[5][0].last_value) > Number(original[5][0].last_value));
  for (const line of [...again.stderr, ...forced.stdout, out]) {
    assert.ok(db.password === undefined || !line.includes(db.password));
  }
});

pgTest("a bad source row leaves the target unchanged", async (db, dir) => {
  const source = await writeSource(dir);
  await migrate(db, source.path);
  const copied = await targetDump(db);
  const sqlite = new DatabaseSync(source.path);
  try {
    // A digest that is text, not a BLOB: found after the users and queue were copied.
    sqlite.prepare(
      "INSERT INTO message_ids (sender, message_id, digest, accepted_at) VALUES ('zed', 'x', 'not a blob', 1)",
    ).run();
  } finally {
    sqlite.close();
  }
  await assert.rejects(
    () => migrate(db, source.path, { force: true }),
    (err) => {
      assert.ok(err instanceof MigrateError);
      assert.equal(err.code, "BAD_ROW");
      assert.equal(
        err.message,
        'source table message_ids, sender "zed" id "x": digest is not a BLOB (nothing was copied)',
      );
      return true;
    },
  );
  assert.equal(await targetDump(db), copied);
});

pgTest("a statement PostgreSQL rejects mid-way leaves the target unchanged", async (db, dir) => {
  if (!pg.available) return;
  const source = await writeSource(dir);
  await migrate(db, source.path);
  const copied = await targetDump(db);
  // The target refuses one payload (a constraint the copy does not expect), which the source
  // holds in its last queued row: the copy fails after users and earlier queue rows were
  // written (and the target emptied by --force).
  const admin = adminSql(pg, db.location.database);
  try {
    await admin`ALTER TABLE queue ADD CONSTRAINT no_reject CHECK (payload <> 'cmVqZWN0')`;
  } finally {
    await admin.end();
  }
  const sqlite = new DatabaseSync(source.path);
  try {
    sqlite.prepare(
      "INSERT INTO queue (sid, recipient, sender, payload, accepted_at) VALUES (?, 'bob', 'alice', 'cmVqZWN0', 1)",
    ).run(source.highestSid + 5);
  } finally {
    sqlite.close();
  }
  await assert.rejects(() => migrate(db, source.path, { force: true, chunkRows: 2 }), (err) => {
    assert.ok(err instanceof MigrateError);
    assert.equal(err.code, "TARGET");
    assert.match(err.message, /no_reject.*\(nothing was copied\)$/);
    return true;
  });
  assert.equal(await targetDump(db), copied);
});

pgTest("a failure on an empty target leaves no schema behind", async (db, dir) => {
  const source = await writeSource(dir);
  const sqlite = new DatabaseSync(source.path);
  try {
    sqlite.prepare("UPDATE users SET cert_chain = x'00000009aa' WHERE user_id = 'carol'").run();
  } finally {
    sqlite.close();
  }
  await assert.rejects(() => migrate(db, source.path), (err) => {
    assert.ok(err instanceof MigrateError);
    assert.equal(err.code, "BAD_ROW");
    assert.equal(
      err.message,
      'source table users, user "carol": cert_chain is a damaged certificate chain (nothing was copied)',
    );
    return true;
  });
  assert.equal(await targetDump(db), "no schema");
});

pgTest("the target lost mid-way: unchanged, and the run can be repeated", async (db, dir) => {
  if (!pg.available) return;
  const source = await writeSource(dir);
  await migrate(db, source.path);
  const copied = await targetDump(db);
  const steps: string[] = [];
  await assert.rejects(
    () =>
      migrateSqliteToPostgres({
        from: source.path,
        to: db.location,
        ...(db.password !== undefined ? { password: db.password } : {}),
        force: true,
        onTable: async (table) => {
          steps.push(table);
          if (table !== "queue") return;
          // The connection is cut after users and queue were replaced, before the commit.
          const admin = adminSql(pg);
          try {
            await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = ${db.location.database} AND pid <> pg_backend_pid()`;
          } finally {
            await admin.end();
          }
        },
      }),
    (err) => {
      assert.ok(err instanceof MigrateError);
      assert.equal(err.code, "TARGET");
      return true;
    },
  );
  assert.deepEqual(steps, ["users", "queue"]);
  assert.equal(await targetDump(db), copied);
  const report = await migrate(db, source.path, { force: true });
  assert.equal(report.queued, 4);
  assert.equal(await targetDump(db), copied);
});

pgTest("a version 1 source (no chains) and an empty one", async (db, dir) => {
  const v1 = `${dir}/v1.db`;
  writeV1Database(v1, ["alice", "bob"], [{
    sid: 7,
    recipient: "bob",
    sender: "alice",
    payload: P1,
  }]);
  const report = await migrate(db, v1);
  assert.equal(report.users, 2);
  assert.equal(report.usersWithChain, 0);
  assert.deepEqual([report.queued, report.firstSid, report.lastSid, report.nextSid], [1, 7, 7, 8]);
  const empty = `${dir}/empty.db`;
  new DatabaseSync(empty).close();
  await assert.rejects(() => migrate(db, empty, { force: true }), (err) => {
    assert.ok(err instanceof MigrateError);
    assert.equal(err.code, "SOURCE");
    assert.equal(err.message, `${empty} is not a NetSec-MSG database (schema version 0)`);
    return true;
  });
  await assert.rejects(() => migrate(db, `${dir}/missing.db`), (err) => {
    assert.ok(err instanceof MigrateError);
    assert.equal(err.code, "SOURCE");
    return true;
  });
});

Deno.test("migrate: usage errors are one line, exit 2, without the password", async () => {
  const env = { PGPASSWORD: SECRET };
  const cases: [string[], string][] = [
    [["migrate"], "error: migrate: --from sqlite:PATH is required"],
    [
      ["migrate", "--from", "sqlite:a.db"],
      "error: migrate: --to postgres://USER@HOST:PORT/DB is required",
    ],
    [
      ["migrate", "--from", "a.db", "--to", "postgres://u@h/d"],
      "error: migrate: --from must be sqlite:PATH",
    ],
    [
      ["migrate", "--from", "sqlite:a.db", "--to", "sqlite:b.db"],
      "error: migrate: --to must be postgres://USER@HOST:PORT/DB",
    ],
    [
      ["migrate", "--from", "sqlite:a.db", "--to", `postgres://u:${SECRET}@h/d`],
      "error: migrate: --to: the store URL must not hold a password: use PGPASSWORD or --store-password-file",
    ],
    [
      ["migrate", "--from", "sqlite:a.db", "--to", "postgres://u@h/d", "--store-password-file", ""],
      "error: migrate: --store-password-file must not be empty",
    ],
    [["migrate", "--bogus"], "error: migrate: Unknown option '--bogus' (see migrate --help)"],
    [
      ["migrate", "--from", "sqlite:a.db", "extra"],
      "error: migrate: Unexpected argument 'extra'. This command does not take positional arguments (see migrate --help)",
    ],
  ];
  for (const [args, line] of cases) {
    const r = await runMain(args, env);
    assert.equal(r.code, 2, args.join(" "));
    assert.deepEqual(r.stderr, [line]);
    assert.deepEqual(r.stdout, []);
  }
  const help = await runMain(["migrate", "--help"], env);
  assert.equal(help.code, 0);
  assert.match(help.stdout.join("\n"), /^Usage: deno task server migrate --from sqlite:PATH/m);
  assert.ok(!help.stdout.join("\n").includes(SECRET));
});

Deno.test("migrate: a failed connection is one line, exit 1, without the password", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netsec-migrate-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close(); // nothing listens there now
  try {
    writeV1Database(`${dir}/v1.db`, ["alice"]);
    const r = await runMain(
      ["migrate", "--from", `sqlite:${dir}/v1.db`, "--to", `postgres://netsec@127.0.0.1:${port}/x`],
      { PGPASSWORD: SECRET },
    );
    assert.equal(r.code, 1);
    assert.equal(r.stderr.length, 1);
    assert.match(
      r.stderr[0] ?? "",
      new RegExp(
        `^error: postgres://netsec@127\\.0\\.0\\.1:${port}/x: .*\\(nothing was copied\\)$`,
      ),
    );
    assert.ok(!r.stderr[0]?.includes(SECRET));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
