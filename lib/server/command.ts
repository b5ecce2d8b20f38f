// Session command parsing (ASL spec section 5): one decrypted command line in, a typed
// command out. Pure: no state, no I/O. The reasons that need server state (rate,
// registration, duplicates, recipients, queues) are decided by the router, in the spec's
// "which reason wins" order; this module decides only what the line itself shows.

import { decodeBase64Strict, encodeBase64 } from "../base64.ts";
import {
  isMessageId,
  isUserId,
  MAX_PAYLOAD_CHARS,
  MAX_RECIPIENTS,
  MIN_PAYLOAD_CHARS,
  type Reason,
} from "../grammar.ts";

export { isMessageId, isUserId, MAX_PAYLOAD_CHARS, MAX_RECIPIENTS, MIN_PAYLOAD_CHARS, type Reason };

/** Reasons a line can show by itself, in the spec's order (MALFORMED first). */
export type SyntaxReason = "MALFORMED" | "TOO_LARGE" | "TOO_MANY_RECIPIENTS";

const PRINTABLE = /^[\x20-\x7e]*$/;
/** A REASON field of a client's `FAILED <sid> [<REASON>]`: lenient, any printable token. */
const ACK_REASON = /^[\x21-\x7e]{1,64}$/;

/** A line whose id could not be read: answered `FAILED * MALFORMED`. */
export interface NoIdCommand {
  readonly kind: "no-id";
}

/** `REGISTER <USERID>`; `error` is set when the line is otherwise malformed. */
export interface RegisterCommand {
  readonly kind: "register";
  readonly userId: string;
  readonly error?: "MALFORMED";
}

/** `CERT <USERID>`, a lookup of a user's recorded chain; `error` set when otherwise malformed. */
export interface CertCommand {
  readonly kind: "cert";
  readonly userId: string;
  readonly error?: "MALFORMED";
}

/** `MESSAGE <MESSAGEID> <USERID|GROUP> <PAYLOAD>`; `error` set when the line is at fault. */
export interface MessageCommand {
  readonly kind: "message";
  readonly messageId: string;
  /** Distinct recipients, sorted (the canonical set; `bob` and `{bob}` are equal). */
  readonly recipients: readonly string[];
  readonly payload: string;
  readonly error?: SyntaxReason;
}

/** A client's `OK <sid>` or `FAILED <sid> [<REASON>]`: never answered. */
export interface AckCommand {
  readonly kind: "ack";
  /** `OK` acknowledges, `FAILED` refuses (logged); both remove the message. */
  readonly verdict: "OK" | "FAILED";
  /** The acknowledged sid text; `undefined` when the acknowledgement is malformed. */
  readonly sid: string | undefined;
  readonly reason?: string;
}

/** What one command line means. */
export type Command =
  | NoIdCommand
  | RegisterCommand
  | CertCommand
  | MessageCommand
  | AckCommand;

const NO_ID: NoIdCommand = { kind: "no-id" };

/**
 * Parses one session command line (a record's plaintext, without line ends).
 *
 * @example
 * ```ts
 * import { parseCommand } from "./command.ts";
 * const cmd = parseCommand("MESSAGE m1 {bob,alice} aGk=");
 * console.log(cmd.kind === "message" && cmd.recipients); // ["alice", "bob"]
 * ```
 */
export function parseCommand(line: string): Command {
  if (line.startsWith("OK ") || line.startsWith("FAILED ")) {
    return parseAck(line);
  }
  if (!PRINTABLE.test(line)) return NO_ID;
  const fields = line.split(" ");
  const verb = fields[0];
  if (verb === "OK" || verb === "FAILED") return parseAck(line);
  const id = fields[1];
  if (verb === "REGISTER") {
    if (id === undefined || !isUserId(id)) return NO_ID;
    return fields.length === 2
      ? { kind: "register", userId: id }
      : { kind: "register", userId: id, error: "MALFORMED" };
  }
  if (verb === "MESSAGE") {
    if (id === undefined || !isMessageId(id)) return NO_ID;
    return parseMessage(id, fields);
  }
  if (verb === "CERT") {
    if (id === undefined || !isUserId(id)) return NO_ID;
    const userId = ownString(id); // its reply may wait for a commit: not a view of the line
    return fields.length === 2
      ? { kind: "cert", userId }
      : { kind: "cert", userId, error: "MALFORMED" };
  }
  return NO_ID;
}

