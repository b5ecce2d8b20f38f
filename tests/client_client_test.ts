// Tests the library client as a whole (lib/client/client.ts over connection.ts and link.ts;
// the pure parts have their own tests: client_replies, client_outbox, client_inbox,
// client_seen): against a scripted ASL peer (exact lines on the wire: resend with the same
// MESSAGEID, sid dedupe, ack after the consumer took a message) and end to end against the
// real server on loopback (1:1, group, FAILED reasons, pipelining, offline delivery,
// handshake codes, and a server restart mid-conversation).

import assert from "node:assert/strict";
import { accept } from "../lib/asl/mod.ts";
import { AslError } from "../lib/asl/errors.ts";
import type { SecureSession } from "../lib/asl/types.ts";
import { connect, MAX_BUFFERED_INCOMING, type MessengerClient } from "../lib/client/client.ts";
import { ClientError } from "../lib/client/errors.ts";
import { deadline } from "../lib/deadline.ts";
import type { ClientEvent, ClientOptions, IncomingMessage } from "../lib/client/types.ts";
import { serve } from "../lib/server/serve.ts";
import { readVectorText, vectorCredentials, vectorTrust } from "./helpers/asl.ts";
import { makeTestPki, type TestPki } from "./helpers/pki.ts";
import type { Credentials } from "../lib/pki/types.ts";
import { decodePemCertificates } from "../lib/pki/pem.ts";
import { sha256Fingerprint } from "../lib/pki/fingerprint.ts";

const b64 = (text: string) => new TextEncoder().encode(text).toBase64();
const FAST = { initialMs: 20, maxMs: 200, jitter: 0.5 } as const;

// ---------------------------------------------------------------- scripted peer

interface Peer {
  readonly port: number;
  /** Every line each connection received, by connection number. */
  readonly received: string[][];
  close(): Promise<void>;
}

type Script = (conn: number, lines: LineReader, session: SecureSession) => Promise<void>;

class LineReader {
  readonly #it: AsyncIterator<string>;
  readonly #log: string[];
  constructor(session: SecureSession, log: string[]) {
    this.#it = session[Symbol.asyncIterator]();
    this.#log = log;
  }
  async next(): Promise<string> {
    const r = await this.#it.next();
    if (r.done) throw new Error("the client closed the connection");
    this.#log.push(r.value);
    return r.value;
  }
}

