// Tests of lib/asl/session.ts (spec section 3, "Records"): records through a man in the
// middle (tampered, replayed, reordered, truncated, reflected, oversize, multi-line) end the
// session at once with nothing sent back; back-pressure, coalesced writes, the record limit;
// call order kept under back-pressure, many records per read, one byte per read, and the
// small read buffer an idle session keeps parked; the node:crypto path (shared base64 scratch)
// and the WebCrypto path (allocating decoder) deliver and reject the same record lines.

import "reflect-metadata";
import assert from "node:assert/strict";
import { accept, connect, type EndpointInternals } from "../lib/asl/endpoint.ts";
import { AslError } from "../lib/asl/errors.ts";
import { FrameReader, RECORD_LIMITS } from "../lib/asl/framing.ts";
import { createPipe } from "../lib/asl/pipe.ts";
import { createRecordCipher, type RecordImpl } from "../lib/asl/records.ts";
import { MAX_READ_BYTES, MIN_READ_BYTES, Session } from "../lib/asl/session.ts";
import type { Duplex, SecureSession } from "../lib/asl/types.ts";
import type { ValidatedPeer } from "../lib/pki/types.ts";
import {
  manInTheMiddle,
  type Rewrite,
  type StreamPair,
  streamPair,
  vectorCredentials,
  vectorTrust,
} from "./helpers/asl.ts";

const serverCreds = await vectorCredentials("server");
const clientCreds = await vectorCredentials("client");
const trust = await vectorTrust();

async function sessions(
  pair: StreamPair,
  internals: { server?: EndpointInternals; client?: EndpointInternals } = {},
  suite: "AES_GCM" | "AES_CBC" = "AES_GCM",
): Promise<[SecureSession, SecureSession]> {
  return await Promise.all([
    accept(pair.server, { credentials: serverCreds, trust }, internals.server),
    connect(
      pair.client,
      { credentials: clientCreds, trust, serverName: "localhost", suites: [suite] },
      internals.client,
    ),
  ]);
}

/** Collects what a session receives until it ends. */
async function drainLines(session: SecureSession): Promise<string[]> {
  const out: string[] = [];
  for await (const line of session) out.push(line);
  return out;
}

const HANDSHAKE_C2S = 4; // M1, M3, M5, M7
const HANDSHAKE_S2C = 3; // M2, M4, M6

/** Record index `n` in the c2s direction (after the handshake messages). */
const rec = (i: number) => i - HANDSHAKE_C2S;

type Attack = [string, (s2cRecords: string[]) => Rewrite, string];
const attacks: Attack[] = [
  ["a tampered record", () => (i, m) => [rec(i) === 1 ? tamper(m) : m], "DECRYPT_ERROR"],
  ["a replayed record", () => {
    let first = "";
    return (i, m) => {
      if (rec(i) === 0) first = m;
      return rec(i) === 1 ? [first] : [m];
    };
  }, "DECRYPT_ERROR"],
  ["reordered records", () => {
    let held = "";
    return (i, m) => {
      if (rec(i) === 0) {
        held = m;
        return [];
      }
      return rec(i) === 1 ? [m, held] : [m];
    };
  }, "DECRYPT_ERROR"],
  ["a dropped record", () => (i, m) => (rec(i) === 0 ? [] : [m]), "DECRYPT_ERROR"],
  ["a truncated record", () => (i, m) => [rec(i) === 1 ? truncate(m) : m], "DECRYPT_ERROR"],
  ["a reflected record", (s2c) => (i, m) => [rec(i) === 1 ? s2c[0]! : m], "DECRYPT_ERROR"],
  ["bad base64", () => (i, m) => [rec(i) === 1 ? "****\n\n" : m], "PROTOCOL_ERROR"],
  [
    "a two-line session message",
    () => (i, m) => [rec(i) === 1 ? m.replace("\n\n", "\nQUFB\n\n") : m],
    "PROTOCOL_ERROR",
  ],
  [
    "an oversize record line",
    () => (i, m) => [rec(i) === 1 ? "A".repeat(70_000) + "\n\n" : m],
    "PROTOCOL_ERROR",
  ],
  [
    "a CR in a record line",
    () => (i, m) => [rec(i) === 1 ? m.replace("\n\n", "\r\n\n") : m],
    "PROTOCOL_ERROR",
  ],
];

