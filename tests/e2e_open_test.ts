// Receiving sealed payloads (lib/e2e/open.ts, ASL spec section 7 "Receiving" and "Pinning")
// against the vectors: every good envelope of e2e-envelope.json opened by each recipient
// (first use and pinned), not addressed, the ts window's ends, replays; and every case of
// e2e-negative.json in bob's stated state, with the outcome, reason and step it names,
// and what follows a HOLD.

import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeBase64Strict } from "../lib/base64.ts";
import { sealSplit } from "../lib/e2e/seal.ts";
import { type OpenOutcome, openPayload } from "../lib/e2e/open.ts";
import { MemoryReplayMemory } from "../lib/e2e/replay.ts";
import {
  hexBytes,
  loadEnvelopeVectors,
  loadNegativeCases,
  loadUser,
  makeReceiver,
  type NegativeCase,
  type ReceiverState,
  vectorE2eTrust,
  type VectorUser,
} from "./helpers/e2e.ts";

const vectors = await loadEnvelopeVectors();
const cases = await loadNegativeCases();
const trust = await vectorE2eTrust();
const users: Record<string, VectorUser> = {
  alice: await loadUser("alice", "client.crt", "client.key"),
  bob: await loadUser("bob", "bob.crt", "bob.key"),
  carol: await loadUser("carol", "carol.crt", "carol.key"),
};
const ALL_CERTS = {
  alice: { chain: ["client.crt"] },
  bob: { chain: ["bob.crt"] },
  carol: { chain: ["carol.crt"] },
};

function payloadBytes(payload: string): Uint8Array {
  const bytes = decodeBase64Strict(payload);
  assert.ok(bytes, "the vector payload is strict base64");
  return bytes;
}

function describe(outcome: OpenOutcome): string {
  switch (outcome.kind) {
    case "bad_seal":
      return `bad_seal ${outcome.reason} step ${outcome.step} (${outcome.message})`;
    case "hold":
      return `hold ${outcome.why}`;
    default:
      return outcome.kind;
  }
}

// ------------------------------------------------------------------ e2e-envelope.json

for (const v of vectors.envelopes) {
  const payload = payloadBytes(v.payload);
  const state = (userId: string, clock = v.receiver_clock): ReceiverState => ({
    userId,
    decryptKeys: [users[userId]!.creds.decryptKey],
    clock,
    certReplies: ALL_CERTS,
  });

  for (const r of v.recipients) {
    Deno.test(`e2e open ${v.name}: ${r.userid} opens it, first use then pinned`, async () => {
      const rx = await makeReceiver(state(r.userid), trust);
      const first = await openPayload(payload, v.fromuserid, rx.ctx);
      assert.equal(first.kind, "open", describe(first));
      assert.ok(first.kind === "open");
      assert.equal(new TextDecoder().decode(first.plaintext), v.plaintext);
      assert.deepEqual(first.header, v.header);
      assert.equal(first.senderFingerprint, vectors.fingerprints.alice);
      assert.equal(first.pinnedOnFirstUse, true);
      assert.deepEqual(rx.lookups, ["alice"]);
      const pinned = await rx.pins.get("alice");
      assert.deepEqual(pinned.accepted.map((l) => l.fingerprint), [vectors.fingerprints.alice]);
      assert.deepEqual(pinned.accepted[0]!.chain, [users.alice!.leaf]);

      // Already accepted (with its chain): no CERT, no first use.
      const again = await makeReceiver(
        { ...state(r.userid), accepted: { alice: [vectors.fingerprints.alice!] } },
        trust,
      );
      const second = await openPayload(payload, v.fromuserid, again.ctx);
      assert.ok(second.kind === "open", describe(second));
      assert.equal(new TextDecoder().decode(second.plaintext), v.plaintext);
      assert.equal(second.pinnedOnFirstUse, false);
      assert.deepEqual(again.lookups, []);
    });
  }

  Deno.test(`e2e open ${v.name}: a user not in H.to refuses it (not_addressed)`, async () => {
    const outsider = v.recipients.some((r) => r.userid === "carol") ? "dave" : "carol";
    const rx = await makeReceiver(
      { ...state("carol"), userId: outsider, decryptKeys: [users.carol!.creds.decryptKey] },
      trust,
    );
    const outcome = await openPayload(payload, v.fromuserid, rx.ctx);
    assert.ok(outcome.kind === "bad_seal", describe(outcome));
    assert.equal(outcome.reason, "not_addressed");
    assert.equal(outcome.step, 4);
  });

  Deno.test(`e2e open ${v.name}: both ends of receiver_clock_range open, 1 ms outside does not`, async () => {
    const [low, high] = v.receiver_clock_range;
    for (
      const [clock, want] of [
        [low, "open"],
        [high, "open"],
        [low - 1, "ts_too_new"],
        [high + 1, "ts_too_old"],
      ] as const
    ) {
      const rx = await makeReceiver(state("bob", clock), trust);
      const outcome = await openPayload(payload, v.fromuserid, rx.ctx);
      if (want === "open") {
        assert.equal(outcome.kind, "open", `clock ${clock}: ${describe(outcome)}`);
      } else {
        assert.ok(outcome.kind === "bad_seal", `clock ${clock}: ${describe(outcome)}`);
        assert.equal(outcome.reason, want);
        assert.equal(outcome.step, 2);
      }
    }
  });

  Deno.test(`e2e open ${v.name}: the same payload twice is a replay the second time`, async () => {
    const rx = await makeReceiver(state("bob"), trust);
    assert.equal((await openPayload(payload, v.fromuserid, rx.ctx)).kind, "open");
    const second = await openPayload(payload, v.fromuserid, rx.ctx);
    assert.ok(second.kind === "replay", describe(second));
    assert.equal(second.header.id, v.header.id);
    assert.equal(rx.replay.size, 1);
  });
}

