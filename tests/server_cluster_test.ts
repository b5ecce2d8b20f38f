// Several server nodes on one PostgreSQL database (docs/CLUSTER.md, issue 15; ASL spec
// section 5 across the cluster): two real server.ts processes share the store; alice on
// node 1, bob on node 2. 1:1 and group across nodes, delivery to a user offline when the
// message was sent, CERT and users registered on the other node, the queue limits and the
// MESSAGEID memory counted in the database, a session takeover across nodes, a SIGKILL of
// one node during a relay while its clients move to the other, and the database stopped and
// restarted under load. Against a real PostgreSQL server (tests/helpers/pg.ts).

import assert from "node:assert/strict";
import { storeUrlText } from "../lib/server/store_url.ts";
import { decodeBase64Strict } from "../lib/base64.ts";
import {
  createPgDatabase,
  pgCtl,
  pgCtlAvailable,
  type PgTestDatabase,
  pgTestEnv,
  reportPgSkip,
} from "./helpers/pg.ts";
import { makeTestPki, type TestPki } from "./helpers/pki.ts";
import { type ChildServer, type Delivery, spawnServer, TestClient } from "./helpers/server.ts";
import { connect, type MessengerClient } from "../lib/client/client.ts";

const pg = pgTestEnv();
reportPgSkip("server_cluster_test", pg);

const P = "aGVsbG8=";
/** Less than the 5 s safety-net sweep: only a notification can deliver within it. */
const PROMPT_MS = 4_500;

/** A fresh database and a temp directory for one test; both removed afterwards. */
function clusterTest(
  name: string,
  fn: (db: PgTestDatabase, dir: string) => Promise<void>,
  ignore = false,
): void {
  Deno.test({
    name: `cluster(postgres): ${name}`,
    ignore: !pg.available || ignore,
    async fn() {
      if (!pg.available) return;
      const db = await createPgDatabase(pg);
      const dir = await Deno.makeTempDir({ prefix: "netsec-cluster-" });
      try {
        await fn(db, dir);
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        await db.drop();
      }
    },
  });
}

/** server.ts flags for `db` (the password in a file of `dir`). */
async function storeArgs(db: PgTestDatabase, dir: string): Promise<string[]> {
  const args = ["--store", storeUrlText(db.location), "--rate", "0"];
  if (db.password === undefined) return args;
  await Deno.writeTextFile(`${dir}/pw`, `${db.password}\n`);
  return [...args, "--store-password-file", `${dir}/pw`];
}

/** Nodes and clients of one test, all stopped in `close`. */
class Cluster {
  readonly nodes: ChildServer[] = [];
  readonly clients: TestClient[] = [];
  constructor(readonly pki: TestPki, readonly args: string[]) {}

  async node(): Promise<ChildServer> {
    const node = await spawnServer({ pki: this.pki, args: this.args });
    this.nodes.push(node);
    return node;
  }

  async client(node: ChildServer, user: string, timeoutMs?: number): Promise<TestClient> {
    const client = await TestClient.connect(
      node.port,
      this.pki,
      user,
      timeoutMs === undefined ? {} : { timeoutMs },
    );
    this.clients.push(client);
    return client;
  }

  async close(): Promise<void> {
    for (const c of this.clients) await c.close().catch(() => {});
    for (const n of this.nodes) n.kill("SIGTERM");
    for (const n of this.nodes) await n.status;
  }
}