function tamper(message: string): string {
  const bytes = Uint8Array.fromBase64(message.trimEnd());
  bytes[0]! ^= 0x80;
  return bytes.toBase64() + "\n\n";
}
function truncate(message: string): string {
  const bytes = Uint8Array.fromBase64(message.trimEnd());
  return bytes.subarray(0, bytes.length - 1).toBase64() + "\n\n";
}

for (
  const [transport, suite] of [["pipe", "AES_GCM"], ["pipe", "AES_CBC"], ["tcp", "AES_GCM"], [
    "tcp",
    "AES_CBC",
  ]] as const
) {
  for (const [name, makeRewrite, code] of attacks) {
    Deno.test(`session ${transport} ${suite}: ${name} ends the session with ${code}, nothing sent back`, async () => {
      const s2cRecords: string[] = [];
      const s2cAfterAttack: string[] = [];
      let attacked = false;
      const c2s = makeRewrite(s2cRecords);
      const mitm = await manInTheMiddle({
        c2s: (i, m) => {
          if (rec(i) >= 1) attacked = true;
          return c2s(i, m);
        },
        s2c: (i, m) => {
          if (i >= HANDSHAKE_S2C) (attacked ? s2cAfterAttack : s2cRecords).push(m);
          return [m];
        },
      }, transport);
      try {
        const [server, client] = await sessions(mitm, {}, suite);
        // One s2c record first (the reflection needs it), then two c2s records.
        await server.send("OK hello");
        const clientLines = client[Symbol.asyncIterator]();
        assert.deepEqual(await clientLines.next(), { value: "OK hello", done: false });
        const serverLines = drainLines(server);
        await client.send("REGISTER alice");
        await client.send("MESSAGE m1 alice aGVsbG8=");
        const got = await serverLines;
        const info = await server.closed;
        assert.equal(info.reason, "error");
        assert.ok(info.error instanceof AslError);
        assert.equal(info.error.code, code, info.error.message);
        assert.ok(got.length <= 1, `at most the record before the attack: ${got}`);
        assert.equal((await client.closed).reason, "remote");
        assert.deepEqual(s2cAfterAttack, [], "the server sends nothing back");
      } finally {
        mitm.close();
        await mitm.done;
      }
    });
  }
}

Deno.test("session: records pipelined in both directions arrive in order", async () => {
  const pair = await streamPair("tcp");
  try {
    const [server, client] = await sessions(pair);
    const n = 500;
    const sends = Array.from({ length: n }, (_, i) => client.send(`MESSAGE m${i} bob aGk=`));
    const echo = (async () => {
      let count = 0;
      for await (const line of server) {
        await server.send(`OK ${line.split(" ")[1]}`);
        if (++count === n) break;
      }
    })();
    const replies: string[] = [];
    for await (const line of client) {
      replies.push(line);
      if (replies.length === n) break;
    }
    await Promise.all(sends);
    await echo;
    assert.deepEqual(replies, Array.from({ length: n }, (_, i) => `OK m${i}`));
  } finally {
    pair.close();
  }
});

/** Wraps a duplex and counts write calls. */
function countingWrites(conn: Duplex): { conn: Duplex; writes: () => number } {
  let writes = 0;
  return {
    conn: {
      read: (p) => conn.read(p),
      write: (p) => (writes++, conn.write(p)),
      close: () => conn.close(),
      closeWrite: () => conn.closeWrite(),
    },
    writes: () => writes,
  };
}

Deno.test("session: queued sends are coalesced into few writes", async () => {
  const [a, b] = createPipe(1 << 20);
  const counted = countingWrites(b);
  try {
    const [server, client] = await sessions({ server: a, client: counted.conn, close() {} });
    const before = counted.writes();
    const n = 100;
    const received = (async () => {
      const out: string[] = [];
      for await (const line of server) {
        out.push(line);
        if (out.length === n) break;
      }
      return out;
    })();
    await Promise.all(Array.from({ length: n }, (_, i) => client.send(`line ${i}`)));
    assert.equal((await received).length, n);
    const writes = counted.writes() - before;
    assert.ok(writes < n / 4, `${n} records took ${writes} writes`);
    await client.close();
  } finally {
    closeBoth(a, b);
  }
});

