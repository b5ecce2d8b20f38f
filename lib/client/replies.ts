// The FIFO that matches the server's replies to the client's commands (ASL spec section 5:
// the server answers REGISTER, MESSAGE and CERT in the order it read them, with `OK <id>` or
// `FAILED <id> <REASON>`, and may send its own MESSAGEs in between). Pure: commands go in as
// they are sent, each line the server sends comes out as a typed outcome; no sockets.

import { parseServerLine } from "./commands.ts";
import { ClientError } from "./errors.ts";

/** `REGISTER <user>` sent, waiting for `OK <user>` (or `OK *`) or `FAILED`. */
export interface RegisterCommand {
  /** The command's verb. */
  readonly kind: "register";
  /** The USERID registered. */
  readonly user: string;
}

/** `MESSAGE <id> …` sent, waiting for `OK <id>` (or `OK *`) or `FAILED`. */
export interface MessageCommand {
  /** The command's verb. */
  readonly kind: "message";
  /** The MESSAGEID sent. */
  readonly id: string;
}

/** `CERT <user>` sent, waiting for its whole reply line (cert_lookup.ts parses it). */
export interface CertCommand {
  /** The command's verb. */
  readonly kind: "cert";
  /** The USERID looked up. */
  readonly user: string;
}

/** A command that waits for a reply. */
export type Command = RegisterCommand | MessageCommand | CertCommand;

/** A server MESSAGE to this user, parsed (the payload is what the sender sent). */
export interface Delivery {
  /** The server's id of this delivery. */
  readonly sid: string;
  /** The sender's USERID. */
  readonly from: string;
  /** The payload bytes. */
  readonly payload: Uint8Array;
}

/** What one server line means, given the commands still waiting (`C`: the caller's commands). */
export type LineOutcome<C extends Command = Command> =
  /** The reply to the oldest command, a REGISTER or MESSAGE: `error` is undefined for OK. */
  | {
    readonly kind: "reply";
    readonly command: Exclude<C, CertCommand>;
    /** The server's FAILED reason as a remote ClientError; undefined for OK. */
    readonly error: ClientError | undefined;
    /** Set when the reply names another id than the command's (it still answers it). */
    readonly mismatch: { readonly expected: string; readonly got: string } | undefined;
  }
  /** The reply to the oldest command, a CERT: the whole line, for parseCertReply. */
  | {
    readonly kind: "cert-reply";
    readonly command: Extract<C, CertCommand>;
    readonly line: string;
  }
  /** An OK or FAILED line when no command waits: nothing is settled. */
  | { readonly kind: "unexpected"; readonly id: string }
  /** A MESSAGE for this user. */
  | { readonly kind: "delivery"; readonly delivery: Delivery }
  /** A MESSAGE whose sid is readable but the rest is not: answer `FAILED <sid> MALFORMED`. */
  | { readonly kind: "bad-delivery"; readonly sid: string }
  /** A line that is none of the above: ignored (its length is all that may be logged). */
  | { readonly kind: "invalid"; readonly length: number };

function isCert<C extends Command>(command: C): command is Extract<C, CertCommand> {
  return command.kind === "cert";
}

/**
 * The commands sent on the current session and not yet answered, oldest first. The caller
 * passes its own command objects (anything with `kind` and the id fields) and gets the very
 * object back in the outcome of the line that answers it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReplyQueue } from "./replies.ts";
 * const replies = new ReplyQueue();
 * replies.expect({ kind: "register", user: "alice" });
 * replies.expect({ kind: "message", id: "m1" });
 * assert.equal(replies.take("OK alice").kind, "reply");
 * assert.equal(replies.take("MESSAGE s1 bob aGk=").kind, "delivery");
 * const refused = replies.take("FAILED m1 UNKNOWN_USER");
 * assert.ok(refused.kind === "reply" && refused.error?.code === "UNKNOWN_USER");
 * assert.equal(replies.size, 0);
 * ```
 */
export class ReplyQueue<C extends Command = Command> {
  #waiting: C[] = [];

  /** How many commands wait for their reply. */
  get size(): number {
    return this.#waiting.length;
  }

  /** Records a command just sent: the next unmatched OK / FAILED answers the oldest. */
  expect(command: C): void {
    this.#waiting.push(command);
  }

  /** Classifies one line the server sent; an OK / FAILED settles the oldest command. */
  take(line: string): LineOutcome<C> {
    const head = this.#waiting[0];
    if (
      head !== undefined && isCert(head) && (line.startsWith("OK ") || line.startsWith("FAILED "))
    ) {
      // The reply to CERT, in its FIFO position; cert_lookup.ts parses it strictly.
      this.#waiting.shift();
      return { kind: "cert-reply", command: head, line };
    }
    const parsed = parseServerLine(line);
    switch (parsed.kind) {
      case "ok":
      case "failed": {
        const command = this.#waiting.shift();
        if (command === undefined) return { kind: "unexpected", id: parsed.id };
        // Unreachable (every OK / FAILED line starts so, handled above), kept for the types.
        if (isCert(command)) return { kind: "cert-reply", command, line };
        const plain = command as RegisterCommand | MessageCommand; // not a CERT: see above
        const expected = plain.kind === "register" ? plain.user : plain.id;
        const mismatch = parsed.id !== "*" && parsed.id !== expected
          ? { expected, got: parsed.id }
          : undefined;
        const error = parsed.kind === "ok" ? undefined : new ClientError(
          parsed.reason,
          plain.kind === "register"
            ? `REGISTER ${plain.user} failed: ${parsed.reason}`
            : `the server refused message ${plain.id}: ${parsed.reason}`,
          { remote: true },
        );
        return { kind: "reply", command: command as Exclude<C, CertCommand>, error, mismatch };
      }
      case "message": {
        const { sid, from, payload } = parsed;
        return { kind: "delivery", delivery: { sid, from, payload } };
      }
      case "bad-message":
        return { kind: "bad-delivery", sid: parsed.sid };
      case "invalid":
        return { kind: "invalid", length: parsed.line.length };
    }
  }

  /** Empties the queue (the session ended) and returns what was unanswered, oldest first. */
  clear(): C[] {
    const waiting = this.#waiting;
    this.#waiting = [];
    return waiting;
  }
}
