// Tests of lib/asl/session.ts (spec section 3, "Records"): records through a man in the
// middle (tampered, replayed, reordered, truncated, reflected, oversize, multi-line) end the
// session at once with nothing sent back; back-pressure, coalesced writes, the record limit;
// call order kept under back-pressure, many records per read, one byte per read, and the
// small read buffer an idle session keeps parked; the node:crypto path (shared base64 scratch)
// and the WebCrypto path (allocating decoder) deliver and reject the same record lines;
// revision 4 batching: X25519_AES_GCM packs a turn's lines into few records, AES_GCM keeps
// one line per record, any receiver takes several lines per record and refuses an empty one.

import "reflect-metadata";
import assert from "node:assert/strict";
import { accept, connect, type EndpointInternals } from "../lib/asl/endpoint.ts";
import { AslError } from "../lib/asl/errors.ts";
import { FrameReader, RECORD_LIMITS } from "../lib/asl/framing.ts";
import { createPipe } from "../lib/asl/pipe.ts";
import { createRecordCipher, sealLines } from "../lib/asl/records.ts";
import type { RecordImpl } from "../lib/asl/records_cipher.ts";
import {
  decodeRecordLine,
  decodeRecordPlaintext,
  MAX_PLAINTEXT_BYTES,
} from "../lib/asl/records_codec.ts";
import { Session } from "../lib/asl/session.ts";
import { MAX_READ_BYTES, MIN_READ_BYTES } from "../lib/asl/session_receive.ts";
import type { Duplex, SecureSession } from "../lib/asl/types.ts";
import type { ValidatedPeer } from "../lib/pki/types.ts";
import {
  manInTheMiddle,
  readToEnd,
  type Rewrite,
  type StreamPair,
  streamPair,
  vectorCredentials,
  vectorTrust,
} from "./helpers/asl.ts";
import { keyedSession, wireRecordLines } from "./helpers/asl_batch.ts";
import { until } from "./helpers/wait.ts";

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
    // The read parked after the handshake is of the minimum size (fails by timing out).
    await until(
      "a parked read of the minimum size",
      () => observed.sizes.at(-1) === MIN_READ_BYTES,
    );
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
    await until(
      "a parked read of the minimum size",
      () => observed.sizes.at(-1) === MIN_READ_BYTES,
    );
    await client.close();
  } finally {
    closeBoth(a, b);
  }
});

// --- Revision 4: several command lines per record ------------------------------------------

type GcmSuite = "X25519_AES_GCM" | "AES_GCM";
const gcmKeys = (suite: GcmSuite, fill: number) => ({
  suite,
  key: new Uint8Array(32).fill(fill),
  iv: new Uint8Array(12).fill(fill + 1),
});

/**
 * Sends `lines` in one turn from a Session with `suite`, then reads the raw output: the record
 * lines on the wire and, opened with the WebCrypto reference, the command lines of each.
 */
async function sendOneTurn(suite: GcmSuite, lines: readonly string[], impl: RecordImpl = "node") {
  const keys = gcmKeys(suite, 1);
  const { session, peer } = await keyedSession(suite, keys, gcmKeys(suite, 9), { impl });
  try {
    await Promise.all(lines.map((line) => session.send(line)));
    await session.close();
    const wire = await readToEnd(peer);
    const opener = await createRecordCipher(keys, { impl: "webcrypto" });
    const records: string[][] = [];
    for (const [seq, line] of wireRecordLines(wire).entries()) {
      records.push(decodeRecordPlaintext(await opener.open(decodeRecordLine(line), seq)));
    }
    return { wire, records };
  } finally {
    peer.close();
  }
}

/** Delivers raw session output to a fresh receiving Session with `suite`; returns its lines. */
async function receiveWire(suite: GcmSuite, wire: string, impl: RecordImpl = "node") {
  const { session, peer } = await keyedSession(suite, gcmKeys(suite, 9), gcmKeys(suite, 1), {
    impl,
  });
  try {
    await peer.write(new TextEncoder().encode(wire));
    await peer.closeWrite();
    const got: string[] = [];
    for await (const line of session) got.push(line);
    return { got, info: await session.closed };
  } finally {
    peer.close();
  }
}

