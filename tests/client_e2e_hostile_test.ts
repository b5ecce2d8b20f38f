// Tests the library client's end-to-end opening (lib/client/e2e.ts, inbox.ts; ASL spec
// section 7 "Receiving") against a hostile server: a scripted ASL peer that delivers
// tampered, misattributed, replayed and forwarded envelopes and lies in its CERT replies.
// Each must be refused (`FAILED <sid> BAD_SEAL`, with a bad_seal event), dropped (a replay:
// `OK <sid>`, not shown) or held, and nothing of it shown as genuine. Plain payloads are
// shown marked as not sealed, or refused `NOT_SEALED` with sealedOnly.

import assert from "node:assert/strict";
import { accept } from "../lib/asl/mod.ts";
import type { SecureSession } from "../lib/asl/types.ts";
import { connect, type MessengerClient } from "../lib/client/client.ts";
import type { ClientEvent, IncomingMessage } from "../lib/client/types.ts";
import { seal } from "../lib/e2e/seal.ts";
import { parseCredentials } from "../lib/pki/credentials.ts";
import type { Credentials } from "../lib/pki/types.ts";
import { vectorCredentials, vectorTrust } from "./helpers/asl.ts";
import { loadUser, type VectorUser } from "./helpers/e2e.ts";
import { makeCert, testKeys } from "./helpers/pki.ts";

const enc = (text: string) => new TextEncoder().encode(text);

