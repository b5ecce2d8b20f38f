import assert from "node:assert/strict";
import {
  certReply,
  deliveryLine,
  failedReply,
  isMessageId,
  isUserId,
  okReply,
  parseCommand,
} from "../lib/server/command.ts";

const P = "aGVsbG8="; // "hello"

Deno.test("command: REGISTER with a valid USERID", () => {
  assert.deepEqual(parseCommand("REGISTER alice"), { kind: "register", userId: "alice" });
  assert.deepEqual(parseCommand("REGISTER alice extra"), {
    kind: "register",
    userId: "alice",
    error: "MALFORMED",
  });
});

Deno.test("command: CERT with a valid USERID; the id is read before the field count", () => {
  assert.deepEqual(parseCommand("CERT alice"), { kind: "cert", userId: "alice" });
  assert.deepEqual(parseCommand("CERT alice bob"), {
    kind: "cert",
    userId: "alice",
    error: "MALFORMED",
  });
  assert.deepEqual(parseCommand("CERT alice "), {
    kind: "cert",
    userId: "alice",
    error: "MALFORMED",
  });
  for (const line of ["CERT", "CERT ", "CERT bad-id!", "CERT  alice", "cert alice"]) {
    assert.deepEqual(parseCommand(line), { kind: "no-id" }, line);
  }
});

Deno.test("command: the CERT reply is the chain's DER as strict base64, leaf first", () => {
  const leaf = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0xff]);
  const ca = new Uint8Array([0x30, 0x00]);
  assert.equal(certReply("bob", [leaf, ca]), "OK bob MAMCAf8= MAA=");
  assert.equal(certReply("bob", [leaf]), "OK bob MAMCAf8=");
});

Deno.test("command: lines whose id cannot be read are no-id (FAILED * MALFORMED)", () => {
  for (
    const line of [
      "REGISTER",
      "REGISTER ",
      "REGISTER al_ice",
      "REGISTER " + "a".repeat(112),
      "MESSAGE",
      "MESSAGE bad!id bob " + P,
      "MESSAGE " + "m".repeat(65) + " bob " + P,
      "MESSAGE  m1 bob " + P,
      "HELLO m1",
      "register alice",
      "",
      " REGISTER alice",
      "REGISTER alicé",
      "MESSAGE m1 bob\taGk=",
    ]
  ) {
    assert.deepEqual(parseCommand(line), { kind: "no-id" }, line);
  }
});

Deno.test("command: USERID and MESSAGEID grammar", () => {
  assert.ok(isUserId("a") && isUserId("A1b2") && isUserId("x".repeat(111)));
  assert.ok(!isUserId("") && !isUserId("a-b") && !isUserId("x".repeat(112)));
  assert.ok(isMessageId("a-b_C9") && isMessageId("m".repeat(64)));
  assert.ok(!isMessageId("") && !isMessageId("a.b") && !isMessageId("m".repeat(65)));
});

Deno.test("command: MESSAGE to one user and to a group (canonical sorted set)", () => {
  assert.deepEqual(parseCommand(`MESSAGE m1 bob ${P}`), {
    kind: "message",
    messageId: "m1",
    recipients: ["bob"],
    payload: P,
  });
  const group = parseCommand(`MESSAGE m-2_x {carol,bob,alice} ${P}`);
  assert.equal(group.kind, "message");
  assert.deepEqual(group.kind === "message" && group.recipients, ["alice", "bob", "carol"]);
  assert.equal(group.kind === "message" && group.error, undefined);
});

Deno.test("command: MESSAGE syntax faults and the order of their reasons", () => {
  const reason = (line: string) => {
    const cmd = parseCommand(line);
    assert.equal(cmd.kind, "message", line);
    return cmd.kind === "message" ? cmd.error : "not a message";
  };
  assert.equal(reason("MESSAGE m1"), "MALFORMED");
  assert.equal(reason("MESSAGE m1 bob"), "MALFORMED");
  assert.equal(reason(`MESSAGE m1 bob ${P} extra`), "MALFORMED");
  assert.equal(reason(`MESSAGE m1 bob  ${P}`), "MALFORMED");
  assert.equal(reason(`MESSAGE m1 bob ${P} `), "MALFORMED");
  assert.equal(reason(`MESSAGE m1 bo-b ${P}`), "MALFORMED");
  assert.equal(reason(`MESSAGE m1 {} ${P}`), "MALFORMED");
  assert.equal(reason(`MESSAGE m1 {bob ${P}`), "MALFORMED");
  assert.equal(reason(`MESSAGE m1 {bob,} ${P}`), "MALFORMED");
  assert.equal(reason(`MESSAGE m1 {bob,,carol} ${P}`), "MALFORMED");
  assert.equal(reason(`MESSAGE m1 {bob,carol,bob} ${P}`), "MALFORMED"); // duplicate member
  assert.equal(reason("MESSAGE m1 bob aGk"), "MALFORMED"); // under 4 characters
  assert.equal(reason("MESSAGE m1 bob aGk*"), "MALFORMED"); // alphabet
  assert.equal(reason("MESSAGE m1 bob aGl="), "MALFORMED"); // non-canonical padding bits
  assert.equal(reason("MESSAGE m1 bob aGVsbG8"), "MALFORMED"); // unpadded
  assert.equal(reason("MESSAGE m1 bob aA==aA=="), "MALFORMED");
  // 11 111 characters is the most (so 11 108, padded base64 comes in fours); TOO_LARGE only
  // for otherwise valid base64.
  const max = "A".repeat(11_104) + "AAA=";
  assert.equal(reason(`MESSAGE m1 bob ${max}`), undefined);
  assert.equal(reason(`MESSAGE m1 bob ${"A".repeat(11_112)}`), "TOO_LARGE");
  assert.equal(reason(`MESSAGE m1 bob ${"A".repeat(11_111)}*`), "MALFORMED");
  // MALFORMED (recipient syntax) beats TOO_LARGE beats TOO_MANY_RECIPIENTS.
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `u${i}`);
  assert.equal(reason(`MESSAGE m1 {${ids(100).join(",")}} ${P}`), undefined);
  assert.equal(reason(`MESSAGE m1 {${ids(101).join(",")}} ${P}`), "TOO_MANY_RECIPIENTS");
  assert.equal(reason(`MESSAGE m1 {${ids(101).join(",")}} ${"A".repeat(11_112)}`), "TOO_LARGE");
  assert.equal(reason(`MESSAGE m1 {${ids(101).join(",")},u0} ${P}`), "MALFORMED");
});

Deno.test("command: acknowledgements, well-formed or not, are acks", () => {
  assert.deepEqual(parseCommand("OK 17"), { kind: "ack", verdict: "OK", sid: "17" });
  assert.deepEqual(parseCommand("FAILED 17"), { kind: "ack", verdict: "FAILED", sid: "17" });
  assert.deepEqual(parseCommand("FAILED 17 BAD"), {
    kind: "ack",
    verdict: "FAILED",
    sid: "17",
    reason: "BAD",
  });
  for (const line of ["OK", "FAILED", "OK 1 2", "OK bad!", "FAILED 1 A B", "OK é", "OK  1"]) {
    const cmd = parseCommand(line);
    assert.equal(cmd.kind, "ack", line);
    assert.equal(cmd.kind === "ack" && cmd.sid, undefined, line);
  }
});

Deno.test("command: reply and delivery lines", () => {
  assert.equal(okReply("m1"), "OK m1");
  assert.equal(failedReply("*", "MALFORMED"), "FAILED * MALFORMED");
  assert.equal(deliveryLine("42", "alice", P), `MESSAGE 42 alice ${P}`);
});
