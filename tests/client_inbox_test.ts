// Tests lib/client/inbox.ts: deliveries shown to the consumer in order and once, acknowledged
// and remembered only after the consumer took them, a seen delivery dropped and re-acked, a
// redelivery on a new session re-targeted, and the back-pressure bound. No socket: sessions
// are strings, acknowledgements are recorded.

import assert from "node:assert/strict";
import { Inbox, incomingMessage } from "../lib/client/inbox.ts";
import type { Delivery } from "../lib/client/replies.ts";
import { deliveryDigest, SeenDeliveries, type SeenServer } from "../lib/client/seen.ts";
import type { ClientLogger } from "../lib/client/types.ts";

const enc = (text: string) => new TextEncoder().encode(text);
const SERVER: SeenServer = { address: "localhost:4287", fingerprint: "aa:bb" };
const delivery = (sid: string, text: string, from = "bob"): Delivery => ({
  sid,
  from,
  payload: enc(text),
});

function recordingLogger(events: string[]): ClientLogger {
  const record = (event: string) => void events.push(event);
  return { debug: record, info: record, warn: record, error: record };
}

/** An inbox whose acknowledgements land in `acks` as `session:sid`. */
function inbox(acks: string[], limit?: number, events: string[] = []): Inbox<string> {
  return new Inbox<string>({
    ack: (session, sid) => acks.push(`${session}:${sid}`),
    log: recordingLogger(events),
    ...(limit === undefined ? {} : { limit }),
  });
}

Deno.test("incomingMessage: bytes as delivered, text as UTF-8 (invalid sequences become U+FFFD)", () => {
  const at = new Date(0);
  const m = incomingMessage({ sid: "s1", from: "bob", payload: new Uint8Array([104, 0xff]) }, at);
  assert.deepEqual(m, {
    sid: "s1",
    from: "bob",
    bytes: new Uint8Array([104, 0xff]),
    text: "h\uFFFD",
    receivedAt: at,
    sealed: false,
  });
});

Deno.test("a message is acknowledged and remembered when the consumer asks for the next one", async () => {
  const acks: string[] = [];
  const box = inbox(acks);
  const seen = new SeenDeliveries(SERVER);
  box.deliver("A", seen, delivery("s1", "one"));
  box.deliver("A", seen, delivery("s2", "two"));
  assert.equal(box.size, 2);
  const it = box.messages();
  const first = await it.next();
  assert.equal(first.value?.text, "one");
  assert.equal(first.value?.from, "bob");
  assert.deepEqual(acks, []); // taken, not yet handled
  assert.equal(seen.has(deliveryDigest("s1", "bob", enc("one"))), false);
  assert.equal((await it.next()).value?.text, "two");
  assert.deepEqual(acks, ["A:s1"]);
  assert.equal(seen.has(deliveryDigest("s1", "bob", enc("one"))), true);
  await it.return!();
  assert.deepEqual(acks, ["A:s1", "A:s2"]);
  assert.equal(seen.size, 2);
});

Deno.test("a delivery already seen is dropped and acknowledged again at once; another payload is new", async () => {
  const acks: string[] = [];
  const box = inbox(acks);
  const seen = new SeenDeliveries(SERVER);
  seen.add(deliveryDigest("s1", "bob", enc("one")));
  box.deliver("A", seen, delivery("s1", "one"));
  assert.deepEqual(acks, ["A:s1"]);
  assert.equal(box.size, 0);
  // The same sid with another payload or sender (a restored server reusing sids) is shown.
  box.deliver("A", seen, delivery("s1", "other"));
  box.deliver("A", seen, delivery("s1", "one", "carol"));
  assert.equal(box.size, 2);
  const it = box.messages();
  assert.equal((await it.next()).value?.text, "other");
  assert.equal((await it.next()).value?.from, "carol");
});

Deno.test("sent again on a new session while queued: shown once, acknowledged to the newest session and memory", async () => {
  const acks: string[] = [];
  const box = inbox(acks);
  const first = new SeenDeliveries(SERVER);
  const second = new SeenDeliveries({ ...SERVER, fingerprint: "cc:dd" });
  box.deliver("A", first, delivery("s1", "one"));
  box.deliver("B", second, delivery("s1", "one"));
  assert.equal(box.size, 1);
  const it = box.messages();
  assert.equal((await it.next()).value?.text, "one");
  await it.return!();
  assert.deepEqual(acks, ["B:s1"]);
  assert.equal(second.size, 1);
  assert.equal(first.size, 0);
});

Deno.test("back-pressure: full at the limit until the consumer takes one; close ends the wait", async () => {
  const box = inbox([], 2);
  const seen = new SeenDeliveries(SERVER);
  box.deliver("A", seen, delivery("s1", "one"));
  assert.equal(box.full, false);
  box.deliver("A", seen, delivery("s2", "two"));
  assert.equal(box.full, true);
  let resumed = false;
  const room = box.room().then(() => resumed = true);
  await Promise.resolve();
  assert.equal(resumed, false);
  const it = box.messages();
  await it.next();
  await room;
  assert.equal(box.full, false);
  box.deliver("A", seen, delivery("s3", "three"));
  assert.equal(box.full, true);
  const waiting = box.room();
  box.close();
  await waiting;
  assert.equal(box.full, false); // closed: the reader no longer waits
});

Deno.test("close: the queue is still drained, then iteration ends; a waiting consumer is woken", async () => {
  const box = inbox([]);
  const seen = new SeenDeliveries(SERVER);
  const it = box.messages();
  const pending = it.next();
  box.deliver("A", seen, delivery("s1", "one"));
  assert.equal((await pending).value?.text, "one");
  box.deliver("A", seen, delivery("s2", "two"));
  box.close();
  assert.equal((await it.next()).value?.text, "two");
  assert.equal((await it.next()).done, true);
  const empty = inbox([]);
  const waiting = empty.messages().next();
  empty.close();
  assert.equal((await waiting).done, true);
});

Deno.test("a memory that cannot be written is reported, and the message is still acknowledged", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const seen = new SeenDeliveries(SERVER, `${dir}/sub/x.seen`);
    await Deno.writeTextFile(`${dir}/sub`, "a file where the directory should be");
    const acks: string[] = [];
    const events: string[] = [];
    const box = inbox(acks, undefined, events);
    box.deliver("A", seen, delivery("s1", "one"));
    const it = box.messages();
    await it.next();
    await it.return!();
    assert.deepEqual(events, ["client.seen_write_failed"]);
    assert.deepEqual(acks, ["A:s1"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
