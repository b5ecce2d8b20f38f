// Queue bookkeeping and the MESSAGE precheck (lib/server/quota.ts), without a socket or a
// store: the per-recipient and per-pair limits, UNKNOWN_USER before QUEUE_FULL, groups all
// or nothing, counts given back, a snapshot's counts.
import assert from "node:assert/strict";
import { DEFAULT_QUEUE_MAX, DEFAULT_SENDER_QUEUE_MAX, Quota } from "../lib/server/quota.ts";

const users = new Set(["alice", "bob", "carol", "dave"]);

/** Adds `n` messages from `sender` to `recipient`, each after a passing precheck. */
function fill(quota: Quota, sender: string, recipient: string, n: number): void {
  for (let i = 0; i < n; i++) {
    assert.equal(quota.precheck(sender, [recipient], users), "pass");
    quota.add(sender, [recipient]);
  }
}

Deno.test("quota: the spec's defaults are 10 000 per recipient and 1 000 per pair", () => {
  assert.equal(DEFAULT_QUEUE_MAX, 10_000);
  assert.equal(DEFAULT_SENDER_QUEUE_MAX, 1_000);
  const quota = new Quota();
  assert.equal(quota.queueMax, 10_000);
  assert.equal(quota.senderQueueMax, 1_000);
  fill(quota, "alice", "bob", 999);
  assert.equal(quota.precheck("alice", ["bob"], users), "pass");
  quota.add("alice", ["bob"]);
  assert.equal(quota.precheck("alice", ["bob"], users), "QUEUE_FULL");
  assert.equal(quota.precheck("carol", ["bob"], users), "pass");
});

Deno.test("quota: QUEUE_FULL per sender-recipient pair; other pairs unaffected", () => {
  const quota = new Quota(10, 2);
  fill(quota, "alice", "bob", 2);
  assert.equal(quota.precheck("alice", ["bob"], users), "QUEUE_FULL");
  assert.equal(quota.precheck("carol", ["bob"], users), "pass");
  assert.equal(quota.precheck("alice", ["carol"], users), "pass");
  assert.equal(quota.precheck("bob", ["alice"], users), "pass");
  assert.equal(quota.queuedFrom("alice", "bob"), 2);
  assert.equal(quota.queuedFor("bob"), 2);
});

Deno.test("quota: QUEUE_FULL per recipient, whoever sends", () => {
  const quota = new Quota(3, 2);
  fill(quota, "alice", "bob", 2);
  fill(quota, "carol", "bob", 1);
  assert.equal(quota.queuedFor("bob"), 3);
  assert.equal(quota.precheck("dave", ["bob"], users), "QUEUE_FULL");
  assert.equal(quota.precheck("dave", ["carol"], users), "pass");
});

Deno.test("quota: a group fails as a whole when one member is full", () => {
  const quota = new Quota(1, 1);
  fill(quota, "alice", "bob", 1);
  assert.equal(quota.precheck("carol", ["alice", "bob", "dave"], users), "QUEUE_FULL");
  assert.equal(quota.precheck("carol", ["alice", "dave"], users), "pass");
  // The precheck counts nothing: only add does, for every member.
  assert.equal(quota.queuedFor("alice"), 0);
  quota.add("carol", ["alice", "dave"]);
  assert.equal(quota.queuedFor("alice"), 1);
  assert.equal(quota.queuedFor("dave"), 1);
  assert.equal(quota.queued, 3);
});

Deno.test("quota: UNKNOWN_USER comes before QUEUE_FULL, whatever the member order", () => {
  const quota = new Quota(1, 1);
  fill(quota, "alice", "bob", 1);
  assert.equal(quota.precheck("alice", ["bob", "zed"], users), "UNKNOWN_USER");
  assert.equal(quota.precheck("alice", ["zed", "bob"], users), "UNKNOWN_USER");
  assert.equal(quota.precheck("alice", ["bob"], users), "QUEUE_FULL");
  // Who counts as known is the caller's: anything with `has`.
  assert.equal(quota.precheck("alice", ["zed"], { has: (u) => u === "zed" }), "pass");
});

Deno.test("quota: remove and removeOne give places back and forget empty counts", () => {
  const quota = new Quota(2, 2);
  fill(quota, "alice", "bob", 2);
  quota.add("carol", ["alice", "dave"]);
  assert.equal(quota.precheck("carol", ["bob"], users), "QUEUE_FULL");
  quota.removeOne("alice", "bob"); // bob acknowledged one
  assert.equal(quota.queuedFor("bob"), 1);
  assert.equal(quota.queuedFrom("alice", "bob"), 1);
  assert.equal(quota.precheck("carol", ["bob"], users), "pass");
  quota.remove("carol", ["alice", "dave"]); // not accepted after all
  assert.equal(quota.queuedFor("alice"), 0);
  assert.equal(quota.queuedFor("dave"), 0);
  assert.equal(quota.recipients, 1);
  quota.removeOne("alice", "bob");
  assert.equal(quota.recipients, 0);
  assert.equal(quota.queued, 0);
  // A stray removal (an ack the store knew nothing of) never goes below zero.
  quota.removeOne("alice", "bob");
  assert.equal(quota.queuedFor("bob"), 0);
  fill(quota, "alice", "bob", 2);
  assert.equal(quota.precheck("alice", ["bob"], users), "QUEUE_FULL");
});

Deno.test("quota: starts from a snapshot's counts, summed per recipient", () => {
  const quota = new Quota(5, 3, [
    { recipient: "bob", sender: "alice", count: 3 },
    { recipient: "bob", sender: "carol", count: 1 },
    { recipient: "dave", sender: "alice", count: 2 },
  ]);
  assert.equal(quota.queuedFor("bob"), 4);
  assert.equal(quota.queuedFrom("alice", "bob"), 3);
  assert.equal(quota.queued, 6);
  assert.equal(quota.recipients, 2);
  assert.equal(quota.precheck("alice", ["bob"], users), "QUEUE_FULL"); // pair 3 of 3
  assert.equal(quota.precheck("carol", ["bob"], users), "pass"); // bob 4 of 5
  quota.add("carol", ["bob"]);
  assert.equal(quota.precheck("dave", ["bob"], users), "QUEUE_FULL"); // bob 5 of 5
});

Deno.test("quota: a pair key cannot be confused across sender and recipient", () => {
  // USERIDs have no spaces, so "a b"+"c" and "a"+"b c" never meet; check the plain case.
  const quota = new Quota(10, 1);
  quota.add("ab", ["c"]);
  assert.equal(quota.precheck("a", ["bc"], { has: () => true }), "pass");
  assert.equal(quota.precheck("ab", ["c"], { has: () => true }), "QUEUE_FULL");
});
