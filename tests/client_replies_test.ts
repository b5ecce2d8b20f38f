// Tests lib/client/replies.ts: the FIFO that matches the server's OK / FAILED lines to the
// client's commands in order (spec section 5), with deliveries in between. Pure: lines in,
// typed outcomes out, no session.

import assert from "node:assert/strict";
import { ClientError } from "../lib/client/errors.ts";
import {
  type Command,
  type LineOutcome,
  type MessageCommand,
  ReplyQueue,
} from "../lib/client/replies.ts";

const b64 = (text: string) => new TextEncoder().encode(text).toBase64();

/** The outcome as a short string, for whole-sequence assertions. */
function show(outcome: LineOutcome): string {
  switch (outcome.kind) {
    case "reply": {
      const c = outcome.command;
      const what = c.kind === "register" ? `REGISTER ${c.user}` : `MESSAGE ${c.id}`;
      const how = outcome.error === undefined ? "ok" : `${outcome.error.code}`;
      return `${what} ${how}`;
    }
    case "cert-reply":
      return `CERT ${outcome.command.user}: ${outcome.line}`;
    case "unexpected":
      return `unexpected ${outcome.id}`;
    case "delivery":
      return `delivery ${outcome.delivery.sid}`;
    case "bad-delivery":
      return `bad-delivery ${outcome.sid}`;
    case "invalid":
      return `invalid ${outcome.length}`;
  }
}

Deno.test("replies settle REGISTER and MESSAGEs oldest first; deliveries in between settle nothing", () => {
  const replies = new ReplyQueue();
  replies.expect({ kind: "register", user: "alice" });
  replies.expect({ kind: "message", id: "m1" });
  replies.expect({ kind: "message", id: "m2" });
  replies.expect({ kind: "message", id: "m3" });
  assert.equal(replies.size, 4);
  const lines = [
    "OK alice",
    `MESSAGE s1 bob ${b64("hi")}`,
    "OK m1",
    "FAILED m2 UNKNOWN_USER",
    `MESSAGE s2 carol ${b64("yo")}`,
    "OK *",
  ];
  assert.deepEqual(lines.map((l) => show(replies.take(l))), [
    "REGISTER alice ok",
    "delivery s1",
    "MESSAGE m1 ok",
    "MESSAGE m2 UNKNOWN_USER",
    "delivery s2",
    "MESSAGE m3 ok",
  ]);
  assert.equal(replies.size, 0);
});

Deno.test("a FAILED reply is a remote ClientError with the server's reason and the command named", () => {
  const replies = new ReplyQueue();
  replies.expect({ kind: "register", user: "alice" });
  replies.expect({ kind: "message", id: "m1" });
  const register = replies.take("FAILED alice BAD_CERTIFICATE");
  assert.equal(register.kind, "reply");
  assert.ok(register.kind === "reply" && register.error instanceof ClientError);
  assert.equal(register.error.code, "BAD_CERTIFICATE");
  assert.equal(register.error.remote, true);
  assert.equal(register.error.message, "REGISTER alice failed: BAD_CERTIFICATE");
  const message = replies.take("FAILED * QUEUE_FULL");
  assert.ok(message.kind === "reply" && message.error !== undefined);
  assert.equal(message.error.code, "QUEUE_FULL");
  assert.equal(message.error.remote, true);
  assert.equal(message.error.message, "the server refused message m1: QUEUE_FULL");
  assert.equal(message.mismatch, undefined);
});

Deno.test("a reply naming another id still answers the oldest command, and says so", () => {
  const replies = new ReplyQueue();
  replies.expect({ kind: "message", id: "m1" });
  replies.expect({ kind: "message", id: "m2" });
  const outcome = replies.take("OK m2");
  assert.ok(outcome.kind === "reply");
  assert.equal(outcome.command.kind === "message" && outcome.command.id, "m1");
  assert.equal(outcome.error, undefined);
  assert.deepEqual(outcome.mismatch, { expected: "m1", got: "m2" });
  const next = replies.take("OK m2");
  assert.ok(next.kind === "reply" && next.mismatch === undefined);
});

Deno.test("the caller's own command object comes back with its reply", () => {
  interface Mine extends MessageCommand {
    readonly note: string;
  }
  const replies = new ReplyQueue<Mine>();
  const mine: Mine = { kind: "message", id: "m1", note: "mine" };
  replies.expect(mine);
  const outcome = replies.take("OK m1");
  assert.ok(outcome.kind === "reply" && outcome.command === mine);
});

Deno.test("CERT at the head takes the whole OK / FAILED line, however it looks; a MESSAGE is still a delivery", () => {
  const replies = new ReplyQueue();
  replies.expect({ kind: "cert", user: "bob" });
  replies.expect({ kind: "cert", user: "carol" });
  replies.expect({ kind: "cert", user: "dave" });
  replies.expect({ kind: "message", id: "m1" });
  assert.deepEqual(
    [
      `MESSAGE s1 bob ${b64("between")}`,
      "OK bob AAAA BBBB",
      "FAILED carol UNKNOWN_USER",
      "OK dave not*base64",
      "OK m1",
    ].map((l) => show(replies.take(l))),
    [
      "delivery s1",
      "CERT bob: OK bob AAAA BBBB",
      "CERT carol: FAILED carol UNKNOWN_USER",
      "CERT dave: OK dave not*base64",
      "MESSAGE m1 ok",
    ],
  );
});

Deno.test("a CERT behind another command waits its turn", () => {
  const replies = new ReplyQueue();
  replies.expect({ kind: "message", id: "m1" });
  replies.expect({ kind: "cert", user: "bob" });
  assert.equal(show(replies.take("OK m1")), "MESSAGE m1 ok");
  assert.equal(
    show(replies.take("FAILED bob NO_CERTIFICATE")),
    "CERT bob: FAILED bob NO_CERTIFICATE",
  );
});

Deno.test("lines that answer nothing or mean nothing settle nothing", () => {
  const replies = new ReplyQueue();
  assert.equal(show(replies.take("OK m1")), "unexpected m1");
  assert.equal(show(replies.take("FAILED * INTERNAL")), "unexpected *");
  replies.expect({ kind: "message", id: "m1" });
  assert.equal(show(replies.take("MESSAGE s3 bob")), "bad-delivery s3");
  assert.equal(show(replies.take("MESSAGE s4 b_b AAAA")), "bad-delivery s4");
  assert.equal(show(replies.take("HELLO there")), "invalid 11");
  assert.equal(show(replies.take("OK m1 extra")), "invalid 11");
  assert.equal(show(replies.take("FAILED m1 lower")), "invalid 15");
  assert.equal(show(replies.take("")), "invalid 0");
  assert.equal(replies.size, 1);
  assert.equal(show(replies.take("OK m1")), "MESSAGE m1 ok");
});

Deno.test("clear returns the unanswered commands oldest first and empties the queue", () => {
  const replies = new ReplyQueue();
  const a: Command = { kind: "register", user: "alice" };
  const b: Command = { kind: "message", id: "m1" };
  const c: Command = { kind: "cert", user: "bob" };
  for (const command of [a, b, c]) replies.expect(command);
  const cleared = replies.clear();
  assert.equal(cleared.length, 3);
  assert.ok(cleared[0] === a && cleared[1] === b && cleared[2] === c);
  assert.equal(replies.size, 0);
  assert.equal(show(replies.take("OK alice")), "unexpected alice");
});