Deno.test("session: send waits when the peer does not read (back-pressure)", async () => {
  const [a, b] = createPipe(4096);
  try {
    const [server, client] = await sessions({ server: a, client: b, close() {} }, {
      client: { session: { maxQueuedSends: 4 } },
      server: { session: { maxInbox: 2 } },
    });
    const line = "z".repeat(1000);
    let settled = 0;
    const sends = Array.from({ length: 40 }, () => client.send(line).then(() => settled++));
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(settled < 40, `only what fits was written (${settled} of 40)`);
    // Reading on the server side releases the senders.
    let count = 0;
    for await (const _ of server) if (++count === 40) break;
    await Promise.all(sends);
    assert.equal(settled, 40);
    await client.close();
  } finally {
    closeBoth(a, b);
  }
});

Deno.test("session: reading pauses at the inbox character bound, not only at its line count", async () => {
  const [a, b] = createPipe(4096);
  try {
    const [server, client] = await sessions({ server: a, client: b, close() {} }, {
      client: { session: { maxQueuedSends: 4 } },
      server: { session: { maxInbox: 1000, maxInboxChars: 4000 } },
    });
    const line = "y".repeat(1000);
    let settled = 0;
    const sends = Array.from({ length: 40 }, () => client.send(line).then(() => settled++));
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(settled < 40, `the server kept reading past 4000 characters (${settled} of 40)`);
    let count = 0;
    for await (const _ of server) if (++count === 40) break;
    await Promise.all(sends);
    assert.equal(settled, 40);
    await client.close();
  } finally {
    closeBoth(a, b);
  }
});

Deno.test("session: the sender closes before passing its record limit", async () => {
  const pair = await streamPair("pipe");
  try {
    const [server, client] = await sessions(pair, { client: { session: { maxRecords: 3 } } });
    for (let i = 0; i < 3; i++) await client.send(`line ${i}`);
    await assert.rejects(
      client.send("line 3"),
      (e) => e instanceof AslError && e.code === "CLOSED",
    );
    const info = await client.closed;
    assert.equal(info.reason, "error");
    assert.equal((info.error as AslError).code, "CLOSED");
    assert.deepEqual(await drainLines(server), ["line 0", "line 1", "line 2"]);
  } finally {
    pair.close();
  }
});

Deno.test("session: a receiver closes when the peer passes the record limit", async () => {
  const pair = await streamPair("pipe");
  try {
    const [server, client] = await sessions(pair, { server: { session: { maxRecords: 2 } } });
    for (let i = 0; i < 3; i++) await client.send(`line ${i}`);
    assert.deepEqual(await drainLines(server), ["line 0", "line 1"]);
    const info = await server.closed;
    assert.equal(info.reason, "error");
    assert.equal((info.error as AslError).code, "PROTOCOL_ERROR");
  } finally {
    pair.close();
  }
});

Deno.test("session: send rejects empty, oversize and multi-line plaintexts", async () => {
  const pair = await streamPair("pipe");
  try {
    const [server, client] = await sessions(pair);
    for (const bad of ["", "x".repeat(32_769), "a\nb", "a\rb", "é".repeat(16_385)]) {
      await assert.rejects(
        client.send(bad),
        (e) => e instanceof AslError && e.code === "PROTOCOL_ERROR",
      );
    }
    await client.send("still open");
    const it = server[Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { value: "still open", done: false });
    await client.close();
    await server.close();
  } finally {
    pair.close();
  }
});

Deno.test("session: close flushes pending sends and is idempotent", async () => {
  const pair = await streamPair("tcp");
  try {
    const [server, client] = await sessions(pair);
    const sends = [client.send("one"), client.send("two"), client.send("three")];
    await Promise.all([client.close(), client.close()]);
    await Promise.all(sends);
    assert.deepEqual(await drainLines(server), ["one", "two", "three"]);
    assert.deepEqual(await client.closed, { reason: "local" });
    assert.deepEqual(await server.closed, { reason: "remote" });
  } finally {
    pair.close();
  }
});

/** Wraps a duplex: records the size of every read buffer, optionally caps each read. */
function observedReads(conn: Duplex, maxPerRead = Infinity) {
  const sizes: number[] = [];
  let reads = 0;
  return {
    conn: {
      read: (p: Uint8Array) => {
        sizes.push(p.length);
        reads++;
        return conn.read(p.length > maxPerRead ? p.subarray(0, maxPerRead) : p);
      },
      write: (p: Uint8Array) => conn.write(p),
      close: () => conn.close(),
      closeWrite: () => conn.closeWrite(),
    } satisfies Duplex,
    sizes,
    reads: () => reads,
  };
}