Deno.test("e2e open: an earlier private key of the receiver is tried too (step 6)", async () => {
  const v = vectors.envelopes.find((e) => e.name === "1to1")!;
  const rx = await makeReceiver({
    userId: "bob",
    decryptKeys: [users.carol!.creds.decryptKey, users.bob!.creds.decryptKey],
    clock: v.receiver_clock,
    certReplies: ALL_CERTS,
  }, trust);
  const outcome = await openPayload(payloadBytes(v.payload), "alice", rx.ctx);
  assert.ok(outcome.kind === "open", describe(outcome));
  assert.equal(new TextDecoder().decode(outcome.plaintext), v.plaintext);
});

Deno.test("e2e open: the replay memory keeps a pair 30 days past the later of H.ts and now", async () => {
  const v = vectors.envelopes.find((e) => e.name === "1to1")!;
  const calls: [string, string, number, number][] = [];
  const memory = new MemoryReplayMemory();
  const rx = await makeReceiver({
    userId: "bob",
    decryptKeys: [users.bob!.creds.decryptKey],
    clock: v.receiver_clock,
    certReplies: ALL_CERTS,
  }, trust);
  const ctx = {
    ...rx.ctx,
    replay: {
      remember(from: string, id: string, now: number, keepUntil: number) {
        calls.push([from, id, now, keepUntil]);
        return memory.remember(from, id, now, keepUntil);
      },
    },
  };
  assert.equal((await openPayload(payloadBytes(v.payload), "alice", ctx)).kind, "open");
  const day = 24 * 60 * 60 * 1000;
  assert.deepEqual(calls, [["alice", v.header.id, v.receiver_clock, v.receiver_clock + 30 * day]]);
  // Past the memory the pair is new again (step 2 refuses such an old envelope anyway).
  assert.equal(await memory.remember("alice", v.header.id, v.receiver_clock + 31 * day, 0), false);
});

Deno.test("e2e open: a throwing CERT lookup holds the message (cert_unavailable)", async () => {
  const v = vectors.envelopes.find((e) => e.name === "1to1")!;
  const rx = await makeReceiver({
    userId: "bob",
    decryptKeys: [users.bob!.creds.decryptKey],
    clock: v.receiver_clock,
    certReplies: ALL_CERTS,
  }, trust);
  const ctx = {
    ...rx.ctx,
    certLookup: () => Promise.reject(new Error("connection reset")),
  };
  const outcome = await openPayload(payloadBytes(v.payload), "alice", ctx);
  assert.ok(outcome.kind === "hold" && outcome.why === "cert_unavailable", describe(outcome));
  assert.equal(outcome.detail, "unreachable: connection reset");
  assert.equal(rx.replay.size, 0);
});

// ------------------------------------------------------------------ e2e-negative.json

Deno.test("e2e negative vectors: 144 cases as the README counts them", () => {
  assert.equal(cases.length, 144);
  const count = (expect: string) => cases.filter((c) => c.expect === expect).length;
  assert.deepEqual([count("BAD_SEAL"), count("HOLD"), count("NOT_SEALED"), count("OPEN")], [
    133,
    4,
    5,
    2,
  ]);
});

