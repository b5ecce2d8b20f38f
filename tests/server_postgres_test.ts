// The real server (lib/server/serve.ts, server.ts) on the PostgreSQL store (ASL spec
// section 5 over lib/server/store_postgres.ts): 1:1 and group delivery, CERT, queued
// messages kept across a restart and across a SIGKILL of server.ts, and the one-line exit 2
// when the database cannot be reached. Against a real PostgreSQL server (tests/helpers/pg.ts).

import assert from "node:assert/strict";
import { PostgresStore } from "../lib/server/store_postgres.ts";
import { storeUrlText } from "../lib/server/store_url.ts";
import { decodeBase64Strict } from "../lib/base64.ts";
import { createPgDatabase, type PgTestDatabase, pgTestEnv, reportPgSkip } from "./helpers/pg.ts";
import { makeTestPki } from "./helpers/pki.ts";
import { SERVER_TS, spawnServer, startTestServer, TestClient } from "./helpers/server.ts";

const pg = pgTestEnv();
reportPgSkip("server_postgres_test", pg);

const P = "aGVsbG8=";

function openStore(db: PgTestDatabase): Promise<PostgresStore> {
  return PostgresStore.open(
    db.password === undefined
      ? { location: db.location }
      : { location: db.location, password: db.password },
  );
}

/** A fresh database and a temp directory for one test; both removed afterwards. */
function pgTest(name: string, fn: (db: PgTestDatabase, dir: string) => Promise<void>): void {
  Deno.test({
    name: `serve(postgres): ${name}`,
    ignore: !pg.available,
    async fn() {
      if (!pg.available) return;
      const db = await createPgDatabase(pg);
      const dir = await Deno.makeTempDir({ prefix: "netsec-pg-serve-" });
      try {
        await fn(db, dir);
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        await db.drop();
      }
    },
  });
}

pgTest(
  "1:1 and group delivery, CERT, and queued messages kept across a restart",
  async (db, dir) => {
    const pki = await makeTestPki(`${dir}/pki`, {
      users: ["alice", "bob", "carol"],
      intermediate: true,
    });
    const t1 = await startTestServer({ pki, store: await openStore(db) });
    const clients: TestClient[] = [];
    try {
      const alice = await t1.client("alice");
      const bob = await t1.client("bob");
      const carol = await t1.client("carol");
      clients.push(alice, bob, carol);
      assert.equal(await alice.request(`MESSAGE m1 bob ${P}`), "OK m1");
      const [d1] = await bob.deliveriesN(1);
      assert.deepEqual({ from: d1?.from, payload: d1?.payload }, { from: "alice", payload: P });
      await bob.ack([d1!]);
      assert.equal(await alice.request(`MESSAGE m1 bob ${P}`), "OK m1"); // a retry
      assert.equal(await alice.request(`MESSAGE m1 bob aGk=`), "FAILED m1 DUPLICATE_ID");
      assert.equal(await alice.request(`MESSAGE g1 {carol,alice,bob} ${P}`), "OK g1");
      const copies = [
        ...(await alice.deliveriesN(1)),
        ...(await bob.deliveriesN(1)),
        ...(await carol.deliveriesN(1)),
      ];
      assert.equal(new Set(copies.map((c) => c.sid)).size, 3);
      await alice.ack([copies[0]!]);
      await bob.ack([copies[1]!]);
      await carol.ack([copies[2]!]);
      // CERT answers the chain alice registered with, from the database.
      const [ok, id, ...certs] = (await bob.request("CERT alice")).split(" ");
      assert.equal(`${ok} ${id}`, "OK alice");
      assert.deepEqual(certs.map((c) => decodeBase64Strict(c)), pki.chain("alice"));
      // carol goes offline; three messages wait for her in the database.
      await carol.close();
      await carol.waitEnded();
      for (const i of [1, 2, 3]) {
        assert.equal(
          await alice.request(`MESSAGE q${i} carol ${P}`),
          `OK q${i}`,
        );
      }
    } finally {
      for (const c of clients) await c.close();
      await t1.close(); // closes the store too
    }
    const t2 = await startTestServer({ pki, store: await openStore(db) });
    try {
      const carol = await t2.client("carol");
      clients.push(carol);
      const got = await carol.deliveriesN(3);
      assert.deepEqual(got.map((d) => d.from), ["alice", "alice", "alice"]);
      const sids = got.map((d) => Number(d.sid));
      assert.deepEqual([...sids].sort((a, b) => a - b), sids);
      await carol.ack(got);
      // CERT after the restart, for a user who is offline now.
      const [ok] = (await carol.request("CERT alice")).split(" ");
      assert.equal(ok, "OK");
      // New sids after the restart never reuse old ones.
      const bob = await t2.client("bob");
      clients.push(bob);
      assert.equal(await carol.request(`MESSAGE n1 bob ${P}`), "OK n1");
      const [n1] = await bob.deliveriesN(1);
      assert.ok(Number(n1?.sid) > Math.max(...sids));
      await carol.close();
      await bob.close();
    } finally {
      await t2.close();
    }
  },
);

