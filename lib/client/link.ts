// One ASL session of the library client (ASL spec section 5): sends REGISTER, MESSAGE, CERT
// and acknowledgements on it, reads its lines with back-pressure, and routes what each line
// means (replies.ts) to the command that waits for it, the outbox or the inbox. A new link
// per (re)connect, so its reply FIFO dies with its session; client.ts decides which link is
// current and what a drop means.

import type { SecureSession } from "../asl/types.ts";
import { ackLine, refuseLine, registerLine } from "./commands.ts";
import { asError } from "./errors.ts";
import type { Inbox } from "./inbox.ts";
import type { Outbox, Outgoing } from "./outbox.ts";
import { type CertCommand, type RegisterCommand, ReplyQueue } from "./replies.ts";
import type { SeenDeliveries } from "./seen.ts";
import type { ClientLogger } from "./types.ts";

/** A command waiting in the reply FIFO, with what settles it. */
type Waiting =
  | RegisterCommand & { resolve(): void; reject(error: Error): void }
  | Outgoing
  | CertCommand & { resolve(line: string): void; reject(error: Error): void };

/** What a link shares with its client. */
export interface LinkOptions {
  /** The USERID this client registers. */
  readonly user: string;
  /** Settled by MESSAGE replies. */
  readonly outbox: Outbox;
  /** Takes the deliveries. */
  readonly inbox: Inbox<Link>;
  /** Where unexpected lines are reported. */
  readonly log: ClientLogger;
  /** True while `link` is the client's current one: lines are read only then. */
  readonly current: (link: Link) => boolean;
  /** Called once when reading ends: the session closed (`error` if it failed) or was replaced. */
  readonly ended: (link: Link, error: Error | undefined) => void;
}

/** The client's side of one session. */
export class Link {
  /** The ASL session. */
  readonly session: SecureSession;
  /** The seen memory of the server at the other end. */
  readonly seen: SeenDeliveries;
  readonly #opts: LinkOptions;
  readonly #replies = new ReplyQueue<Waiting>();

  /** A link over `session`, whose server's memory is `seen`; call {@link Link.start}. */
  constructor(session: SecureSession, seen: SeenDeliveries, options: LinkOptions) {
    this.session = session;
    this.seen = seen;
    this.#opts = options;
  }

  /** Starts reading the session's lines; `ended` is called when that stops. */
  start(): void {
    void this.#read();
  }

  /**
   * Sends `REGISTER <user>`; resolves on OK (after calling `onOk`, before the next line is
   * read), rejects with the server's reason or the error that ended the link.
   */
  register(onOk: () => void = () => {}): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const ok = () => {
        onOk();
        resolve();
      };
      this.#replies.expect({ kind: "register", user: this.#opts.user, resolve: ok, reject });
      this.#send(registerLine(this.#opts.user));
    });
  }

  /** Sends an outbox MESSAGE; its reply settles it in the outbox. */
  transmit(entry: Outgoing): void {
    this.#replies.expect(entry);
    this.#send(entry.line);
  }

  /** Sends `line` (`CERT <user>`) and resolves with the whole reply line. */
  cert(user: string, line: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.#replies.expect({ kind: "cert", user, resolve, reject });
      this.#send(line);
    });
  }

  /** Acknowledges a delivery: `OK <sid>`. */
  ack(sid: string): void {
    this.#send(ackLine(sid));
  }

  /** Refuses a delivery: `FAILED <sid> <reason>`. */
  refuse(sid: string, reason: string): void {
    this.#send(refuseLine(sid, reason));
  }

  /** Rejects the commands still waiting with `error`, except MESSAGEs (the outbox keeps them). */
  fail(error: Error): void {
    for (const waiting of this.#replies.clear()) {
      if (waiting.kind !== "message") waiting.reject(error);
    }
  }

  /** Closes the session; never rejects. */
  close(): Promise<void> {
    return this.session.close().catch(() => {});
  }

  #send(line: string): void {
    this.session.send(line).catch(() => {});
  }

  async #read(): Promise<void> {
    const { current, inbox } = this.#opts;
    let error: Error | undefined;
    try {
      for await (const line of this.session) {
        if (!current(this)) break;
        this.#onLine(line);
        // Back-pressure: stop reading until the consumer has caught up (inbox.ts).
        while (inbox.full) await inbox.room();
      }
      const info = await this.session.closed;
      error = info.error;
    } catch (err) {
      error = asError(err);
    }
    this.#opts.ended(this, error);
  }

  #onLine(line: string): void {
    const { log, outbox, inbox } = this.#opts;
    const outcome = this.#replies.take(line);
    switch (outcome.kind) {
      case "cert-reply":
        outcome.command.resolve(outcome.line);
        return;
      case "reply": {
        const { command, error, mismatch } = outcome;
        if (mismatch !== undefined) log.warn("client.reply_mismatch", mismatch);
        // A MESSAGE no longer in the outbox was answered on an earlier session: ignored.
        if (command.kind === "message") outbox.settle(command, error);
        else if (error === undefined) command.resolve();
        else command.reject(error);
        return;
      }
      case "unexpected":
        log.warn("client.unexpected_reply", { id: outcome.id });
        return;
      case "delivery":
        inbox.deliver(this, this.seen, outcome.delivery);
        return;
      case "bad-delivery":
        log.warn("client.malformed_message", { sid: outcome.sid });
        this.#send(refuseLine(outcome.sid, "MALFORMED"));
        return;
      case "invalid":
        log.warn("client.invalid_line", { length: outcome.length });
        return;
    }
  }
}
