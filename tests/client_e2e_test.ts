// Tests end-to-end sealing in the library client through the real server (lib/client/e2e.ts
// over client.ts; ASL spec section 7): alice → bob sealed with no plaintext anywhere in the
// server's SQLite file, a group that includes the sender, a 60-member group split into
// several MESSAGEs that each fit, a recipient whose certificate was re-issued
// (`issueUser --force`, what `certs user bob --force` runs) refused until `trust` with both
// fingerprints shown, and messages sealed to the old certificate still read with the key
// kept beside the new one (lib/pki/key_history.ts).

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { connect, type MessengerClient } from "../lib/client/client.ts";
import { ClientError } from "../lib/client/errors.ts";
import type { ClientEvent, ClientOptions, IncomingMessage } from "../lib/client/types.ts";
import { issueUser } from "../lib/pki/pki_files.ts";
import { loadCredentials } from "../lib/pki/credentials.ts";
import { sha256FingerprintBase64 } from "../lib/pki/fingerprint.ts";
import { earlierKeyPaths, loadEarlierKeys } from "../lib/pki/key_history.ts";
import { startTestServer, type TestServer } from "./helpers/server.ts";

const FAST = { initialMs: 20, maxMs: 200, jitter: 0.5 } as const;

async function join(
  t: TestServer,
  user: string,
  extra: Partial<ClientOptions> = {},
): Promise<MessengerClient> {
  return await connect({
    user,
    hostname: "127.0.0.1",
    port: t.port,
    credentials: await t.pki.credentials(user),
    trust: t.pki.trust,
    reconnect: FAST,
    ...extra,
  });
}

async function take(client: MessengerClient, n: number): Promise<IncomingMessage[]> {
  const out: IncomingMessage[] = [];
  for await (const message of client) {
    out.push(message);
    if (out.length === n) break;
  }
  return out;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Whether `text` (its UTF-8 bytes, or their base64 as a plain payload would hold it) is
 * anywhere in the database: every text and blob value of every table, and the raw bytes of
 * the file and its WAL (so deleted rows and pages count too).
 */
function databaseHolds(dbPath: string, text: string): boolean {
  const bytes = new TextEncoder().encode(text);
  const needles = [bytes, new TextEncoder().encode(bytes.toBase64())];
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    for (const { name } of tables as { name: string }[]) {
      for (const row of db.prepare(`SELECT * FROM "${name}"`).all()) {
        for (const value of Object.values(row as Record<string, unknown>)) {
          const hay = typeof value === "string"
            ? new TextEncoder().encode(value)
            : value instanceof Uint8Array
            ? value
            : undefined;
          if (hay && needles.some((n) => indexOf(hay, n) >= 0)) return true;
        }
      }
    }
  } finally {
    db.close();
  }
  for (const file of [dbPath, `${dbPath}-wal`]) {
    let raw: Uint8Array;
    try {
      raw = Deno.readFileSync(file);
    } catch {
      continue;
    }
    if (needles.some((n) => indexOf(raw, n) >= 0)) return true;
  }
  return false;
}

Deno.test("alice → bob sealed: the server's database holds no plaintext; bob reads it verified", async () => {
  const t = await startTestServer({ users: ["alice", "bob"] });
  const clients: MessengerClient[] = [];
  try {
    const bob = await join(t, "bob");
    await bob.close(); // bob is known (and his certificate recorded), now offline
    const alice = await join(t, "alice");
    clients.push(alice);
    const secret = "the launch code is 0000, tell nobody";
    const sent = await alice.send("bob", secret);
    assert.equal(sent.sealed, true);
    assert.match(sent.id, /^[A-Za-z0-9_-]{22}$/); // 128 random bits
    const control = "this one goes plain on purpose";
    await alice.send("bob", control, { seal: false });
    const db = `${t.dir}/test.db`;
    assert.equal(databaseHolds(db, secret), false, "the sealed text is not in the database");
    assert.equal(databaseHolds(db, control), true, "the search finds a plain payload");

    const bobAgain = await join(t, "bob");
    clients.push(bobAgain);
    const [sealed, plain] = await take(bobAgain, 2);
    assert.deepEqual([sealed!.text, sealed!.sealed, sealed!.from], [secret, true, "alice"]);
    assert.equal(
      sealed!.senderFingerprint,
      await sha256FingerprintBase64(t.pki.chain("alice")[0]!),
    );
    assert.deepEqual([plain!.text, plain!.sealed], [control, false]);
    assert.equal((await alice.fingerprint()).base64, sealed!.senderFingerprint);
  } finally {
    for (const c of clients) await c.close();
    await t.close();
  }
});

