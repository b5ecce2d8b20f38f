// Tests lib/client/seen.ts: the bounded, on-disk memory of deliveries already shown, by
// digest of (sid, from, payload), one file per user and server (spec section 5).

import assert from "node:assert/strict";
import {
  deliveryDigest,
  SeenDeliveries,
  seenFileName,
  seenFilePath,
  SeenMemories,
  type SeenServer,
} from "../lib/client/seen.ts";

const enc = (t: string) => new TextEncoder().encode(t);
const A: SeenServer = { address: "localhost:4287", fingerprint: "aa:bb" };
const B: SeenServer = { address: "localhost:4287", fingerprint: "cc:dd" };

Deno.test("deliveryDigest: sid, sender and payload all count; the payload is not stored", () => {
  const d = deliveryDigest("s1", "bob", enc("one"));
  assert.match(d, /^[A-Za-z0-9+/]{43}=$/);
  assert.equal(deliveryDigest("s1", "bob", enc("one")), d);
  assert.notEqual(deliveryDigest("s1", "bob", enc("two")), d);
  assert.notEqual(deliveryDigest("s1", "carol", enc("one")), d);
  assert.notEqual(deliveryDigest("s2", "bob", enc("one")), d);
  // No field boundary ambiguity: "s1 b" + "ob" vs "s1" + "b ob" cannot occur (no spaces).
  assert.notEqual(deliveryDigest("s1", "bo", enc("bone")), deliveryDigest("s1", "bob", enc("one")));
});

Deno.test("seen deliveries survive a restart through the file; the file holds no payload", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = seenFilePath(dir, "alice", A);
    assert.equal(path, `${dir}/seen/alice/${seenFileName(A)}`);
    const a = new SeenDeliveries(A, path);
    assert.equal(a.size, 0);
    const one = deliveryDigest("s1", "bob", enc("secret text"));
    const two = deliveryDigest("s2", "bob", enc("more"));
    a.add(one);
    a.add(two);
    a.add(one);
    assert.ok(a.has(one) && a.has(two));
    assert.ok(!a.has(deliveryDigest("s1", "bob", enc("restored, different"))));
    const b = new SeenDeliveries(A, path);
    assert.equal(b.size, 2);
    assert.ok(b.has(one) && b.has(two));
    const text = Deno.readTextFileSync(path);
    assert.equal(text, `# netsec-msg seen v2 localhost:4287 aa:bb\n${one}\n${two}\n`);
    assert.ok(!text.includes("secret"));
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("each server (fingerprint and address) has its own file and memory", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const d = deliveryDigest("s1", "bob", enc("one"));
    new SeenDeliveries(A, seenFilePath(dir, "alice", A)).add(d);
    assert.notEqual(seenFileName(A), seenFileName(B));
    assert.notEqual(seenFileName(A), seenFileName({ ...A, address: "127.0.0.1:4287" }));
    assert.ok(!new SeenDeliveries(B, seenFilePath(dir, "alice", B)).has(d));
    assert.ok(new SeenDeliveries(A, seenFilePath(dir, "alice", A)).has(d));
    // A file whose header names another server (copied or renamed) is not trusted.
    assert.ok(!new SeenDeliveries(B, seenFilePath(dir, "alice", A)).has(d));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("an old sid-only file is ignored, then replaced on the first write", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/old.seen`;
    Deno.writeTextFileSync(path, "s1\ns2\n");
    const seen = new SeenDeliveries(A, path);
    assert.equal(seen.size, 0);
    const d = deliveryDigest("s3", "bob", enc("x"));
    seen.add(d);
    assert.equal(Deno.readTextFileSync(path), `# netsec-msg seen v2 localhost:4287 aa:bb\n${d}\n`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("seen deliveries are bounded: the oldest are forgotten, the file is compacted", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = seenFilePath(dir, "bob", A);
    const seen = new SeenDeliveries(A, path, 3);
    const ds = Array.from({ length: 10 }, (_, i) => deliveryDigest(`s${i}`, "x", enc("p")));
    for (const d of ds) seen.add(d);
    assert.equal(seen.size, 3);
    assert.ok(!seen.has(ds[6]!));
    assert.ok(seen.has(ds[7]!) && seen.has(ds[8]!) && seen.has(ds[9]!));
    const lines = Deno.readTextFileSync(path).split("\n").filter((l) => l !== "");
    assert.ok(lines.length <= 7, `file holds ${lines.length} lines`);
    const again = new SeenDeliveries(A, path, 3);
    assert.equal(again.size, 3);
    assert.ok(again.has(ds[9]!) && !again.has(ds[0]!));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("without a file the memory is in-process only", () => {
  const seen = new SeenDeliveries(A, undefined, 2);
  seen.add("a");
  seen.add("b");
  seen.add("c");
  assert.ok(!seen.has("a") && seen.has("b") && seen.has("c"));
});

Deno.test("SeenMemories: one memory per server, loaded once, from the user's state directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const d = deliveryDigest("s1", "bob", enc("one"));
    const before = new SeenDeliveries(A, seenFilePath(dir, "alice", A));
    before.add(d);
    const warnings: string[] = [];
    const memories = new SeenMemories({
      user: "alice",
      stateDir: dir,
      warn: (event) => void warnings.push(event),
    });
    const a = memories.for(A);
    assert.equal(memories.for({ ...A }), a);
    assert.equal(a.has(d), true);
    const b = memories.for(B);
    assert.notEqual(b, a);
    assert.equal(b.has(d), false);
    assert.equal(
      new SeenMemories({ user: "bob", stateDir: dir, warn: () => {} }).for(A).has(d),
      false,
    );
    assert.deepEqual(warnings, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SeenMemories: an unreadable file is reported and the memory is kept in-process", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(seenFilePath(dir, "alice", A), { recursive: true }); // a directory: unreadable
    const warnings: string[] = [];
    const memories = new SeenMemories({
      user: "alice",
      stateDir: dir,
      limit: 1,
      warn: (event, fields) => void warnings.push(`${event} ${fields.reason.length > 0}`),
    });
    const memory = memories.for(A);
    assert.deepEqual(warnings, ["client.seen_read_failed true"]);
    memory.add(deliveryDigest("s1", "bob", enc("one")));
    memory.add(deliveryDigest("s2", "bob", enc("two")));
    assert.equal(memory.size, 1); // the limit still applies
    assert.equal(memories.for(A), memory);
    assert.equal(warnings.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