/** How the spec's greedy rule groups lines of these UTF-8 sizes into records. */
function greedyGroups(sizes: readonly number[]): number[] {
  const groups: number[] = [];
  let size = -1;
  for (const s of sizes) {
    if (size >= 0 && size + 1 + s <= MAX_PLAINTEXT_BYTES) {
      size += 1 + s;
      groups[groups.length - 1]!++;
    } else {
      size = s;
      groups.push(1);
    }
  }
  return groups;
}

/** 200 command lines of 20 to 420 characters, about 44 KB in all. */
const TURN = Array.from(
  { length: 200 },
  (_, i) => `MESSAGE m${i} bob ${"QUFB".repeat(1 + (i * 37) % 100)}`,
);

for (const impl of ["node", "webcrypto"] as const) {
  Deno.test(`session X25519_AES_GCM (${impl}): 200 lines of one turn leave in a few records and arrive in order`, async () => {
    const { wire, records } = await sendOneTurn("X25519_AES_GCM", TURN, impl);
    const want = greedyGroups(TURN.map((l) => l.length));
    assert.ok(want.length >= 2 && want.length <= 3, `the fixture needs ${want.length} records`);
    assert.deepEqual(records.map((r) => r.length), want, "as many lines per record as fit");
    assert.deepEqual(records.flat(), TURN);
    const { got, info } = await receiveWire("X25519_AES_GCM", wire, impl);
    assert.deepEqual(got, TURN);
    assert.equal(info.reason, "remote");
  });

  Deno.test(`session AES_GCM (${impl}): the same 200 lines leave as 200 records, one line each`, async () => {
    const { wire, records } = await sendOneTurn("AES_GCM", TURN, impl);
    assert.equal(records.length, 200);
    assert.deepEqual(records, TURN.map((l) => [l]));
    const { got } = await receiveWire("AES_GCM", wire, impl);
    assert.deepEqual(got, TURN);
  });
}

Deno.test("session X25519_AES_GCM: a line that would overflow 32 768 bytes starts the next record", async () => {
  const lines = [
    "a".repeat(16_383),
    "b".repeat(16_384), // with the LF: exactly 32 768 bytes
    "c",
    "d".repeat(32_768), // alone
    "é".repeat(3), // 6 bytes: counted in bytes, not characters
    "e".repeat(32_761), // 6 + 1 + 32 761 = 32 768
    "f",
  ];
  const { records } = await sendOneTurn("X25519_AES_GCM", lines);
  assert.deepEqual(records, [
    [lines[0], lines[1]],
    [lines[2]],
    [lines[3]],
    [lines[4], lines[5]],
    [lines[6]],
  ]);
});

Deno.test("session X25519_AES_GCM: at most maxQueuedSends lines per write, each batch in its own records", async () => {
  const keys = gcmKeys("X25519_AES_GCM", 1);
  const { session, peer } = await keyedSession("X25519_AES_GCM", keys, keys, {
    session: { maxQueuedSends: 8 },
  });
  try {
    const lines = Array.from({ length: 20 }, (_, i) => `OK m${i}`);
    await Promise.all(lines.map((l) => session.send(l)));
    await session.close();
    const opener = await createRecordCipher(keys, { impl: "webcrypto" });
    const records: string[][] = [];
    for (const [seq, line] of wireRecordLines(await readToEnd(peer)).entries()) {
      records.push(decodeRecordPlaintext(await opener.open(decodeRecordLine(line), seq)));
    }
    assert.deepEqual(records, [lines.slice(0, 8), lines.slice(8, 16), lines.slice(16)]);
  } finally {
    peer.close();
  }
});