Deno.test("a group that includes the sender: everyone, the sender too, opens its copy", async () => {
  const t = await startTestServer({ users: ["alice", "bob", "carol"] });
  const clients: MessengerClient[] = [];
  try {
    for (const u of ["bob", "carol", "alice"]) clients.push(await join(t, u));
    const [bob, carol, alice] = clients as [MessengerClient, MessengerClient, MessengerClient];
    const sent = await alice.send(["alice", "bob", "carol"], "team meeting");
    assert.equal(sent.parts?.length, 1);
    for (const c of [alice, bob, carol]) {
      const [m] = await take(c, 1);
      assert.deepEqual([m!.from, m!.text, m!.sealed], ["alice", "team meeting", true]);
    }
  } finally {
    for (const c of clients) await c.close();
    await t.close();
  }
});

Deno.test("a 60-member group is split into several MESSAGEs that each fit; every member reads it", async () => {
  const members = Array.from({ length: 59 }, (_, i) => `member${i}`);
  const t = await startTestServer({ users: ["alice", ...members] });
  const clients: MessengerClient[] = [];
  try {
    // Every member registers once, so the server knows it and records its certificate.
    await Promise.all(members.map(async (m) => (await join(t, m, { reconnect: false })).close()));
    const alice = await join(t, "alice");
    clients.push(alice);
    const group = ["alice", ...members];
    const sent = await alice.send(group, "hello, all sixty of you");
    const parts = sent.parts ?? [];
    assert.ok(parts.length >= 2, `split into ${parts.length} part(s)`);
    assert.deepEqual(parts.flatMap((p) => p.to).sort(), [...group].sort());
    assert.equal(new Set(parts.map((p) => p.id)).size, parts.length);
    for (const p of parts) assert.match(p.id, /^[A-Za-z0-9_-]{22}$/);
    for (const m of ["alice", members[0]!, members[58]!]) {
      const client = m === "alice" ? alice : await join(t, m);
      if (client !== alice) clients.push(client);
      const [got] = await take(client, 1);
      assert.deepEqual([got!.text, got!.sealed], ["hello, all sixty of you", true]);
    }
  } finally {
    for (const c of clients) await c.close();
    await t.close();
  }
});