pgTest(
  "server.ts --store postgres://…: a SIGKILL loses no acknowledged message",
  async (db, dir) => {
    assert.ok(pg.available);
    const pki = await makeTestPki(`${dir}/pki`, { users: ["alice", "bob"] });
    let passwordArgs: string[] = [];
    if (db.password !== undefined) {
      await Deno.writeTextFile(`${dir}/pw`, `${db.password}\n`);
      passwordArgs = ["--store-password-file", `${dir}/pw`];
    }
    const args = ["--store", storeUrlText(db.location), ...passwordArgs, "--rate", "0"];
    let child = await spawnServer({ pki, args });
    const clients: TestClient[] = [];
    try {
      const bob0 = await TestClient.connect(child.port, pki, "bob");
      await bob0.close();
      await bob0.waitEnded();
      const alice = await TestClient.connect(child.port, pki, "alice");
      clients.push(alice);
      for (let i = 0; i < 50; i++) await alice.send(`MESSAGE k${i} bob ${P}`);
      for (let i = 0; i < 50; i++) assert.equal(await alice.reply(), `OK k${i}`);
      child.kill("SIGKILL");
      await child.status;
      child = await spawnServer({ pki, args });
      const bob = await TestClient.connect(child.port, pki, "bob");
      clients.push(bob);
      const got = await bob.deliveriesN(50);
      assert.equal(got.length, 50);
      assert.ok(got.every((d) => d.from === "alice" && d.payload === P));
      assert.ok(!child.output().join("\n").includes(db.password ?? "\u0000"));
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      child.kill("SIGTERM");
      await child.status;
    }
  },
);

pgTest("server.ts exits 2 with one line when the database cannot be reached", async (db, dir) => {
  const pki = await makeTestPki(`${dir}/pki`, { users: [] });
  const secret = "never-in-output-42";
  await Deno.writeTextFile(`${dir}/pw`, `${secret}\n`);
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  for (
    const url of [
      storeUrlText({ ...db.location, port }), // nothing listens there
      storeUrlText(db.location), // wrong password
    ]
  ) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        SERVER_TS,
        "--port",
        "0",
        "--ca",
        pki.caCertPath,
        "--cert",
        pki.serverCertPath,
        "--key",
        pki.serverKeyPath,
        "--store",
        url,
        "--store-password-file",
        `${dir}/pw`,
      ],
      env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, stderr);
    const lines = stderr.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 1, stderr);
    assert.match(
      lines[0]!,
      new RegExp(`^error: cannot open the database: ${url.replace(/[.]/g, "\\.")}: `),
    );
    assert.ok(!stderr.includes(secret) && !new TextDecoder().decode(out.stdout).includes(secret));
  }
});