clusterTest(
  "1:1, group, offline, CERT, limits, MESSAGEID and takeover across two nodes",
  async (db, dir) => {
    const pki = await makeTestPki(`${dir}/pki`, {
      users: ["alice", "bob", "carol", "dave", "erin"],
    });
    const cluster = new Cluster(pki, [
      ...await storeArgs(db, dir),
      "--queue-max",
      "6",
      "--sender-queue-max",
      "3",
    ]);
    try {
      const n1 = await cluster.node();
      const n2 = await cluster.node();
      const alice = await cluster.client(n1, "alice");
      const bob = await cluster.client(n2, "bob");
      const carol = await cluster.client(n2, "carol");

      // 1:1 across nodes, promptly (a notification, not the sweep), both ways.
      assert.equal(await alice.request(`MESSAGE m1 bob ${P}`), "OK m1");
      const [d1] = await bob.deliveriesN(1, PROMPT_MS);
      assert.deepEqual({ from: d1?.from, payload: d1?.payload }, { from: "alice", payload: P });
      await bob.ack([d1!]);
      assert.equal(await bob.request(`MESSAGE r1 alice aGk=`), "OK r1");
      const [r1] = await alice.deliveriesN(1, PROMPT_MS);
      assert.equal(r1?.from, "bob");
      await alice.ack([r1!]);

      // A group across nodes: one copy each, distinct sids.
      assert.equal(await alice.request(`MESSAGE g1 {alice,bob,carol} ${P}`), "OK g1");
      const copies = [
        ...(await alice.deliveriesN(1)),
        ...(await bob.deliveriesN(1, PROMPT_MS)),
        ...(await carol.deliveriesN(1, PROMPT_MS)),
      ];
      assert.equal(new Set(copies.map((c) => c.sid)).size, 3);
      await alice.ack([copies[0]!]);
      await bob.ack([copies[1]!]);
      await carol.ack([copies[2]!]);

      // erin registers on node 2 after node 1 started: a valid recipient and CERT subject on
      // node 1 (answered from the database); a USERID never registered is unknown everywhere.
      const erin = await cluster.client(n2, "erin");
      await erin.close();
      await erin.waitEnded();
      const [ok, id, ...certs] = (await alice.request("CERT erin")).split(" ");
      assert.equal(`${ok} ${id}`, "OK erin");
      assert.deepEqual(certs.map((c) => decodeBase64Strict(c)), pki.chain("erin"));
      assert.equal(await alice.request(`MESSAGE z1 zed ${P}`), "FAILED z1 UNKNOWN_USER");
      assert.equal(await bob.request("CERT zed"), "FAILED zed UNKNOWN_USER");

      // Offline delivery: dave never connected; messages from both nodes wait for him.
      const dave0 = await cluster.client(n1, "dave");
      await dave0.close();
      await dave0.waitEnded();
      assert.equal(await alice.request(`MESSAGE o1 dave ${P}`), "OK o1");
      assert.equal(await bob.request(`MESSAGE o2 dave aGk=`), "OK o2");
      const dave = await cluster.client(n2, "dave");
      const waiting = await dave.deliveriesN(2);
      assert.deepEqual(waiting.map((d) => d.from).sort(), ["alice", "bob"]);
      await dave.ack(waiting);

      // Limits counted in the database: erin is offline. alice → erin: 3 of 3 (pair limit),
      // refused on node 1 and on node 2 alike; erin's queue: 6 of 6 with bob's 3.
      for (const i of [1, 2, 3]) {
        assert.equal(
          await alice.request(`MESSAGE e${i} erin ${P}`),
          `OK e${i}`,
        );
      }
      assert.equal(await alice.request(`MESSAGE e4 erin ${P}`), "FAILED e4 QUEUE_FULL");
      const alice2 = await cluster.client(n2, "alice"); // replaces alice's node 1 session
      await alice.waitEnded(PROMPT_MS);
      assert.equal(await alice2.request(`MESSAGE e5 erin ${P}`), "FAILED e5 QUEUE_FULL");
      for (const i of [1, 2, 3]) {
        assert.equal(
          await bob.request(`MESSAGE b${i} erin ${P}`),
          `OK b${i}`,
        );
      }
      assert.equal(await carol.request(`MESSAGE c1 erin ${P}`), "FAILED c1 QUEUE_FULL");

      // The MESSAGEID memory is the database's: m1 (accepted on node 1) retried on node 2 is
      // OK and queues nothing; other content under m1 is DUPLICATE_ID.
      assert.equal(await alice2.request(`MESSAGE m1 bob ${P}`), "OK m1");
      assert.equal(await alice2.request(`MESSAGE m1 bob aGk=`), "FAILED m1 DUPLICATE_ID");

      // Takeover across nodes: bob (node 2) holds two unacknowledged deliveries; a newer bob
      // on node 1 closes the old session and gets them under the same sids.
      assert.equal(await alice2.request(`MESSAGE t1 bob ${P}`), "OK t1");
      assert.equal(await alice2.request(`MESSAGE t2 bob ${P}`), "OK t2");
      const unacked = await bob.deliveriesN(2);
      const bob1 = await cluster.client(n1, "bob");
      await bob.waitEnded(PROMPT_MS);
      assert.ok(bob.ended, "the older session on the other node is closed");
      const again = await bob1.deliveriesN(2, PROMPT_MS);
      assert.deepEqual(again.map((d) => d.sid), unacked.map((d) => d.sid));
      await bob1.ack(again);
      assert.equal(bob1.deliveries.length, 0); // m1's retry queued nothing
    } finally {
      await cluster.close();
    }
  },
);

