// The client's outbox (ASL spec section 5, MESSAGE): turns what a program sends into a
// MESSAGE line (the one place where a payload is produced from the content), and keeps every
// MESSAGE the server has not answered yet, oldest first, so that it is sent again with the
// same MESSAGEID after a reconnect and settled exactly once. Pure: no sockets.

import { encodePayload, messageLine, parseRecipients } from "./commands.ts";
import type { ClientError } from "./errors.ts";
import { newMessageId } from "./message_id.ts";
import type { MessageCommand } from "./replies.ts";
import type { SendOptions, SendResult } from "./types.ts";

/** A MESSAGE ready to go: its id, distinct recipients and the whole line. */
export interface PreparedMessage {
  /** The MESSAGEID. */
  readonly id: string;
  /** The recipients, distinct, in the order given. */
  readonly to: readonly string[];
  /** `MESSAGE <id> <to> <payload>`. */
  readonly line: string;
}

/** A MESSAGE in the outbox: the command the reply FIFO matches, and its caller's promise. */
export interface Outgoing extends MessageCommand, PreparedMessage {
  /** Settles `send` with the server's OK. */
  resolve(result: SendResult): void;
  /** Settles `send` with a refusal or CLOSED. */
  reject(error: Error): void;
}

/**
 * The plain PAYLOAD sent for `content` to `to` (`seal: false`): the content itself, base64
 * (text as UTF-8). Sealed messages are made by e2e.ts and become lines in `sealedMessages`.
 * Throws `EMPTY_MESSAGE` or `TOO_LARGE` (ClientError) before anything is sent.
 */
export function outgoingPayload(content: string | Uint8Array, _to: readonly string[]): string {
  return encodePayload(content);
}

/**
 * Checks and encodes a message (recipients, id, payload) into its MESSAGE line. Throws a
 * ClientError (`BAD_RECIPIENT`, `TOO_MANY_RECIPIENTS`, `EMPTY_MESSAGE`, `TOO_LARGE`,
 * `MALFORMED` for a bad `options.id`) before anything is sent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prepareMessage } from "./outbox.ts";
 * const m = prepareMessage("bob,carol", "hi", { id: "m1" });
 * assert.equal(m.line, "MESSAGE m1 {bob,carol} aGk=");
 * ```
 */
export function prepareMessage(
  to: string | readonly string[],
  content: string | Uint8Array,
  options: SendOptions = {},
): PreparedMessage {
  const recipients = parseRecipients(to);
  const id = options.id ?? newMessageId();
  const line = messageLine(id, recipients, outgoingPayload(content, recipients));
  return { id, to: recipients, line };
}

/** The MESSAGE lines of a sealed send: one per part, its MESSAGEID the envelope's id. */
export function sealedMessages(
  parts: readonly { id: string; to: readonly string[]; payload: string }[],
): PreparedMessage[] {
  return parts.map((p) => ({ id: p.id, to: p.to, line: messageLine(p.id, p.to, p.payload) }));
}

/** The MESSAGEs sent (or to be sent) and not yet answered, in the order they were given. */
export class Outbox {
  #entries: Outgoing[] = [];

  /** How many messages wait for the server's answer. */
  get size(): number {
    return this.#entries.length;
  }

  /** Adds a message; it stays until settled or {@link Outbox.clear}ed. */
  add(entry: Outgoing): void {
    this.#entries.push(entry);
  }

  /** The waiting messages, oldest first (a copy: for sending them all again). */
  entries(): Outgoing[] {
    return [...this.#entries];
  }

  /**
   * Settles `entry` with the server's answer (`error` undefined for OK) and removes it.
   * Returns false, settling nothing, when it is no longer here (answered on an earlier
   * session, or cleared).
   */
  settle(entry: Outgoing, error: ClientError | undefined): boolean {
    const index = this.#entries.indexOf(entry);
    if (index < 0) return false;
    this.#entries.splice(index, 1);
    if (error === undefined) entry.resolve({ id: entry.id, to: entry.to });
    else entry.reject(error);
    return true;
  }

  /** Removes every message and returns them, oldest first, for the caller to reject. */
  clear(): Outgoing[] {
    const entries = this.#entries;
    this.#entries = [];
    return entries;
  }
}