async function scriptedPeer(
  script: Script,
  credentialsFor?: (conn: number) => Promise<Credentials>,
): Promise<Peer> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const vectorServer = await vectorCredentials("server");
  const trust = await vectorTrust();
  const received: string[][] = [];
  const tasks: Promise<void>[] = [];
  const loop = (async () => {
    let n = 0;
    for await (const conn of listener) {
      const k = n++;
      received[k] = [];
      tasks.push((async () => {
        let session: SecureSession | undefined;
        try {
          const credentials = credentialsFor ? await credentialsFor(k) : vectorServer;
          session = await accept(conn, { credentials, trust });
          await script(k, new LineReader(session, received[k]!), session);
        } catch {
          // the test asserts on what was received
        } finally {
          await session?.close();
        }
      })());
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    received,
    async close() {
      listener.close();
      await loop.catch(() => {});
      await Promise.all(tasks);
    },
  };
}

async function vectorClient(
  port: number,
  extra: Partial<ClientOptions> = {},
): Promise<MessengerClient> {
  return await connect({
    user: "alice",
    hostname: "localhost",
    port,
    credentials: await vectorCredentials("client"),
    trust: await vectorTrust(),
    reconnect: FAST,
    // The scripted peer checks the wire lines of plain messages; sealing has its own tests.
    seal: false,
    ...extra,
  });
}

Deno.test("an unanswered message is sent again with the same MESSAGEID after a reconnect", async () => {
  const peer = await scriptedPeer(async (conn, lines, session) => {
    assert.equal(await lines.next(), "REGISTER alice");
    await session.send("OK alice");
    const message = await lines.next();
    if (conn === 0) return; // drop the connection without answering
    await session.send(`OK ${message.split(" ")[1]}`);
    await lines.next().catch(() => {});
  });
  const events: ClientEvent["type"][] = [];
  const client = await vectorClient(peer.port, { onEvent: (e) => events.push(e.type) });
  try {
    const result = await client.send("bob", "hello");
    const first = peer.received[0]!;
    const second = peer.received[1]!;
    assert.equal(first[1], `MESSAGE ${result.id} bob ${b64("hello")}`);
    assert.equal(second[0], "REGISTER alice");
    assert.equal(second[1], first[1]);
    assert.deepEqual(result.to, ["bob"]);
    assert.deepEqual(events.slice(0, 3), ["connecting", "handshake", "ready"]);
    assert.ok(events.includes("reconnecting"));
    assert.equal(events.filter((e) => e === "ready").length, 2);
  } finally {
    await client.close();
    await peer.close();
  }
  assert.equal(client.state, "closed");
});

Deno.test("messages are acked after the consumer took them; seen sids are dropped and re-acked, also across restarts", async () => {
  const dir = await Deno.makeTempDir();
  const stateDir = `${dir}/state`;
  const peer = await scriptedPeer(async (conn, lines, session) => {
    assert.equal(await lines.next(), "REGISTER alice");
    await session.send("OK alice");
    if (conn === 0) {
      await session.send(`MESSAGE s1 bob ${b64("one")}`);
      await session.send(`MESSAGE s1 bob ${b64("one")}`); // repeated within the session
      await session.send(`MESSAGE s2 carol ${b64("two")}`);
      // The consumer took s1 and sent a message before pulling again: no ack yet.
      const marker = await lines.next();
      assert.match(marker, /^MESSAGE \S+ dave /);
      await session.send(`OK ${marker.split(" ")[1]}`);
      assert.equal(await lines.next(), "OK s1");
      assert.equal(await lines.next(), "OK s2");
      return; // drop: s2 was acked, the client reconnects
    }
    if (conn === 1) {
      await session.send(`MESSAGE s1 bob ${b64("one")}`); // already seen: re-acked, not shown
      await session.send(`MESSAGE s3 bob ${b64("three")}`);
      assert.equal(await lines.next(), "OK s1");
      assert.equal(await lines.next(), "OK s3");
      await lines.next().catch(() => {});
      return;
    }
    // conn 2: a new client process with the same seen file
    await session.send(`MESSAGE s3 bob ${b64("three")}`);
    await session.send(`MESSAGE s4 bob ${b64("four")}`);
    assert.equal(await lines.next(), "OK s3");
    assert.equal(await lines.next(), "OK s4");
    await lines.next().catch(() => {});
  });
  try {
    const shown: string[] = [];
    const client = await vectorClient(peer.port, { stateDir });
    try {
      for await (const message of client) {
        shown.push(`${message.sid}:${message.from}:${message.text}`);
        if (shown.length === 1) await client.send("dave", "marker");
        if (shown.length === 3) break;
      }
    } finally {
      await client.close();
    }
    assert.deepEqual(shown, ["s1:bob:one", "s2:carol:two", "s3:bob:three"]);
    assert.equal(peer.received[0]!.length, 4);
    assert.deepEqual(peer.received[0]!.slice(2), ["OK s1", "OK s2"]);

    const again = await vectorClient(peer.port, { stateDir });
    try {
      const first = await again.messages().next();
      assert.equal((first.value as IncomingMessage).sid, "s4");
      await again.messages().return?.();
    } finally {
      await again.close();
    }
  } finally {
    await peer.close();
    await Deno.remove(dir, { recursive: true });
  }
  // Complete once the peer has read everything each client sent before it closed.
  assert.deepEqual(peer.received[1], ["REGISTER alice", "OK s1", "OK s3"]);
  assert.deepEqual(peer.received[2], ["REGISTER alice", "OK s3", "OK s4"]);
});

Deno.test("CERT: each reply is matched in FIFO order, checked against the client's CA, failures typed", async () => {
  const bobDer = decodePemCertificates(await readVectorText("bob.crt"));
  const bobLine = bobDer.map((d) => d.toBase64()).join(" ");
  const peer = await scriptedPeer(async (_conn, lines, session) => {
    assert.equal(await lines.next(), "REGISTER alice");
    await session.send("OK alice");
    const first = await lines.next();
    assert.match(first, /^MESSAGE \S+ bob /);
    assert.equal(await lines.next(), "CERT bob");
    assert.equal(await lines.next(), "CERT carol");
    assert.equal(await lines.next(), "CERT dave");
    assert.equal(await lines.next(), "CERT alice");
    assert.equal(await lines.next(), "CERT erin");
    const last = await lines.next();
    assert.match(last, /^MESSAGE \S+ bob /);
    await session.send(`OK ${first.split(" ")[1]}`);
    await session.send(`OK bob ${bobLine}`);
    await session.send(`MESSAGE s9 bob ${b64("between replies")}`); // not a reply
    await session.send("FAILED carol UNKNOWN_USER");
    await session.send("OK dave not*base64"); // malformed: consumes dave's slot only
    await session.send(`OK alice ${bobLine}`); // valid, but names bob
    await session.send("FAILED erin NO_CERTIFICATE");
    await session.send(`OK ${last.split(" ")[1]}`);
    await lines.next().catch(() => {});
  });
  const client = await vectorClient(peer.port);
  try {
    const sent = client.send("bob", "hi");
    const lookups = ["bob", "carol", "dave", "alice", "erin"].map((u) =>
      client.lookupCertificate(u).then(
        (found) => ({ ok: true as const, found }),
        (err: unknown) => ({ ok: false as const, err: err as ClientError }),
      )
    );
    const after = client.send("bob", "after");
    await Promise.all([sent, after]);
    const [bob, carol, dave, alice, erin] = await Promise.all(lookups);
    assert.ok(bob?.ok, bob?.ok === false ? bob.err.message : "no result");
    assert.equal(bob.found.identity, "bob");
    assert.deepEqual(bob.found.chain, bobDer);
    assert.equal(bob.found.fingerprint, await sha256Fingerprint(bobDer[0]!));
    const codes = [carol, dave, alice, erin].map((r) =>
      r!.ok ? "ok" : `${r!.err.code}${r!.err.remote ? " (remote)" : ""}`
    );
    assert.deepEqual(codes, [
      "UNKNOWN_USER (remote)",
      "PROTOCOL",
      "BAD_IDENTITY",
      "NO_CERTIFICATE (remote)",
    ]);
    const delivered = await client.messages().next();
    assert.equal((delivered.value as IncomingMessage).text, "between replies");
    await assert.rejects(
      client.lookupCertificate("b_b"),
      (e: unknown) => e instanceof ClientError && e.code === "BAD_RECIPIENT",
    );
  } finally {
    await client.close();
    await peer.close();
  }
  await assert.rejects(
    client.lookupCertificate("bob"),
    (e: unknown) => e instanceof ClientError && e.code === "CLOSED",
  );
});

Deno.test("seen rule: a true redelivery is dropped and re-acked; the same sid with another payload (a restored server) is shown", async () => {
  const peer = await scriptedPeer(async (conn, lines, session) => {
    assert.equal(await lines.next(), "REGISTER alice");
    await session.send("OK alice");
    if (conn === 0) {
      await session.send(`MESSAGE s1 bob ${b64("one")}`);
      assert.equal(await lines.next(), "OK s1");
      return; // drop; the client reconnects
    }
    await session.send(`MESSAGE s1 bob ${b64("one")}`); // the same delivery again
    await session.send(`MESSAGE s1 bob ${b64("new after restore")}`); // sid reused
    assert.equal(await lines.next(), "OK s1"); // the redelivery, acknowledged again
    assert.equal(await lines.next(), "OK s1"); // the new message, once shown
    await lines.next().catch(() => {});
  });
  const client = await vectorClient(peer.port);
  const shown: string[] = [];
  try {
    for await (const m of client) {
      shown.push(`${m.sid}:${m.from}:${m.text}`);
      if (shown.length === 2) break;
    }
  } finally {
    await client.close();
    await peer.close();
  }
  assert.deepEqual(shown, ["s1:bob:one", "s1:bob:new after restore"]);
  assert.deepEqual(peer.received[1], ["REGISTER alice", "OK s1", "OK s1"]);
});

Deno.test("seen rule: a second server (another certificate, same address) has its own memory, on disk too", async () => {
  const dir = await Deno.makeTempDir();
  const pki = await makeTestPki(`${dir}/certs`);
  const stateDir = `${dir}/state`;
  const vectorServer = await vectorCredentials("server");
  const fresh = await pki.credentials("server");
  // Connections 0 and 2 are the vector server, 1 a fresh server whose sids start again.
  const peer = await scriptedPeer(async (conn, lines, session) => {
    assert.equal(await lines.next(), "REGISTER alice");
    await session.send("OK alice");
    await session.send(`MESSAGE s1 bob ${b64("one")}`);
    if (conn === 2) await session.send(`MESSAGE s2 bob ${b64("two")}`);
    assert.equal(await lines.next(), "OK s1");
    if (conn === 2) assert.equal(await lines.next(), "OK s2");
    if (conn === 0) return;
    await lines.next().catch(() => {});
  }, (conn) => Promise.resolve(conn === 1 ? fresh : vectorServer));
  const vt = await vectorTrust();
  const trust = { anchors: [...vt.anchors, pki.ca.der], crls: [] };
  try {
    const shown: string[] = [];
    const client = await vectorClient(peer.port, { stateDir, trust });
    try {
      // The second s1 comes from the fresh server after the reconnect; with one memory for
      // both servers it would be dropped and this would time out.
      await deadline(
        (async () => {
          for await (const m of client) {
            shown.push(`${client.info.serverIdentity}:${m.sid}:${m.text}`);
            if (shown.length === 2) break;
          }
        })(),
        10_000,
        "the second server's s1",
      );
    } finally {
      await client.close();
    }
    assert.equal(shown.length, 2);
    assert.deepEqual(shown.map((s) => s.split(":").slice(1).join(":")), ["s1:one", "s1:one"]);
    const files = [...Deno.readDirSync(`${stateDir}/seen/alice`)].map((e) => e.name);
    assert.equal(files.length, 2);
    // A new process meets the first server again: s1 is remembered there, s2 is new.
    const again = await vectorClient(peer.port, { stateDir, trust });
    try {
      const next = await again.messages().next();
      assert.equal((next.value as IncomingMessage).sid, "s2");
      await again.messages().return?.();
    } finally {
      await again.close();
    }
  } finally {
    await peer.close();
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(peer.received[1], ["REGISTER alice", "OK s1"]);
  assert.deepEqual(peer.received[2], ["REGISTER alice", "OK s1", "OK s2"]);
});

Deno.test("a malformed server MESSAGE is refused with FAILED <sid> MALFORMED and not shown", async () => {
  const peer = await scriptedPeer(async (_conn, lines, session) => {
    assert.equal(await lines.next(), "REGISTER alice");
    await session.send("OK alice");
    await session.send("MESSAGE s1 bob not*base64");
    await session.send(`MESSAGE s2 bob ${b64("fine")}`);
    await lines.next();
    await lines.next().catch(() => {});
  });
  const client = await vectorClient(peer.port, { reconnect: false });
  try {
    const first = await client.messages().next();
    assert.equal((first.value as IncomingMessage).sid, "s2");
  } finally {
    await client.close();
    await peer.close();
  }
  assert.equal(peer.received[0]![1], "FAILED s1 MALFORMED");
});

Deno.test("a refused REGISTER fails connect with the reason; close rejects pending sends with CLOSED", async () => {
  const peer = await scriptedPeer(async (conn, lines, session) => {
    await lines.next();
    if (conn === 0) {
      await session.send("FAILED alice NOT_YOUR_ID");
      await lines.next().catch(() => {});
      return;
    }
    await session.send("OK alice");
    await lines.next(); // the MESSAGE, never answered
    await lines.next().catch(() => {});
  });
  try {
    await assert.rejects(
      vectorClient(peer.port),
      (err: unknown) => err instanceof ClientError && err.code === "NOT_YOUR_ID" && err.remote,
    );
    const client = await vectorClient(peer.port);
    const pending = client.send("bob", "never answered");
    await client.close();
    await assert.rejects(
      pending,
      (err: unknown) => err instanceof ClientError && err.code === "CLOSED",
    );
    await assert.rejects(
      client.send("bob", "after close"),
      (err: unknown) => err instanceof ClientError && err.code === "CLOSED",
    );
  } finally {
    await peer.close();
  }
});

Deno.test("local refusals happen before anything is sent", async () => {
  const peer = await scriptedPeer(async (_conn, lines, session) => {
    await lines.next();
    await session.send("OK alice");
    await lines.next().catch(() => {});
  });
  const client = await vectorClient(peer.port);
  try {
    const codeOf = (p: Promise<unknown>) =>
      p.then(() => "resolved", (e) => (e instanceof ClientError ? e.code : String(e)));
    assert.equal(await codeOf(client.send("bob", "x".repeat(8332))), "TOO_LARGE");
    assert.equal(await codeOf(client.send("bob", "")), "EMPTY_MESSAGE");
    assert.equal(await codeOf(client.send("b-b", "x")), "BAD_RECIPIENT");
    assert.equal(await codeOf(client.send(["bob", "bob"], "x")), "BAD_RECIPIENT");
    assert.equal(await codeOf(client.send("bob", "x", { id: "bad id" })), "MALFORMED");
    assert.equal(client.pending, 0);
  } finally {
    await client.close();
    await peer.close();
  }
  assert.deepEqual(peer.received[0], ["REGISTER alice"]);
});

// ---------------------------------------------------------------- real server

const pkiDir = await Deno.makeTempDir();
let pkiPromise: Promise<TestPki> | undefined;
function pki(): Promise<TestPki> {
  pkiPromise ??= makeTestPki(pkiDir, { users: ["alice", "bob", "carol", "dave"] });
  return pkiPromise;
}
globalThis.addEventListener("unload", () => Deno.removeSync(pkiDir, { recursive: true }));

async function startServer(dataPath: string, port = 0) {
  const p = await pki();
  return await serve({
    hostname: "127.0.0.1",
    port,
    credentials: await p.credentials("server"),
    trust: p.trust,
    dataPath,
  });
}

async function user(name: string, port: number, extra: Partial<ClientOptions> = {}) {
  const p = await pki();
  return await connect({
    user: name,
    hostname: "127.0.0.1",
    port,
    credentials: await p.credentials(name),
    trust: p.trust,
    reconnect: FAST,
    ...extra,
  });
}

async function take(client: MessengerClient, n: number): Promise<IncomingMessage[]> {
  const out: IncomingMessage[] = [];
  if (n === 0) return out;
  for await (const message of client) {
    out.push(message);
    if (out.length === n) break;
  }
  return out;
}

Deno.test("end to end: 1:1, group, FAILED reasons and pipelined sends matched in order", async () => {
  const dir = await Deno.makeTempDir();
  const server = await startServer(`${dir}/db.sqlite`);
  const port = server.addr.port;
  const clients: MessengerClient[] = [];
  try {
    const bob = await user("bob", port);
    const carol = await user("carol", port);
    const alice = await user("alice", port);
    clients.push(bob, carol, alice);
    assert.equal(alice.info.user, "alice");
    assert.equal(alice.info.server, `127.0.0.1:${port}`);
    assert.match(alice.info.fingerprint, /^([0-9a-f]{2}:){31}[0-9a-f]{2}$/);
    assert.ok(alice.info.suite === "X25519_AES_GCM");

    // CERT through the real server: the exact chain bob registered with, checked by alice.
    const whois = await alice.lookupCertificate("bob");
    assert.equal(whois.identity, "bob");
    assert.deepEqual(whois.chain, (await pki()).chain("bob"));
    assert.equal(whois.fingerprint, await sha256Fingerprint((await pki()).chain("bob")[0]!));
    await assert.rejects(
      alice.lookupCertificate("nobody"),
      (e: unknown) => e instanceof ClientError && e.code === "UNKNOWN_USER" && e.remote,
    );

    const one = await alice.send("bob", "hello bob");
    const group = await alice.send(["bob", "carol"], "hi both 👋");
    const [b1, b2] = await take(bob, 2);
    assert.deepEqual([b1!.from, b1!.text, b2!.text], ["alice", "hello bob", "hi both 👋"]);
    assert.deepEqual([b1!.sealed, b2!.sealed, one.sealed], [true, true, true]); // the default
    const [c1] = await take(carol, 1);
    assert.equal(c1!.text, "hi both 👋");
    assert.equal(c1!.sealed, true);
    assert.notEqual(one.id, group.id);

    await assert.rejects(
      alice.send("nobody", "x"),
      (e: unknown) => e instanceof ClientError && e.code === "UNKNOWN_USER" && e.remote,
    );
    // A chosen MESSAGEID only with plain payloads (a sealed one's id is the envelope's).
    const plain = await alice.send("carol", "plain", { seal: false, id: `p${one.id}` });
    await assert.rejects(
      alice.send("carol", "again", { id: plain.id, seal: false }),
      (e: unknown) => e instanceof ClientError && e.code === "DUPLICATE_ID" && e.remote,
    );

    // 40 pipelined sends, every 4th to an unknown user: each promise gets its own answer.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => alice.send(i % 4 === 3 ? "ghost" : "bob", `n${i}`)),
    );
    outcomes.forEach((o, i) => {
      if (i % 4 === 3) {
        assert.equal(o.status, "rejected");
        assert.equal((o as PromiseRejectedResult).reason.code, "UNKNOWN_USER");
      } else assert.equal(o.status, "fulfilled", `send ${i}`);
    });
    const got = await take(bob, 30);
    assert.deepEqual(
      got.map((m) => m.text),
      Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 4 !== 3).map((i) => `n${i}`),
    );
    assert.equal(alice.pending, 0);
  } finally {
    for (const c of clients) await c.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("end to end: a message to an offline user is delivered when it connects", async () => {
  const dir = await Deno.makeTempDir();
  const server = await startServer(`${dir}/db.sqlite`);
  const port = server.addr.port;
  try {
    const dave = await user("dave", port);
    await dave.close(); // dave is now known, and offline
    const alice = await user("alice", port);
    await alice.send("dave", "while you were out");
    await alice.close();
    const back = await user("dave", port);
    try {
      const [m] = await take(back, 1);
      assert.equal(m!.text, "while you were out");
      assert.equal(m!.from, "alice");
    } finally {
      await back.close();
    }
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("end to end: handshake failures carry the ASL code", async () => {
  const dir = await Deno.makeTempDir();
  const server = await startServer(`${dir}/db.sqlite`);
  const port = server.addr.port;
  try {
    await assert.rejects(
      user("alice", port, { trust: await vectorTrust(), reconnect: false }),
      (e: unknown) => e instanceof AslError && e.code === "UNKNOWN_CA",
    );
    await assert.rejects(
      user("alice", port, { serverName: "chat.example.org" }),
      (e: unknown) => e instanceof AslError && e.code === "BAD_IDENTITY",
    );
    await assert.rejects(
      user("alice", port, { user: "bob" }),
      (e: unknown) => e instanceof ClientError && e.code === "NOT_YOUR_ID",
    );
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("end to end: the server restarts mid-conversation; nothing is lost or shown twice", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/db.sqlite`;
  let server = await startServer(db);
  const port = server.addr.port;
  const stateDir = `${dir}/state`;
  const aliceEvents: string[] = [];
  const alice = await user("alice", port, { onEvent: (e) => aliceEvents.push(e.type) });
  const bob = await user("bob", port, { stateDir });
  try {
    const shown: string[] = [];
    const bobDone = (async () => {
      for await (const m of bob) {
        shown.push(m.text);
        if (shown.length === 20) break;
      }
    })();
    for (let i = 0; i < 5; i++) await alice.send("bob", `before ${i}`);
    await server.close(); // both clients lose their connection
    // Sent while the server is down: queued, then sent on reconnect with the same ids.
    const during = Array.from({ length: 10 }, (_, i) => alice.send("bob", `during ${i}`));
    // If the test fails before they settle, close() rejects them: not an unhandled rejection.
    for (const p of during) p.catch(() => {});
    server = await startServer(db, port);
    const results = await deadline(Promise.all(during), 20_000, "resend after restart");
    assert.equal(new Set(results.map((r) => r.id)).size, 10);
    for (let i = 0; i < 5; i++) await alice.send("bob", `after ${i}`);
    await deadline(bobDone, 20_000, "bob receiving 20 messages");
    const expected = [
      ...Array.from({ length: 5 }, (_, i) => `before ${i}`),
      ...Array.from({ length: 10 }, (_, i) => `during ${i}`),
      ...Array.from({ length: 5 }, (_, i) => `after ${i}`),
    ];
    assert.deepEqual([...shown].sort(), [...expected].sort());
    assert.equal(new Set(shown).size, 20);
    assert.ok(aliceEvents.includes("reconnecting"));
  } finally {
    await alice.close();
    await bob.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("end to end: two sessions of one user replacing each other back off instead of flapping", async () => {
  const dir = await Deno.makeTempDir();
  const server = await startServer(`${dir}/db.sqlite`);
  const port = server.addr.port;
  const delays: number[] = [];
  const policy = { initialMs: 20, maxMs: 400, jitter: 0 };
  const first = await user("alice", port, {
    reconnect: policy,
    onEvent: (e) => {
      if (e.type === "reconnecting") delays.push(e.delayMs);
    },
  });
  const second = await user("alice", port, { reconnect: policy });
  try {
    for (let i = 0; i < 200 && delays.length < 4; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(delays.length >= 4, `only ${delays.length} reconnects`);
    // Each quick drop starts the backoff one step further: 40, 80, 160, 320 ms.
    assert.deepEqual(delays.slice(0, 4), [40, 80, 160, 320]);
  } finally {
    await first.close();
    await second.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a server that floods messages faster than the consumer takes them is not read past the bound", async () => {
  const peer = await scriptedPeer(async (_conn, lines, session) => {
    assert.equal(await lines.next(), "REGISTER alice");
    await session.send("OK alice");
    const message = await lines.next();
    for (let i = 0; i < MAX_BUFFERED_INCOMING; i++) await session.send(`MESSAGE f${i} bob AAAA`);
    await session.send(`OK ${message.split(" ")[1]}`);
    await lines.next().catch(() => {});
  });
  const client = await vectorClient(peer.port);
  try {
    let answered = false;
    const sent = client.send("bob", "hello").then((r) => {
      answered = true;
      return r;
    });
    const messages = client.messages();
    // The client holds MAX_BUFFERED_INCOMING messages and stops reading: the OK behind
    // them stays unread while nobody consumes.
    for (let i = 0; i < 50 && !answered; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(answered, false, "the OK behind the flood was read: the inbox is unbounded");
    const first = await messages.next();
    assert.equal(first.value?.sid, "f0");
    assert.deepEqual((await sent).to, ["bob"]);
  } finally {
    await client.close();
    await peer.close();
  }
});