interface Hostile {
  readonly port: number;
  /** `sid → "OK"` or the FAILED reason, as the client answered. */
  readonly answers: Map<string, string>;
  /** Every USERID the client asked CERT for. */
  readonly certAsked: string[];
  /** Resolves once every delivery was answered. */
  readonly done: Promise<void>;
  /** Resolves with the client's answer to `sid` once it came. */
  answered(sid: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * A server that registers the client, sends `deliveries` (`MESSAGE sid from payload`),
 * answers `CERT u` with `certs[u]` (else `FAILED u UNKNOWN_USER`) and records the answers.
 */
async function hostilePeer(
  deliveries: readonly string[],
  certs: Record<string, string>,
): Promise<Hostile> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const credentials = await vectorCredentials("server");
  const trust = await vectorTrust();
  const answers = new Map<string, string>();
  const certAsked: string[] = [];
  let finish!: () => void;
  const done = new Promise<void>((resolve) => finish = resolve);
  const sids = deliveries.map((d) => d.split(" ")[1]!);
  const waiters = new Map<string, (answer: string) => void>();
  let session: SecureSession | undefined;
  const task = (async () => {
    const conn = await listener.accept();
    try {
      session = await accept(conn, { credentials, trust });
      const it = session[Symbol.asyncIterator]();
      const register = await it.next();
      const user = String(register.value).split(" ")[1];
      await session.send(`OK ${user}`);
      for (const line of deliveries) await session.send(line);
      while (true) {
        const r = await it.next();
        if (r.done) break;
        const [verb, id, reason] = r.value.split(" ");
        if (verb === "CERT") {
          certAsked.push(id!);
          await session.send(certs[id!] ?? `FAILED ${id} UNKNOWN_USER`);
        } else if (verb === "OK" || verb === "FAILED") {
          answers.set(id!, verb === "OK" ? "OK" : reason ?? "");
          waiters.get(id!)?.(answers.get(id!)!);
          if (sids.every((sid) => answers.has(sid))) finish();
        }
      }
    } catch {
      // the test asserts on the answers
    } finally {
      await session?.close();
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    answers,
    certAsked,
    done,
    answered: (sid) =>
      answers.has(sid)
        ? Promise.resolve(answers.get(sid)!)
        : new Promise((resolve) => waiters.set(sid, resolve)),
    async close() {
      listener.close();
      await session?.close();
      await task;
    },
  };
}

/** Connects `user` to the peer, collecting shown messages and events. */
async function receiver(
  port: number,
  user: string,
  credentials: Credentials,
  extra: { sealedOnly?: boolean } = {},
): Promise<{ client: MessengerClient; shown: IncomingMessage[]; events: ClientEvent[] }> {
  const shown: IncomingMessage[] = [];
  const events: ClientEvent[] = [];
  const client = await connect({
    user,
    hostname: "localhost",
    port,
    credentials,
    trust: await vectorTrust(),
    reconnect: false,
    onEvent: (e) => events.push(e),
    ...extra,
  });
  void (async () => {
    for await (const m of client) shown.push(m);
  })();
  return { client, shown, events };
}

async function users(): Promise<{ alice: VectorUser; bob: VectorUser; carol: VectorUser }> {
  return {
    alice: await loadUser("alice", "client.crt", "client.key"),
    bob: await loadUser("bob", "bob.crt", "bob.key"),
    carol: await loadUser("carol", "carol.crt", "carol.key"),
  };
}

const certLine = (user: string, chain: readonly Uint8Array[]) =>
  `OK ${user} ${chain.map((d) => d.toBase64()).join(" ")}`;

async function sealTo(from: VectorUser, to: VectorUser[], text: string): Promise<string> {
  const sealed = await seal({
    sender: { userId: from.userId, leafDer: from.leaf, signKey: from.creds.signKey },
    recipients: to.map((u) => ({ userId: u.userId, key: u.encryptKey })),
    plaintext: enc(text),
  });
  return sealed.payload;
}

function flipBit(payload: string, byteFromEnd: number): string {
  const bytes = Uint8Array.fromBase64(payload);
  bytes[bytes.length - byteFromEnd]! ^= 0x01;
  return bytes.toBase64();
}

Deno.test("hostile server: flipped bit, swapped FROMUSERID, replay under a new sid — refused or dropped, never shown", async () => {
  const { alice, bob, carol } = await users();
  const genuine = await sealTo(alice, [bob], "the real one");
  const tampered = flipBit(await sealTo(alice, [bob], "tampered text"), 300); // inside C or SIG
  const misattributed = await sealTo(alice, [bob], "who wrote this");
  const peer = await hostilePeer([
    `MESSAGE s0 alice ${genuine}`,
    `MESSAGE s1 alice ${tampered}`,
    `MESSAGE s2 carol ${misattributed}`, // the server claims carol wrote alice's envelope
    `MESSAGE s3 alice ${genuine}`, // replayed under a new sid
  ], {
    alice: certLine("alice", alice.creds.chain),
    carol: certLine("carol", carol.creds.chain),
  });
  const bobSide = await receiver(peer.port, "bob", bob.creds);
  try {
    await peer.done;
    await bobSide.client.close();
    assert.deepEqual(Object.fromEntries(peer.answers), {
      s0: "OK",
      s1: "BAD_SEAL",
      s2: "BAD_SEAL",
      s3: "OK", // a replay is acknowledged, not shown
    });
    assert.deepEqual(bobSide.shown.map((m) => [m.sid, m.text, m.sealed]), [
      ["s0", "the real one", true],
    ]);
    assert.equal(bobSide.shown[0]!.senderFingerprint, alice.fingerprint);
    const warnings = bobSide.events.flatMap((e) =>
      e.type === "bad_seal" ? [[e.sid, e.from, e.reason]] : []
    );
    assert.deepEqual(warnings, [
      ["s1", "alice", "signature"],
      ["s2", "carol", "fp_unknown"], // carol's certificate does not have H.fp
    ]);
  } finally {
    await bobSide.client.close();
    await peer.close();
  }
});

Deno.test("hostile server: bob's envelope forwarded to carol is refused (not addressed to her)", async () => {
  const { alice, bob, carol } = await users();
  const toBob = await sealTo(alice, [bob], "for bob only");
  const peer = await hostilePeer([`MESSAGE f1 alice ${toBob}`], {
    alice: certLine("alice", alice.creds.chain),
  });
  const carolSide = await receiver(peer.port, "carol", carol.creds);
  try {
    await peer.done;
    await carolSide.client.close();
    assert.equal(peer.answers.get("f1"), "BAD_SEAL");
    assert.deepEqual(carolSide.shown, []);
    const bad = carolSide.events.find((e) => e.type === "bad_seal");
    assert.equal(bad?.type === "bad_seal" && bad.reason, "not_addressed");
  } finally {
    await carolSide.client.close();
    await peer.close();
  }
});

Deno.test("hostile server: a CERT reply with another user's or a wrong CA's certificate is refused", async () => {
  const { alice, bob, carol } = await users();
  // A "alice" the server made up with its own CA, signing an envelope with that key.
  const evilCa = await makeCert({
    subject: "CN=Evil CA",
    keys: await testKeys("RSA", 6),
    profile: "ca",
  });
  const evilLeaf = await makeCert({
    subject: "CN=alice",
    keys: await testKeys("RSA", 7),
    issuer: evilCa,
    profile: "client",
  });
  const evilCreds = await parseCredentials(evilLeaf.pem, evilLeaf.keys.pem);
  const forged = await seal({
    sender: { userId: "alice", leafDer: evilLeaf.der, signKey: evilCreds.signKey },
    recipients: [{ userId: "bob", key: bob.encryptKey }],
    plaintext: enc("forged by the server"),
  });
  const genuine = await sealTo(alice, [bob], "genuine");
  // First peer: CERT alice answers carol's (valid) certificate.
  const peer1 = await hostilePeer([`MESSAGE c1 alice ${genuine}`], {
    alice: certLine("alice", carol.creds.chain),
  });
  const side1 = await receiver(peer1.port, "bob", bob.creds);
  try {
    await peer1.done;
    assert.equal(peer1.answers.get("c1"), "BAD_SEAL");
    assert.deepEqual(side1.shown, []);
  } finally {
    await side1.client.close();
    await peer1.close();
  }
  // Second peer: CERT alice answers the wrong CA's "alice", whose key signed the envelope.
  const peer2 = await hostilePeer([`MESSAGE c2 alice ${forged.payload}`], {
    alice: certLine("alice", [evilLeaf.der]),
  });
  const side2 = await receiver(peer2.port, "bob", bob.creds);
  try {
    await peer2.done;
    assert.equal(peer2.answers.get("c2"), "BAD_SEAL");
    assert.deepEqual(side2.shown, []);
    const bad = side2.events.find((e) => e.type === "bad_seal");
    assert.equal(bad?.type === "bad_seal" && bad.reason, "certificate");
  } finally {
    await side2.client.close();
    await peer2.close();
  }
});

Deno.test("hostile server: CERT failing with INTERNAL holds the message (not shown, not answered)", async () => {
  const { alice, bob } = await users();
  const genuine = await sealTo(alice, [bob], "wait for me");
  const peer = await hostilePeer([`MESSAGE h1 alice ${genuine}`, "MESSAGE h2 alice cGxhaW4="], {
    alice: "FAILED alice INTERNAL",
  });
  const side = await receiver(peer.port, "bob", bob.creds);
  try {
    // h2 (plain) is answered only after h1 was decided as held: delivery order is kept.
    assert.equal(await peer.answered("h2"), "OK");
    assert.equal(peer.answers.has("h1"), false);
    assert.deepEqual(side.shown.map((m) => [m.sid, m.sealed]), [["h2", false]]);
    assert.ok(side.events.some((e) => e.type === "held" && e.sid === "h1"));
  } finally {
    await side.client.close();
    await peer.close();
  }
});

Deno.test("plain payloads: shown marked not sealed; refused with NOT_SEALED under sealedOnly", async () => {
  const { bob } = await users();
  const plain = enc("written by anyone").toBase64();
  const peer = await hostilePeer([`MESSAGE p1 alice ${plain}`], {});
  const side = await receiver(peer.port, "bob", bob.creds);
  try {
    await peer.done;
    assert.equal(peer.answers.get("p1"), "OK");
    assert.deepEqual(side.shown.map((m) => [m.text, m.sealed, m.senderFingerprint]), [
      ["written by anyone", false, undefined],
    ]);
  } finally {
    await side.client.close();
    await peer.close();
  }
  const strictPeer = await hostilePeer([`MESSAGE p2 alice ${plain}`], {});
  const strict = await receiver(strictPeer.port, "bob", bob.creds, { sealedOnly: true });
  try {
    await strictPeer.done;
    assert.equal(strictPeer.answers.get("p2"), "NOT_SEALED");
    assert.deepEqual(strict.shown, []);
    assert.ok(strict.events.some((e) => e.type === "not_sealed" && e.sid === "p2"));
  } finally {
    await strict.client.close();
    await strictPeer.close();
  }
});