Deno.test("session X25519_AES_GCM: batched sends keep call order and resolve under back-pressure", async () => {
  const c = gcmKeys("X25519_AES_GCM", 1);
  const s = gcmKeys("X25519_AES_GCM", 9);
  const [a, b] = createPipe(2048);
  const mk = (conn: Duplex, send: typeof c, recv: typeof c, maxInbox?: number) =>
    Promise.all([createRecordCipher(send), createRecordCipher(recv)]).then(([sc, rc]) =>
      new Session({
        conn,
        reader: new FrameReader(conn, RECORD_LIMITS),
        suite: "X25519_AES_GCM",
        peer: {} as ValidatedPeer,
        sendCipher: sc,
        recvCipher: rc,
        options: { maxQueuedSends: 16, ...(maxInbox ? { maxInbox } : {}) },
      })
    );
  const client = await mk(a, c, s);
  const server = await mk(b, s, c, 2);
  try {
    const n = 1000;
    let settled = 0;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      sends.push(
        client.send(`MESSAGE m${i} bob ${"QUFB".repeat(1 + (i % 60))}`).then(() => {
          settled++;
        }),
      );
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 0));
    }
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(settled < n, `the full pipe holds sends back (${settled} of ${n} settled)`);
    const got: number[] = [];
    for await (const line of server) {
      got.push(Number(line.split(" ")[1]!.slice(1)));
      if (got.length === n) break;
    }
    await Promise.all(sends);
    assert.equal(settled, n);
    assert.deepEqual(got, Array.from({ length: n }, (_, i) => i));
  } finally {
    await client.close();
    await server.close();
  }
});

/** A receiving Session with `suite` and the sealer of its peer (raw record lines). */
async function receiver(suite: GcmSuite, impl: RecordImpl) {
  const keys = gcmKeys(suite, 3);
  const { session, peer } = await keyedSession(suite, gcmKeys(suite, 7), keys, { impl });
  const sealer = await createRecordCipher(keys, { impl: "webcrypto" });
  const sealText = async (text: string, seq: number) =>
    (await sealer.seal(new TextEncoder().encode(text), seq)).toBase64();
  return { session, peer, sealer, sealText };
}

for (const suite of ["AES_GCM", "X25519_AES_GCM"] as const) {
  for (const impl of ["node", "webcrypto"] as const) {
    Deno.test(`session ${suite} (${impl}): a receiver takes several lines in one record, in order`, async () => {
      const { session, peer, sealer, sealText } = await receiver(suite, impl);
      try {
        const wire = [
          await sealLines(sealer, ["REGISTER alice", "CERT bob", "OK s1"], 0),
          await sealText("OK s2", 1),
          // A CR is no separator and no record error: "OK s3\r" is a line for the command layer.
          await sealText("MESSAGE m1 bob aGk=\nOK s3\r", 2),
          "",
        ].join("\n\n");
        await peer.write(new TextEncoder().encode(wire));
        await peer.closeWrite();
        const got: string[] = [];
        for await (const line of session) got.push(line);
        assert.deepEqual(got, [
          "REGISTER alice",
          "CERT bob",
          "OK s1",
          "OK s2",
          "MESSAGE m1 bob aGk=",
          "OK s3\r",
        ]);
        assert.equal((await session.closed).reason, "remote");
      } finally {
        await session.close();
        peer.close();
      }
    });

    Deno.test(`session ${suite} (${impl}): a record of 3 lines with an empty one in the middle closes the session and yields none of them`, async () => {
      const { session, peer, sealer, sealText } = await receiver(suite, impl);
      try {
        const wire = [
          await sealLines(sealer, ["OK s1", "OK s2"], 0),
          await sealText("REGISTER alice\n\nCERT bob", 1),
          await sealText("OK s3", 2), // a good record after it: never handled
          "",
        ].join("\n\n");
        await peer.write(new TextEncoder().encode(wire));
        const got: string[] = [];
        for await (const line of session) got.push(line);
        assert.deepEqual(got, ["OK s1", "OK s2"]);
        const info = await session.closed;
        assert.equal(info.reason, "error");
        assert.ok(info.error instanceof AslError);
        assert.equal(info.error.code, "PROTOCOL_ERROR");
        assert.equal(await readToEnd(peer), "", "nothing sent back");
      } finally {
        await session.close();
        peer.close();
      }
    });
  }
}
