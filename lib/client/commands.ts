// The client side of the session command codec (ASL spec section 5): builds REGISTER,
// MESSAGE, OK and FAILED lines, parses the server's OK / FAILED / MESSAGE lines, and
// turns text or bytes into a PAYLOAD (refusing one over 11 111 characters before sending).

import { decodeBase64Strict, encodeBase64 } from "../base64.ts";
import { isMessageId, isUserId, MAX_PAYLOAD_CHARS, MAX_RECIPIENTS } from "../grammar.ts";
import { ClientError } from "./errors.ts";

export { isMessageId, isUserId, MAX_PAYLOAD_CHARS, MAX_RECIPIENTS };
/** Most bytes (or UTF-8 bytes of text) that fit in one PAYLOAD: 8 331. */
export const MAX_PAYLOAD_BYTES = Math.floor(MAX_PAYLOAD_CHARS / 4) * 3;

/**
 * Normalises a recipient spec: one USERID, a list of USERIDs, or a comma-separated list
 * (`"bob,carol"`). Returns the distinct ids in order; throws `BAD_RECIPIENT`.
 */
export function parseRecipients(to: string | readonly string[]): string[] {
  const list = typeof to === "string" ? to.split(",") : [...to];
  if (list.length === 0) throw new ClientError("BAD_RECIPIENT", "no recipient given");
  if (list.length > MAX_RECIPIENTS) {
    throw new ClientError(
      "TOO_MANY_RECIPIENTS",
      `${list.length} recipients; a message goes to at most ${MAX_RECIPIENTS}`,
    );
  }
  const seen = new Set<string>();
  for (const id of list) {
    if (!isUserId(id)) {
      throw new ClientError(
        "BAD_RECIPIENT",
        `recipient ${JSON.stringify(id)} is not a user id (1 to 111 letters and digits)`,
      );
    }
    if (seen.has(id)) {
      throw new ClientError("BAD_RECIPIENT", `recipient ${id} is named twice`);
    }
    seen.add(id);
  }
  return [...seen];
}

/** The recipient field of a MESSAGE: `bob` for one, `{bob,carol}` for a group. */
export function recipientField(to: readonly string[]): string {
  return to.length === 1 ? to[0]! : `{${to.join(",")}}`;
}

/**
 * Encodes text (as UTF-8) or bytes as a PAYLOAD. Throws `EMPTY_MESSAGE` for nothing to
 * send and `TOO_LARGE` when the base64 would pass 11 111 characters.
 */
export function encodePayload(content: string | Uint8Array): string {
  const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
  if (bytes.length === 0) throw new ClientError("EMPTY_MESSAGE", "the message is empty");
  const chars = Math.ceil(bytes.length / 3) * 4;
  if (chars > MAX_PAYLOAD_CHARS) {
    throw new ClientError(
      "TOO_LARGE",
      `the message is ${bytes.length} bytes (${chars} base64 characters); the limit is ` +
        `${MAX_PAYLOAD_CHARS} characters (${MAX_PAYLOAD_BYTES} bytes)`,
    );
  }
  return encodeBase64(bytes);
}

/** `REGISTER <USERID>`. */
export function registerLine(user: string): string {
  if (!isUserId(user)) {
    throw new ClientError("BAD_RECIPIENT", `${JSON.stringify(user)} is not a user id`);
  }
  return `REGISTER ${user}`;
}

/** `MESSAGE <MESSAGEID> <USERID|GROUP> <PAYLOAD>`, from an id, distinct recipients and a payload. */
export function messageLine(id: string, to: readonly string[], payload: string): string {
  if (!isMessageId(id)) {
    throw new ClientError("MALFORMED", `${JSON.stringify(id)} is not a message id`);
  }
  return `MESSAGE ${id} ${recipientField(to)} ${payload}`;
}

/** `OK <sid>`: acknowledges a server MESSAGE. */
export function ackLine(sid: string): string {
  return `OK ${sid}`;
}

/** `FAILED <sid> <REASON>`: refuses a server MESSAGE. */
export function refuseLine(sid: string, reason: string): string {
  return `FAILED ${sid} ${reason}`;
}

/** A server line, parsed. */
export type ServerLine =
  | { readonly kind: "ok"; readonly id: string }
  | { readonly kind: "failed"; readonly id: string; readonly reason: string }
  | {
    readonly kind: "message";
    readonly sid: string;
    readonly from: string;
    readonly payload: Uint8Array;
  }
  /** A MESSAGE whose sid is readable but whose other fields are not: answer `FAILED sid MALFORMED`. */
  | { readonly kind: "bad-message"; readonly sid: string }
  | { readonly kind: "invalid"; readonly line: string };

const REASON = /^[A-Z_]{1,64}$/;

/** Parses one line the server sent (spec section 5, "Server to client"). Never throws. */
export function parseServerLine(line: string): ServerLine {
  const parts = line.split(" ");
  const verb = parts[0];
  if (verb === "OK" && parts.length === 2) {
    const id = parts[1]!;
    if (id === "*" || isMessageId(id)) return { kind: "ok", id };
  } else if (verb === "FAILED" && parts.length === 3) {
    const id = parts[1]!;
    const reason = parts[2]!;
    if ((id === "*" || isMessageId(id)) && REASON.test(reason)) {
      return { kind: "failed", id, reason };
    }
  } else if (verb === "MESSAGE" && parts.length >= 2 && isMessageId(parts[1]!)) {
    const sid = parts[1]!;
    if (parts.length !== 4) return { kind: "bad-message", sid };
    const from = parts[2]!;
    const text = parts[3]!;
    const payload = text.length >= 4 && text.length <= MAX_PAYLOAD_CHARS
      ? decodeBase64Strict(text)
      : undefined;
    if (!isUserId(from) || payload === undefined) return { kind: "bad-message", sid };
    return { kind: "message", sid, from, payload };
  }
  return { kind: "invalid", line };
}

/** Decodes a payload as UTF-8 text; invalid sequences become U+FFFD. */
export function payloadText(payload: Uint8Array): string {
  return new TextDecoder().decode(payload);
}
