// Fuzz target `command` (issue 13; ASL spec section 5): the server's session command parser
// (lib/server/command.ts parseCommand) on one decrypted line. It never throws: every line
// maps to a Command (bad lines to `no-id` or an `error` field), so any throw is a finding.
// Oracle: the Command is well-formed (ids match the grammar, recipients distinct and
// sorted, an error-free MESSAGE has a strict-base64 payload of 4 to 11 111 characters and
// 1 to 100 recipients).

import { decodeBase64Strict } from "../../../lib/base64.ts";
import {
  type Command,
  isMessageId,
  isUserId,
  MAX_PAYLOAD_CHARS,
  MAX_RECIPIENTS,
  MIN_PAYLOAD_CHARS,
  parseCommand,
} from "../../../lib/server/command.ts";
import { type FuzzTarget, InvariantViolation } from "../types.ts";
import { loadSession, SESSION_FILES, utf8 } from "../vectors.ts";

const decoder = new TextDecoder();

function bad(what: string): never {
  throw new InvariantViolation(`parseCommand returned ${what}`);
}

function check(cmd: Command): string {
  switch (cmd.kind) {
    case "no-id":
      return "no-id";
    case "register":
      if (!isUserId(cmd.userId)) bad("a REGISTER whose USERID is not one");
      return `register:${cmd.error ?? "ok"}`;
    case "cert":
      if (!isUserId(cmd.userId)) bad("a CERT whose USERID is not one");
      return `cert:${cmd.error ?? "ok"}`;
    case "ack":
      if (cmd.sid !== undefined && !isMessageId(cmd.sid)) bad("an ack whose sid is not an id");
      return `ack:${cmd.verdict}:${cmd.sid === undefined ? "bad" : "ok"}:${cmd.reason ? "r" : ""}`;
    case "message": {
      if (!isMessageId(cmd.messageId)) bad("a MESSAGE whose id is not a MESSAGEID");
      const r = cmd.recipients;
      for (let i = 0; i < r.length; i++) {
        if (!isUserId(r[i]!)) bad("a recipient that is not a USERID");
        if (i > 0 && r[i - 1]! >= r[i]!) bad("recipients not distinct and sorted");
      }
      if (cmd.error === undefined) {
        const p = cmd.payload;
        if (p.length < MIN_PAYLOAD_CHARS || p.length > MAX_PAYLOAD_CHARS) {
          bad(`an error-free MESSAGE with a ${p.length}-character payload`);
        }
        if (decodeBase64Strict(p) === undefined) bad("an error-free MESSAGE with bad base64");
        if (r.length === 0 || r.length > MAX_RECIPIENTS) {
          bad(`an error-free MESSAGE with ${r.length} recipients`);
        }
      }
      return `message:${cmd.error ?? "ok"}:${Math.min(r.length, 3)}`;
    }
    default:
      return bad(`an unknown kind ${JSON.stringify((cmd as { kind: unknown }).kind)}`);
  }
}

export const commandTarget: FuzzTarget = {
  name: "command",
  description: "the server's session command parser (parseCommand), which must never throw",
  maxBytes: 40_000,
  maxMs: 250,
  dictionary: [
    " ",
    "REGISTER ",
    "MESSAGE ",
    "OK ",
    "FAILED ",
    "CERT ",
    "{",
    "}",
    ",",
    "=",
    "aGk=",
    "QUEUE_FULL",
    "\t",
    "\x00",
    "\xc3\xa9",
  ].map(utf8),
  async seeds() {
    const seeds = [
      "REGISTER alice",
      "MESSAGE m1 {bob,alice} aGk=",
      "MESSAGE m2 bob aGVsbG8gYm9i",
      "OK s1",
      "FAILED s1 QUEUE_FULL",
      "FAILED s2",
      "CERT bob",
    ].map(utf8);
    for (const file of SESSION_FILES) {
      const s = await loadSession(file);
      for (const d of ["c2s", "s2c"] as const) {
        for (const r of s.records[d]) seeds.push(...r.plaintext.split("\n").map(utf8));
      }
    }
    return seeds;
  },
  run(input) {
    return check(parseCommand(decoder.decode(input)));
  },
  // parseCommand reports every fault in its result: nothing thrown is expected.
  expected: () => false,
};