async function receiverFor(c: NegativeCase) {
  const me = users[c.receiver]!;
  return await makeReceiver({
    userId: c.receiver,
    decryptKeys: [me.creds.decryptKey],
    clock: c.receiver_clock,
    accepted: c.accepted,
    ...(c.rejected ? { rejected: c.rejected } : {}),
    certReplies: c.cert_replies,
  }, trust);
}

function assertOutcome(
  c: NegativeCase,
  outcome: OpenOutcome,
  expect: string,
  reason: string | null | undefined,
  step: number | null | undefined,
) {
  const got = describe(outcome);
  switch (expect) {
    case "NOT_SEALED":
      assert.equal(outcome.kind, "not_sealed", got);
      break;
    case "OPEN":
      assert.ok(outcome.kind === "open", got);
      assert.equal(new TextDecoder().decode(outcome.plaintext), c.plaintext);
      assert.equal(outcome.header.from, c.fromuserid);
      break;
    case "HOLD":
      assert.ok(outcome.kind === "hold", got);
      assert.equal(outcome.why, reason);
      break;
    case "BAD_SEAL":
      assert.ok(outcome.kind === "bad_seal", got);
      assert.equal(outcome.reason, reason, got);
      if (step !== undefined) assert.equal(outcome.step, step, got);
      break;
    default:
      assert.fail(`unknown expectation ${expect}`);
  }
}

for (const c of cases) {
  Deno.test(`e2e negative ${c.name}: ${c.expect}${c.reason ? ` ${c.reason}` : ""}`, async () => {
    const payload = payloadBytes(c.payload);
    if (c.expect !== "NOT_SEALED") assert.deepEqual(payload, hexBytes(c.envelope));
    const rx = await receiverFor(c);
    const pinsBefore = await rx.pins.get(c.fromuserid);
    const outcome = await openPayload(payload, c.fromuserid, rx.ctx);
    assertOutcome(c, outcome, c.expect, c.reason, c.step);

    if (c.expect !== "OPEN") {
      // Nothing refused, held or plain counts as seen.
      assert.equal(rx.replay.size, 0);
    }
    if (c.expect === "BAD_SEAL" && c.step !== null && c.step < 5) {
      // Nothing is pinned on first use before the leaf has signed an envelope addressed here.
      assert.deepEqual(await rx.pins.get(c.fromuserid), pinsBefore);
    }
    if (c.expect !== "HOLD") return;

    assert.ok(outcome.kind === "hold");
    const after = c.after!;
    if (outcome.why === "pin_pending") {
      assert.equal(outcome.userId, c.fromuserid);
      assert.deepEqual(outcome.accepted, c.accepted[c.fromuserid]);
      assert.notEqual(outcome.fingerprint, outcome.accepted[0]);
      const { fingerprint, chain } = outcome;
      for (const decision of ["accept", "reject"] as const) {
        const next = after[decision]!;
        const again = await receiverFor(c);
        if (decision === "accept") await again.pins.accept(c.fromuserid, fingerprint, chain);
        else await again.pins.reject(c.fromuserid, fingerprint);
        const result = await openPayload(payload, c.fromuserid, again.ctx);
        assertOutcome(c, result, next.expect, next.reason, undefined);
      }
    } else {
      const retry = after.retry!;
      rx.certReplies[c.fromuserid] = retry.cert_reply;
      const result = await openPayload(payload, c.fromuserid, rx.ctx);
      assertOutcome(c, result, retry.expect, null, null);
    }
  });
}

Deno.test("e2e open: what lib/e2e seals, lib/e2e opens (every part of a split group)", async () => {
  const alice = users.alice!;
  const members = ["bob", ...Array.from({ length: 59 }, (_, i) => `member${i}`)];
  const parts = await sealSplit({
    sender: { userId: "alice", leafDer: alice.leaf, signKey: alice.creds.signKey },
    recipients: members.map((userId) => ({ userId, key: users.bob!.encryptKey })),
    plaintext: new TextEncoder().encode("sealed here, opened here"),
  }, { ts: 1796472000000 });
  let opened = 0;
  for (const part of parts) {
    // Everyone has bob's key in this test; each part is opened by its first member.
    const rx = await makeReceiver({
      userId: part.header.to[0]!,
      decryptKeys: [users.bob!.creds.decryptKey],
      clock: 1796472060000,
      certReplies: ALL_CERTS,
    }, trust);
    const outcome = await openPayload(payloadBytes(part.payload), "alice", rx.ctx);
    assert.ok(outcome.kind === "open", describe(outcome));
    assert.equal(new TextDecoder().decode(outcome.plaintext), "sealed here, opened here");
    opened++;
  }
  assert.equal(opened, parts.length);
  assert.ok(parts.length >= 2);
});