function parseAck(line: string): AckCommand {
  const verdict = line.startsWith("OK") ? "OK" : "FAILED";
  if (!PRINTABLE.test(line)) return { kind: "ack", verdict, sid: undefined };
  const fields = line.split(" ");
  const sid = fields[1];
  const valid = sid !== undefined && isMessageId(sid) &&
    (verdict === "OK"
      ? fields.length === 2
      : fields.length === 2 || (fields.length === 3 && ACK_REASON.test(fields[2] ?? "")));
  if (!valid) return { kind: "ack", verdict, sid: undefined };
  const reason = fields[2];
  return reason === undefined
    ? { kind: "ack", verdict, sid }
    : { kind: "ack", verdict, sid, reason };
}

function parseMessage(id: string, fields: readonly string[]): MessageCommand {
  // The id and the recipients outlive the line (replies waiting behind an unread socket,
  // maps keyed by USERID): they get their own memory. The payload stays a view of the line,
  // which it makes up nearly all of anyway.
  const messageId = ownString(id);
  const target = fields[2];
  const payload = fields[3];
  const bad = (error: SyntaxReason, recipients: readonly string[] = []): MessageCommand => ({
    kind: "message",
    messageId,
    recipients,
    payload: payload ?? "",
    error,
  });
  if (fields.length !== 4 || target === undefined || payload === undefined) {
    return bad("MALFORMED");
  }
  const parsed = parseRecipients(target);
  const recipients = parsed?.map(ownString);
  if (recipients === undefined) return bad("MALFORMED");
  if (payload.length < MIN_PAYLOAD_CHARS) return bad("MALFORMED", recipients);
  // Over-long payloads are TOO_LARGE only when they are otherwise valid base64 (MALFORMED
  // wins); the shape check is linear and cheap, the canonical-bits check decodes.
  if (decodeBase64Strict(payload) === undefined) return bad("MALFORMED", recipients);
  if (payload.length > MAX_PAYLOAD_CHARS) return bad("TOO_LARGE", recipients);
  if (recipients.length > MAX_RECIPIENTS) return bad("TOO_MANY_RECIPIENTS", recipients);
  return { kind: "message", messageId, recipients, payload };
}

/**
 * `s` with memory of its own. In V8 a substring (`split`, `slice`) of 13 or more characters
 * is a view that keeps its whole source string alive: a 40-byte `FAILED <id> QUEUE_FULL`
 * waiting for an unread socket would hold the 11 000-character MESSAGE line it answers.
 * Slicing a fresh concatenation makes V8 copy the characters (a test checks that the line
 * is released).
 */
function ownString(s: string): string {
  return (s + " ").slice(0, -1);
}

/** A USERID, or `{a,b,…}`: distinct USERIDs, sorted; `undefined` on any syntax fault. */
function parseRecipients(target: string): string[] | undefined {
  if (!target.startsWith("{")) return isUserId(target) ? [target] : undefined;
  if (!target.endsWith("}") || target.length < 3) return undefined;
  const members = target.slice(1, -1).split(",");
  const seen = new Set<string>();
  for (const member of members) {
    if (!isUserId(member) || seen.has(member)) return undefined; // a duplicate: MALFORMED
    seen.add(member);
  }
  return [...seen].sort();
}

/** `OK <id>`. */
export function okReply(id: string): string {
  return `OK ${id}`;
}

/**
 * `OK <USERID> <CERTB64> [<CERTB64> ...]`, the reply to CERT: each certificate's DER as
 * strict padded base64, leaf first, single spaces.
 */
export function certReply(userId: string, chain: readonly Uint8Array[]): string {
  let line = `OK ${userId}`;
  for (const der of chain) line += ` ${encodeBase64(der)}`;
  return line;
}

/** `FAILED <id> <reason>`; `*` for the id when none could be read. */
export function failedReply(id: string, reason: Reason): string {
  return `FAILED ${id} ${reason}`;
}

/** `MESSAGE <sid> <from> <payload>`, a delivery to a recipient. */
export function deliveryLine(sid: string, from: string, payload: string): string {
  return `MESSAGE ${sid} ${from} ${payload}`;
}