function closeBoth(a: Duplex, b: Duplex): void {
  for (const end of [a, b]) {
    try {
      end.close();
    } catch { /* closed */ }
  }
}

Deno.test("session: sends keep call order while the socket is full (back-pressure)", async () => {
  const [a, b] = createPipe(2048);
  try {
    const [server, client] = await sessions({ server: a, client: b, close() {} }, {
      client: { session: { maxQueuedSends: 3 } },
      server: { session: { maxInbox: 2 } },
    });
    const n = 300;
    let calls = 0;
    const sends: Promise<void>[] = [];
    // Every call takes the next number, so the peer must see 0, 1, 2, … in that order.
    const sendNext = (): Promise<void> => {
      const i = calls++;
      const p = client.send(`MESSAGE m${i} bob ${"QUFB".repeat(1 + (i % 50))}`);
      sends.push(p);
      return p;
    };
    // Two producers: one sends again whenever one of its sends settles (as the server's
    // outbox does), the other sends from timers and microtasks, while the pipe is full.
    const chained = (left: number): void => {
      if (left > 0 && calls < n) void sendNext().then(() => chained(left - 1), () => {});
    };
    for (let k = 0; k < 4; k++) chained(40);
    while (calls < n) {
      void sendNext();
      if (calls % 7 === 0) await new Promise((r) => setTimeout(r, 0));
      if (calls % 3 === 0) await Promise.resolve();
    }
    const total = calls;
    const got: number[] = [];
    for await (const line of server) {
      got.push(Number(line.split(" ")[1]!.slice(1)));
      if (got.length === total) break;
    }
    await Promise.all(sends);
    assert.deepEqual(got, Array.from({ length: total }, (_, i) => i));
    await client.close();
  } finally {
    closeBoth(a, b);
  }
});

Deno.test("session: many records in one chunk are all delivered, in order", async () => {
  const [a, b] = createPipe(1 << 20);
  const observed = observedReads(a);
  try {
    const [server, client] = await sessions({ server: observed.conn, client: b, close() {} });
    const n = 400;
    const readsBefore = observed.reads();
    // One tick of sends: one write on the client, few reads on the server.
    const sends = Array.from({ length: n }, (_, i) => client.send(`OK ${i}`));
    await Promise.all(sends);
    const got: string[] = [];
    for await (const line of server) {
      got.push(line);
      if (got.length === n) break;
    }
    assert.deepEqual(got, Array.from({ length: n }, (_, i) => `OK ${i}`));
    const reads = observed.reads() - readsBefore;
    assert.ok(reads < n / 10, `${n} records took ${reads} reads`);
    await client.close();
  } finally {
    closeBoth(a, b);
  }
});

/** A Session with fixed GCM keys whose peer end writes raw text (no handshake). */
async function rawSession(impl: RecordImpl) {
  const keys = {
    suite: "AES_GCM" as const,
    key: new Uint8Array(32).fill(5),
    iv: new Uint8Array(12).fill(6),
  };
  const [a, b] = createPipe(1 << 20);
  const session = new Session({
    conn: a,
    reader: new FrameReader(a, RECORD_LIMITS),
    suite: "AES_GCM",
    peer: {} as ValidatedPeer,
    sendCipher: await createRecordCipher(keys, { impl }),
    recvCipher: await createRecordCipher(keys, { impl }),
  });
  const sealer = await createRecordCipher(keys, { impl: "webcrypto" });
  const line = async (text: string, seq: number) =>
    (await sealer.seal(new TextEncoder().encode(text), seq)).toBase64();
  return { session, peer: b, line };
}

const BAD_RECORD_LINES = [
  "****",
  "QUFB QUFB",
  " QUFB",
  "QUFB\t",
  "QR==",
  "QUFBQQ",
  "QUFBQQ=",
  "QUFB====",
  "QU-B",
  "====",
]; // (non-ASCII bytes are refused by the framing before any decoding: see asl_framing_test)

