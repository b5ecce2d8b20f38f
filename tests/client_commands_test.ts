// Tests lib/client/commands.ts: the client side of the session command codec (spec section 5).

import assert from "node:assert/strict";
import {
  ackLine,
  encodePayload,
  isMessageId,
  isUserId,
  MAX_PAYLOAD_BYTES,
  MAX_PAYLOAD_CHARS,
  messageLine,
  parseRecipients,
  parseServerLine,
  payloadText,
  recipientField,
  refuseLine,
  registerLine,
} from "../lib/client/commands.ts";
import { ClientError } from "../lib/client/errors.ts";

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ClientError, `expected ClientError, got ${err}`);
    return err.code;
  }
  assert.fail("expected a ClientError");
}

Deno.test("USERID and MESSAGEID grammars", () => {
  assert.ok(isUserId("a"));
  assert.ok(isUserId("A".repeat(111)));
  assert.ok(!isUserId("A".repeat(112)));
  assert.ok(!isUserId(""));
  assert.ok(!isUserId("bob_1"));
  assert.ok(!isUserId("bób"));
  assert.ok(isMessageId("a-_Z9"));
  assert.ok(isMessageId("x".repeat(64)));
  assert.ok(!isMessageId("x".repeat(65)));
  assert.ok(!isMessageId("a.b"));
  assert.ok(!isMessageId(""));
});

Deno.test("recipients: one, a group, comma lists, faults", () => {
  assert.deepEqual(parseRecipients("bob"), ["bob"]);
  assert.deepEqual(parseRecipients("bob,carol"), ["bob", "carol"]);
  assert.deepEqual(parseRecipients(["carol", "bob"]), ["carol", "bob"]);
  assert.equal(recipientField(["bob"]), "bob");
  assert.equal(recipientField(["bob", "carol"]), "{bob,carol}");
  assert.equal(code(() => parseRecipients("")), "BAD_RECIPIENT");
  assert.equal(code(() => parseRecipients([])), "BAD_RECIPIENT");
  assert.equal(code(() => parseRecipients("bob,,carol")), "BAD_RECIPIENT");
  assert.equal(code(() => parseRecipients("bob,bob")), "BAD_RECIPIENT");
  assert.equal(code(() => parseRecipients("b ob")), "BAD_RECIPIENT");
  const many = Array.from({ length: 101 }, (_, i) => `u${i}`);
  assert.equal(code(() => parseRecipients(many)), "TOO_MANY_RECIPIENTS");
  assert.equal(parseRecipients(many.slice(0, 100)).length, 100);
});

Deno.test("payload: UTF-8 text and bytes as strict base64, limit refused before sending", () => {
  const text = "héllo 👋";
  const payload = encodePayload(text);
  assert.equal(payload, new TextEncoder().encode(text).toBase64());
  assert.equal(payloadText(Uint8Array.fromBase64(payload)), text);
  assert.equal(encodePayload(new Uint8Array([0, 255, 1])), "AP8B");
  assert.equal(code(() => encodePayload("")), "EMPTY_MESSAGE");
  assert.equal(code(() => encodePayload(new Uint8Array())), "EMPTY_MESSAGE");
  // The largest that fits: 8 331 bytes → 11 108 characters.
  assert.equal(MAX_PAYLOAD_BYTES, 8331);
  assert.equal(encodePayload("a".repeat(MAX_PAYLOAD_BYTES)).length, 11_108);
  assert.equal(code(() => encodePayload("a".repeat(MAX_PAYLOAD_BYTES + 1))), "TOO_LARGE");
  // Multi-byte text counts its UTF-8 bytes: 4 165 × "é" (2 bytes) = 8 330 bytes fit.
  assert.ok(encodePayload("é".repeat(4165)).length <= MAX_PAYLOAD_CHARS);
  assert.equal(code(() => encodePayload("é".repeat(4166))), "TOO_LARGE");
  assert.throws(() => encodePayload("x".repeat(9000)), /limit is 11111 characters/);
});

Deno.test("client command lines", () => {
  assert.equal(registerLine("alice"), "REGISTER alice");
  assert.equal(code(() => registerLine("al ice")), "BAD_RECIPIENT");
  assert.equal(messageLine("m1", ["bob"], "aGk="), "MESSAGE m1 bob aGk=");
  assert.equal(messageLine("m-2", ["bob", "carol"], "aGk="), "MESSAGE m-2 {bob,carol} aGk=");
  assert.equal(code(() => messageLine("bad id", ["bob"], "aGk=")), "MALFORMED");
  assert.equal(ackLine("s1"), "OK s1");
  assert.equal(refuseLine("s1", "MALFORMED"), "FAILED s1 MALFORMED");
});

Deno.test("server lines: OK, FAILED, MESSAGE", () => {
  assert.deepEqual(parseServerLine("OK alice"), { kind: "ok", id: "alice" });
  assert.deepEqual(parseServerLine("OK m-1_x"), { kind: "ok", id: "m-1_x" });
  assert.deepEqual(parseServerLine("FAILED m1 UNKNOWN_USER"), {
    kind: "failed",
    id: "m1",
    reason: "UNKNOWN_USER",
  });
  assert.deepEqual(parseServerLine("FAILED * MALFORMED"), {
    kind: "failed",
    id: "*",
    reason: "MALFORMED",
  });
  const msg = parseServerLine("MESSAGE s9 bob aGVsbG8=");
  assert.equal(msg.kind, "message");
  if (msg.kind === "message") {
    assert.equal(msg.sid, "s9");
    assert.equal(msg.from, "bob");
    assert.equal(payloadText(msg.payload), "hello");
  }
});

Deno.test("server lines: hostile input never throws and is classified", () => {
  const invalid = [
    "",
    "OK",
    "OK a b",
    "OK  a",
    "ok alice",
    "FAILED m1",
    "FAILED m1 unknown",
    "FAILED bad.id X",
    "HELLO x",
    "MESSAGE",
    "MESSAGE bad.sid bob aGk=",
  ];
  for (const line of invalid) assert.equal(parseServerLine(line).kind, "invalid", line);
  const bad = [
    "MESSAGE s1 bob",
    "MESSAGE s1 bob aGk= extra",
    "MESSAGE s1 b_b aGk=",
    "MESSAGE s1 bob aGk",
    "MESSAGE s1 bob aGl=",
    "MESSAGE s1 bob a===",
    "MESSAGE s1 bob " + "A".repeat(MAX_PAYLOAD_CHARS + 1),
  ];
  for (const line of bad) {
    assert.deepEqual(parseServerLine(line), { kind: "bad-message", sid: "s1" }, line);
  }
});
