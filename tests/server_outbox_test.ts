import assert from "node:assert/strict";
import { MAX_OUTSTANDING_SENDS, Outbox } from "../lib/server/outbox.ts";

Deno.test("outbox: replies leave in command order, deliveries queue behind pending replies", () => {
  const sent: string[] = [];
  const out = new Outbox((line) => (sent.push(line), Promise.resolve()), 1 << 20);
  out.push("OK now");
  const a = out.reserve(10);
  const b = out.reserve(10);
  out.push("MESSAGE 1 x aGk=");
  out.fill(b, "OK b");
  assert.deepEqual(sent, ["OK now"]);
  out.fill(a, "OK a");
  assert.deepEqual(sent, ["OK now", "OK a", "OK b", "MESSAGE 1 x aGk="]);
  out.fill(a, "again"); // a slot is filled once
  assert.equal(sent.length, 4);
});

Deno.test("outbox: counts unread bytes, reports over-limit until half drained, calls onDrained", async () => {
  const release: (() => void)[] = [];
  let drained = 0;
  const out = new Outbox(
    () => new Promise<void>((resolve) => release.push(resolve)),
    100,
    () => drained++,
  );
  out.push("x".repeat(60));
  assert.equal(out.overLimit, false);
  const slot = out.reserve(50);
  assert.equal(out.pendingBytes, 110);
  assert.equal(out.overLimit, true);
  let woke = false;
  const wait = out.drained().then(() => (woke = true));
  out.fill(slot, "y".repeat(5)); // 65 pending: under the bound but above half
  await Promise.resolve();
  assert.equal(out.overLimit, true);
  assert.equal(woke, false);
  release.shift()?.(); // the 60-byte line was written
  await wait;
  assert.equal(out.pendingBytes, 5);
  assert.equal(out.overLimit, false);
  assert.equal(drained, 1);
  release.shift()?.();
});

Deno.test("outbox: an OutboxTarget gets the lines in order and the drained call", async () => {
  const release: (() => void)[] = [];
  const target = {
    sent: [] as string[],
    drained: 0,
    writeLine(line: string): Promise<void> {
      this.sent.push(line);
      return new Promise<void>((resolve) => release.push(resolve));
    },
    outputDrained(): void {
      this.drained++;
    },
  };
  const out = new Outbox(target, 100);
  const slot = out.reserve(10);
  out.push("MESSAGE 1 x aGk=");
  out.fill(slot, "OK a");
  assert.deepEqual(target.sent, ["OK a", "MESSAGE 1 x aGk="]);
  out.push("z".repeat(120));
  assert.equal(out.overLimit, true);
  for (const done of release.splice(0)) done();
  await out.drained();
  assert.equal(out.overLimit, false);
  assert.equal(target.drained, 1);
});

Deno.test("outbox: a closed outbox drops pending lines and releases waiters", async () => {
  const sent: string[] = [];
  const out = new Outbox((line) => (sent.push(line), new Promise<void>(() => {})), 10);
  const slot = out.reserve(100);
  const wait = out.drained();
  out.close();
  await wait;
  out.fill(slot, "OK late");
  out.push("MESSAGE 1 a aGk=");
  assert.deepEqual(sent, []);
});

Deno.test("outbox: lines queued behind a pending reply count against the bound", () => {
  const out = new Outbox(() => Promise.resolve(), 100);
  const slot = out.reserve(10);
  for (let i = 0; i < 5; i++) out.push("x".repeat(30));
  assert.equal(out.pendingBytes, 160);
  assert.equal(out.overLimit, true);
  out.close();
  assert.equal(out.pendingBytes, 0);
  out.fill(slot, "OK");
});

Deno.test("outbox: at most MAX_OUTSTANDING_SENDS are handed over; the rest follow in order", async () => {
  const handed: string[] = [];
  const release: (() => void)[] = [];
  const out = new Outbox((line) => {
    handed.push(line);
    return new Promise<void>((resolve) => release.push(resolve));
  }, 1 << 20);
  const total = MAX_OUTSTANDING_SENDS + 10;
  for (let i = 0; i < total; i++) out.push(`L${i}`);
  assert.equal(handed.length, MAX_OUTSTANDING_SENDS);
  for (let round = 0; round < 10 && handed.length < total; round++) {
    for (const r of release.splice(0)) r();
    await new Promise((r) => setTimeout(r, 0));
  }
  assert.deepEqual(handed, Array.from({ length: total }, (_, i) => `L${i}`));
  for (const r of release.splice(0)) r();
});

Deno.test("outbox: settled() waits for reserved replies and for the writes handed over", async () => {
  const release: (() => void)[] = [];
  const out = new Outbox(() => new Promise<void>((resolve) => release.push(resolve)), 1 << 20);
  let settled = false;
  await out.settled(); // nothing pending: at once
  const slot = out.reserve(10);
  const waiting = out.settled().then(() => (settled = true));
  await Promise.resolve();
  assert.equal(settled, false, "a reply is still reserved");
  out.fill(slot, "OK m1");
  await Promise.resolve();
  assert.equal(settled, false, "the reply is handed over but not yet written");
  release.shift()!();
  await waiting;
  assert.equal(settled, true);
  // A closed outbox is settled whatever it held.
  out.reserve(5);
  const closing = out.settled();
  out.close();
  await closing;
});