/** Every OK'd message delivered under exactly one sid, and nothing delivered twice over. */
function assertExactlyOnce(okIds: Iterable<string>, got: readonly Delivery[], what: string) {
  const sidsByPayload = new Map<string, Set<string>>();
  for (const d of got) {
    const sids = sidsByPayload.get(d.payload) ?? new Set<string>();
    sids.add(d.sid);
    sidsByPayload.set(d.payload, sids);
  }
  for (const id of okIds) {
    const sids = sidsByPayload.get(payloadOf(id));
    assert.ok(sids !== undefined, `${what}: ${id} had an OK but was not delivered`);
    assert.equal(sids.size, 1, `${what}: ${id} was delivered under ${[...sids]}`);
  }
}

function payloadOf(id: string): string {
  return new TextEncoder().encode(`msg ${id}`).toBase64();
}

/**
 * Sends `ids` pipelined, `window` at a time, resending each unanswered or FAILED one on the
 * client that `connect` returns (a retry keeps its MESSAGEID and content), until all have an
 * OK. Calls `during` once, after `at` OKs.
 */
async function relay(
  first: TestClient,
  connect: () => Promise<TestClient>,
  to: string,
  ids: readonly string[],
  at: number,
  during: () => Promise<void>,
): Promise<Set<string>> {
  const ok = new Set<string>();
  let client = first;
  let fired = false;
  while (ok.size < ids.length) {
    const todo = ids.filter((id) => !ok.has(id));
    try {
      for (let i = 0; i < todo.length; i += 20) {
        const chunk = todo.slice(i, i + 20);
        for (const id of chunk) await client.send(`MESSAGE ${id} ${to} ${payloadOf(id)}`);
        for (const id of chunk) {
          const reply = await client.reply();
          if (reply === `OK ${id}`) ok.add(id);
          else assert.match(reply, new RegExp(`^FAILED ${id} INTERNAL$`));
          if (!fired && ok.size >= at) {
            fired = true;
            await during();
          }
        }
      }
    } catch (err) {
      if (!client.ended) throw err;
      client = await connect();
    }
  }
  return ok;
}

/** Receives and acknowledges until `want` distinct payloads arrived, reconnecting on loss. */
async function receiveAll(
  first: TestClient,
  connect: () => Promise<TestClient>,
  want: number,
): Promise<Delivery[]> {
  const all: Delivery[] = [];
  let client = first;
  const distinct = () => new Set(all.map((d) => d.payload)).size;
  while (distinct() < want) {
    try {
      await client.until(() => client.deliveries.length > 0, "deliveries", 20_000);
      const got = client.deliveries.splice(0);
      all.push(...got);
      await client.ack(got);
    } catch (err) {
      if (!client.ended) throw err;
      client = await connect();
    }
  }
  return all;
}

clusterTest(
  "SIGKILL of a node during a relay: its clients move over, nothing lost or doubled",
  async (db, dir) => {
    const pki = await makeTestPki(`${dir}/pki`, { users: ["alice", "bob", "carol", "dave"] });
    const cluster = new Cluster(pki, await storeArgs(db, dir));
    try {
      const n1 = await cluster.node();
      const n2 = await cluster.node();
      // alice (node 1) → bob (node 2) and carol (node 2) → dave (node 1); node 1 dies.
      const alice = await cluster.client(n1, "alice");
      const dave = await cluster.client(n1, "dave");
      const bob = await cluster.client(n2, "bob");
      const carol = await cluster.client(n2, "carol");
      const toN2 = (user: string) => () => cluster.client(n2, user);
      const ids = (prefix: string) => Array.from({ length: 300 }, (_, i) => `${prefix}${i}`);
      const kill = async () => {
        n1.kill("SIGKILL");
        await n1.status;
      };
      const [okA, okC, toBob, toDave] = await Promise.all([
        relay(alice, toN2("alice"), "bob", ids("a"), 100, kill),
        relay(carol, toN2("carol"), "dave", ids("c"), 300, () => Promise.resolve()),
        receiveAll(bob, toN2("bob"), 300),
        receiveAll(dave, toN2("dave"), 300),
      ]);
      assert.ok(alice.ended && dave.ended, "node 1's clients lost their sessions");
      assertExactlyOnce(okA, toBob, "alice → bob");
      assertExactlyOnce(okC, toDave, "carol → dave");
    } finally {
      await cluster.close();
    }
  },
);