Deno.test("bob's certificate re-issued with --force: refused until trust (both fingerprints), old key still opens", async () => {
  const t = await startTestServer({ users: ["alice", "bob"] });
  const state = await Deno.makeTempDir();
  const clients: MessengerClient[] = [];
  try {
    const oldBob = await join(t, "bob");
    await oldBob.close();
    const oldFp = await sha256FingerprintBase64(t.pki.chain("bob")[0]!);
    const alice1 = await join(t, "alice", { stateDir: state });
    await alice1.send("bob", "sealed to the old certificate");
    assert.equal((await alice1.whois("bob")).pin, "accepted");
    await alice1.close();

    // What `certs user bob --force` runs: a new key and certificate; the old key is kept.
    await issueUser({ dir: t.pki.dir, userId: "bob", force: true });
    const keyPath = t.pki.keyPath("bob");
    assert.deepEqual(earlierKeyPaths(keyPath), [`${keyPath}.1`]);
    assert.equal(Deno.statSync(`${keyPath}.1`).mode! & 0o777, 0o600);
    const newCreds = await loadCredentials(t.pki.certPath("bob"), keyPath);
    const newFp = await sha256FingerprintBase64(newCreds.chain[0]!);
    assert.notEqual(newFp, oldFp);

    const newBob = await connect({
      user: "bob",
      hostname: "127.0.0.1",
      port: t.port,
      credentials: newCreds,
      trust: t.pki.trust,
      earlierKeys: await loadEarlierKeys(keyPath),
      reconnect: FAST,
    });
    clients.push(newBob);
    const [old] = await take(newBob, 1);
    assert.deepEqual([old!.text, old!.sealed], ["sealed to the old certificate", true]);

    // alice (pins on disk) now sees another certificate for bob: nothing is sealed to it.
    let told!: (event: ClientEvent) => void;
    const pinPending = new Promise<ClientEvent>((resolve) => told = resolve);
    const onEvent = (e: ClientEvent) => e.type === "pin_pending" && told(e);
    const alice = await join(t, "alice", { stateDir: state, onEvent });
    clients.push(alice);
    const refused = await alice.send("bob", "must not go").catch((e) => e);
    assert.ok(refused instanceof ClientError);
    assert.equal(refused.code, "PIN_PENDING");
    assert.ok(refused.message.includes(oldFp) && refused.message.includes(newFp), refused.message);
    assert.equal(alice.pending, 0);
    const whois = await alice.whois("bob");
    assert.deepEqual([whois.pin, whois.fingerprint, whois.accepted], ["pending", newFp, [oldFp]]);

    // New bob writes to alice: held (not shown, not acknowledged) until she decides.
    await newBob.send("alice", "it is really me, new key");
    const received = take(alice, 1);
    assert.deepEqual(await pinPending, {
      type: "pin_pending",
      userId: "bob",
      fingerprint: newFp,
      accepted: [oldFp],
    });

    const trusted = await alice.trust("bob");
    assert.deepEqual([trusted.fingerprint, trusted.previous], [newFp, [oldFp]]);
    const [held] = await received;
    assert.deepEqual([held!.text, held!.senderFingerprint], ["it is really me, new key", newFp]);
    await alice.send("bob", "welcome back");
    const [after] = await take(newBob, 1);
    assert.deepEqual([after!.text, after!.sealed], ["welcome back", true]);
  } finally {
    for (const c of clients) await c.close();
    await t.close();
    await Deno.remove(state, { recursive: true });
  }
});

Deno.test("rejecting a changed certificate: held messages signed with it are refused BAD_SEAL, sends PIN_REJECTED", async () => {
  const t = await startTestServer({ users: ["alice", "carol"] });
  const clients: MessengerClient[] = [];
  try {
    const oldCarol = await join(t, "carol");
    await oldCarol.close();
    let warned!: (e: ClientEvent) => void;
    const badSeal = new Promise<ClientEvent>((resolve) => warned = resolve);
    let told!: () => void;
    const pinPending = new Promise<void>((resolve) => told = resolve);
    const alice = await join(t, "alice", {
      onEvent: (e) => {
        if (e.type === "bad_seal") warned(e);
        if (e.type === "pin_pending") told();
      },
    });
    clients.push(alice);
    assert.equal((await alice.whois("carol")).pin, "new");
    await alice.send("carol", "hello old carol"); // pins carol's first certificate

    await issueUser({ dir: t.pki.dir, userId: "carol", force: true });
    const newCarol = await connect({
      user: "carol",
      hostname: "127.0.0.1",
      port: t.port,
      credentials: await loadCredentials(t.pki.certPath("carol"), t.pki.keyPath("carol")),
      trust: t.pki.trust,
      reconnect: FAST,
    });
    clients.push(newCarol);
    await newCarol.send("alice", "trust me");
    await pinPending;
    const rejected = await alice.reject("carol");
    assert.equal(rejected.pin, "rejected");
    const event = await badSeal;
    assert.equal(event.type === "bad_seal" && event.reason, "pin_rejected");
    await assert.rejects(
      alice.send("carol", "no"),
      (e: unknown) => e instanceof ClientError && e.code === "PIN_REJECTED",
    );
  } finally {
    for (const c of clients) await c.close();
    await t.close();
  }
});
