// Tests lib/client/outbox.ts: a message checked and encoded into its MESSAGE line before
// anything is sent (local refusals with their codes), and the outbox that keeps unanswered
// MESSAGEs in order and settles each exactly once. Pure: no session.

import assert from "node:assert/strict";
import { MAX_PAYLOAD_BYTES, MAX_RECIPIENTS } from "../lib/client/commands.ts";
import { ClientError } from "../lib/client/errors.ts";
import { Outbox, type Outgoing, outgoingPayload, prepareMessage } from "../lib/client/outbox.ts";
import type { SendResult } from "../lib/client/types.ts";

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ClientError, `expected ClientError, got ${err}`);
    return err.code;
  }
  assert.fail("expected a ClientError");
}

Deno.test("prepareMessage: one recipient or a group, the given id or a fresh one", () => {
  assert.deepEqual(prepareMessage("bob", "hi", { id: "m1" }), {
    id: "m1",
    to: ["bob"],
    line: "MESSAGE m1 bob aGk=",
  });
  const group = prepareMessage(["bob", "carol"], new Uint8Array([0, 255]), { id: "m-2_x" });
  assert.equal(group.line, "MESSAGE m-2_x {bob,carol} AP8=");
  assert.deepEqual(group.to, ["bob", "carol"]);
  const fresh = prepareMessage("bob,carol", "hi");
  const again = prepareMessage("bob,carol", "hi");
  assert.match(fresh.id, /^[a-z0-9]+-[0-9a-f]{24}$/);
  assert.notEqual(fresh.id, again.id);
  assert.equal(fresh.line, `MESSAGE ${fresh.id} {bob,carol} aGk=`);
});

Deno.test("prepareMessage refuses before sending: recipients first, then the payload, then the id", () => {
  assert.equal(code(() => prepareMessage("b_b", "hi")), "BAD_RECIPIENT");
  assert.equal(code(() => prepareMessage([], "hi")), "BAD_RECIPIENT");
  assert.equal(code(() => prepareMessage("bob,bob", "hi")), "BAD_RECIPIENT");
  const many = Array.from({ length: MAX_RECIPIENTS + 1 }, (_, i) => `u${i}`);
  assert.equal(code(() => prepareMessage(many, "hi")), "TOO_MANY_RECIPIENTS");
  assert.equal(code(() => prepareMessage("bob", "")), "EMPTY_MESSAGE");
  assert.equal(
    code(() => prepareMessage("bob", new Uint8Array(MAX_PAYLOAD_BYTES + 1))),
    "TOO_LARGE",
  );
  assert.equal(code(() => prepareMessage("bob", "hi", { id: "no spaces" })), "MALFORMED");
  assert.equal(code(() => prepareMessage("b_b", "", { id: "no spaces" })), "BAD_RECIPIENT");
  assert.equal(code(() => prepareMessage("bob", "", { id: "no spaces" })), "EMPTY_MESSAGE");
});

Deno.test("outgoingPayload: text as UTF-8, bytes as they are, base64", () => {
  assert.equal(outgoingPayload("héllo", ["bob"]), new TextEncoder().encode("héllo").toBase64());
  assert.equal(outgoingPayload(new Uint8Array([1, 2, 3]), ["bob"]), "AQID");
  assert.equal(outgoingPayload(new Uint8Array(MAX_PAYLOAD_BYTES), ["bob"]).length, 11_108);
});

/** An outbox entry whose settlement is recorded. */
function entry(id: string, settled: string[]): Outgoing {
  return {
    kind: "message",
    ...prepareMessage("bob", "hi", { id }),
    resolve: (r: SendResult) => settled.push(`${r.id} ok ${r.to.join(",")}`),
    reject: (e: Error) => settled.push(`${id} ${e instanceof ClientError ? e.code : e.message}`),
  };
}

Deno.test("the outbox keeps messages in order and settles each once", () => {
  const settled: string[] = [];
  const outbox = new Outbox();
  const [a, b, c] = ["m1", "m2", "m3"].map((id) => entry(id, settled)) as [
    Outgoing,
    Outgoing,
    Outgoing,
  ];
  outbox.add(a);
  outbox.add(b);
  outbox.add(c);
  assert.equal(outbox.size, 3);
  const copy = outbox.entries();
  assert.deepEqual(copy.map((e) => e.id), ["m1", "m2", "m3"]);
  copy.pop(); // a copy: the outbox is unchanged
  assert.equal(outbox.size, 3);
  assert.equal(outbox.settle(b, undefined), true);
  assert.equal(outbox.settle(a, new ClientError("UNKNOWN_USER", "no", { remote: true })), true);
  // Answered again (e.g. on an earlier session's late reply): nothing happens.
  assert.equal(outbox.settle(b, undefined), false);
  assert.deepEqual(settled, ["m2 ok bob", "m1 UNKNOWN_USER"]);
  assert.deepEqual(outbox.entries().map((e) => e.id), ["m3"]);
  assert.deepEqual(outbox.clear().map((e) => e.id), ["m3"]);
  assert.equal(outbox.size, 0);
  assert.equal(outbox.settle(c, undefined), false);
  assert.equal(settled.length, 2);
});