clusterTest(
  "the database stopped and restarted under load: FAILED INTERNAL, never OK; sessions stay; nothing lost",
  async (db, dir) => {
    assert.ok(pg.available);
    const pki = await makeTestPki(`${dir}/pki`, { users: ["alice", "bob", "carol"] });
    const cluster = new Cluster(pki, await storeArgs(db, dir));
    let stopped = false;
    try {
      const n1 = await cluster.node();
      const n2 = await cluster.node();
      const alice = await cluster.client(n1, "alice", 60_000);
      const bob = await cluster.client(n2, "bob", 60_000);
      const carol = await cluster.client(n1, "carol", 60_000);
      const never = () => Promise.reject(new Error("a session was closed"));
      let failed = 0;
      const countFailed = (reply: string) => reply.includes("INTERNAL") && failed++;
      const stopAndStart = async () => {
        await pgCtl(pg, "stop");
        stopped = true;
        // Under load while the database is away: every command fails, none is OK.
        for (let i = 0; i < 5; i++) {
          const reply = await carol.request(`MESSAGE down${i} bob ${payloadOf(`down${i}`)}`);
          assert.equal(reply, `FAILED down${i} INTERNAL`);
          countFailed(reply);
        }
        await pgCtl(pg, "start");
        stopped = false;
      };
      const ids = Array.from({ length: 200 }, (_, i) => `k${i}`);
      const [ok, got] = await Promise.all([
        relay(alice, never, "bob", ids, 60, stopAndStart),
        receiveAll(bob, never, 200),
      ]);
      assert.equal(failed, 5);
      assert.ok(!alice.ended && !bob.ended && !carol.ended, "both nodes kept their sessions");
      assertExactlyOnce(ok, got, "alice → bob");
      // The down* messages were answered FAILED: none of them was queued or delivered.
      const downs = new Set([0, 1, 2, 3, 4].map((i) => payloadOf(`down${i}`)));
      assert.equal(got.filter((d) => downs.has(d.payload)).length, 0);
      assert.equal(await carol.request(`MESSAGE after bob ${P}`), "OK after");
    } finally {
      if (stopped) await pgCtl(pg, "start").catch(() => {});
      await cluster.close();
    }
  },
  !pgCtlAvailable(),
);

clusterTest(
  "the library client's server list: a node killed mid-relay, its clients fail over, each message shown once",
  async (db, dir) => {
    const pki = await makeTestPki(`${dir}/pki`, { users: ["alice", "bob"] });
    const cluster = new Cluster(pki, await storeArgs(db, dir));
    const clients: MessengerClient[] = [];
    try {
      const n1 = await cluster.node();
      const n2 = await cluster.node();
      const servers = [n1, n2].map((n) => ({ hostname: "127.0.0.1", port: n.port }));
      const client = async (user: string) => {
        const c = await connect({
          user,
          servers,
          credentials: await pki.credentials(user),
          trust: pki.trust,
          reconnect: { initialMs: 20, maxMs: 200, jitter: 0.5 },
        });
        clients.push(c);
        return c;
      };
      const alice = await client("alice");
      const bob = await client("bob");
      assert.equal(alice.info.server, `127.0.0.1:${n1.port}`);
      assert.equal(bob.info.server, `127.0.0.1:${n1.port}`);
      const texts = Array.from({ length: 200 }, (_, i) => `relay ${i}`);
      const sent = Promise.all(texts.map((t) => alice.send("bob", t)));
      const shown: string[] = [];
      const inbox = bob[Symbol.asyncIterator]();
      while (shown.length < texts.length) {
        const next = await inbox.next();
        if (next.done) throw new Error("bob's client closed");
        shown.push(next.value.text);
        if (shown.length === 50) {
          n1.kill("SIGKILL");
          await n1.status;
        }
      }
      await sent; // every send got its OK (on node 1, or resent to node 2)
      assert.deepEqual([...shown].sort(), [...texts].sort()); // each shown exactly once
      assert.equal(alice.info.server, `127.0.0.1:${n2.port}`);
      assert.equal(bob.info.server, `127.0.0.1:${n2.port}`);
    } finally {
      for (const c of clients) await c.close();
      await cluster.close();
    }
  },
);