for (const impl of ["node", "webcrypto"] as const) {
  Deno.test(`session (${impl} records): good lines in one chunk arrive, then a bad base64 line ends it`, async () => {
    for (const bad of BAD_RECORD_LINES) {
      // Two sessions take turns: on the node path they share one decode scratch.
      const [s1, s2] = [await rawSession(impl), await rawSession(impl)];
      try {
        const texts = ["REGISTER alice", "é✓ " + "x".repeat(3000), "OK 17"];
        for (const { peer, line } of [s1, s2]) {
          const lines = await Promise.all(texts.map((t, seq) => line(t, seq)));
          await peer.write(new TextEncoder().encode([...lines, bad, ""].join("\n\n")));
        }
        for (const { session } of [s1, s2]) {
          const got: string[] = [];
          for await (const text of session) got.push(text);
          assert.deepEqual(got, texts, JSON.stringify(bad));
          const info = await session.closed;
          assert.equal(info.reason, "error");
          assert.ok(info.error instanceof AslError);
          assert.equal(info.error.code, "PROTOCOL_ERROR", `${JSON.stringify(bad)}: ${info.error}`);
        }
      } finally {
        for (const { session, peer } of [s1, s2]) {
          await session.close();
          try {
            peer.close();
          } catch { /* closed */ }
        }
      }
    }
  });
}

Deno.test("session: records read one byte at a time still arrive whole and in order", async () => {
  const [a, b] = createPipe();
  const observed = observedReads(a, 1);
  try {
    const [server, client] = await sessions({ server: observed.conn, client: b, close() {} });
    const lines = ["REGISTER alice", "MESSAGE m1 bob aGk=", "OK 17", "é✓ utf-8"];
    await Promise.all(lines.map((l) => client.send(l)));
    const got: string[] = [];
    for await (const line of server) {
      got.push(line);
      if (got.length === lines.length) break;
    }
    assert.deepEqual(got, lines);
    await client.close();
  } finally {
    closeBoth(a, b);
  }
});

Deno.test("session: an idle session parks a small read buffer; it grows under load", async () => {
  const [a, b] = createPipe(1 << 20);
  const observed = observedReads(a);
  try {
    const [server, client] = await sessions({ server: observed.conn, client: b, close() {} });
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(observed.sizes.at(-1), MIN_READ_BYTES, "the parked read after the handshake");
    // A burst much larger than the buffer: reads grow to the maximum.
    const burst = Array.from(
      { length: 600 },
      (_, i) => client.send(`MESSAGE m${i} b ${"x".repeat(400)}`),
    );
    let count = 0;
    const it = server[Symbol.asyncIterator]();
    while (count < 600 && !(await it.next()).done) count++;
    await Promise.all(burst);
    assert.equal(Math.max(...observed.sizes), MAX_READ_BYTES);
    // Then quiet traffic: small reads bring the parked buffer back to the minimum.
    for (let i = 0; i < 12; i++) {
      await client.send(`OK ${i}`);
      assert.equal((await it.next()).value, `OK ${i}`);
    }
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(observed.sizes.at(-1), MIN_READ_BYTES);
    await client.close();
  } finally {
    closeBoth(a, b);
  }
});

Deno.test("session: lines a keeping-pace reader took are not kept by the inbox", async () => {
  // The reader takes one line per macrotask while the sender streams: the inbox is refilled
  // before it ever empties, so taken lines must be dropped from it as they go.
  const [a, b] = createPipe(1 << 16);
  try {
    const [server, client] = await sessions({ server: a, client: b, close() {} });
    const total = 1200;
    const sends = Array.from(
      { length: total },
      (_, i) => client.send(`MESSAGE m${i} b ${"x".repeat(200)}`),
    );
    const it = server[Symbol.asyncIterator]();
    let maxSlots = 0;
    for (let i = 0; i < total; i++) {
      const r = await it.next();
      assert.equal(r.value, `MESSAGE m${i} b ${"x".repeat(200)}`);
      maxSlots = Math.max(maxSlots, (server as Session).inboxSlots);
      await new Promise((r) => setTimeout(r, 0));
    }
    await Promise.all(sends);
    // The line bound (256), the compaction step (256) and one read's overshoot, not all 1200.
    assert.ok(maxSlots < 800, `the inbox array held ${maxSlots} slots`);
    await client.close();
  } finally {
    closeBoth(a, b);
  }
});
