// The client's inbox (ASL spec section 5, server MESSAGE and the recipient's `OK <sid>`):
// deliveries become IncomingMessages (the one place where a payload becomes a message),
// queued for the consumer in order, each once. A delivery already shown by the same server
// (sid, sender and payload equal, seen.ts) is dropped and acknowledged again; a shown one is
// acknowledged and remembered only when the consumer asks for the next. The queue is bounded:
// the reader waits for room (back-pressure) instead of buffering without limit. No sockets:
// acknowledgements go out through the caller's `ack`, sessions are opaque handles.
// With an `open` step (end-to-end opening, ASL spec section 7, e2e.ts) deliveries are
// opened one at a time in delivery order; a refused one is answered `FAILED <sid> <reason>`,
// a replay acknowledged unseen, and a held one (sender's certificate pending the person's
// decision, or `CERT` unavailable) is set aside — neither shown nor acknowledged nor
// counted as seen — while the ones after it go on: it is opened again on `retryHeld`, after
// a backoff (`retry`), or when the server delivers it again, and then shown in the order it
// is decided, after the messages that were not held (the bookkeeping of those: held.ts).

import { payloadText } from "./commands.ts";
import { asError } from "./errors.ts";
import { HeldDeliveries, type Opened } from "./held.ts";
import type { Delivery } from "./replies.ts";
import { deliveryDigest, type SeenDeliveries } from "./seen.ts";
import type { ClientLogger, IncomingMessage } from "./types.ts";

/**
 * Incoming messages held for a slow consumer before the client stops reading from the
 * server: 40 times the spec's default window of 100 unacknowledged messages per session.
 */
export const MAX_BUFFERED_INCOMING = 4_000;

export type { Opened } from "./held.ts";

/**
 * The message a program sees for a plain delivery: its payload as bytes and as UTF-8 text,
 * marked not sealed. With an `open` step (the library client's e2e.ts) that step makes the
 * message instead.
 */
export function incomingMessage(delivery: Delivery, receivedAt: Date): IncomingMessage {
  return {
    sid: delivery.sid,
    from: delivery.from,
    bytes: delivery.payload,
    text: payloadText(delivery.payload),
    receivedAt,
    sealed: false,
  };
}

/** Where a shown message is acknowledged and remembered: the session and memory that sent it. */
interface AckTarget<S> {
  readonly digest: string;
  session: S;
  seen: SeenDeliveries;
}

/** What the inbox needs from the client. `S` is the client's session handle. */
export interface InboxOptions<S> {
  /**
   * Sends `OK <sid>` on `session`: the client does so only while ready and only when
   * `session` is still its current one (a sid means nothing to another session's server).
   */
  readonly ack: (session: S, sid: string) => void;
  /** Told `client.seen_write_failed` when a memory cannot be written. */
  readonly log: ClientLogger;
  /** Messages held before the inbox is {@link Inbox.full}; default {@link MAX_BUFFERED_INCOMING}. */
  readonly limit?: number;
  /** Decides each delivery (end-to-end opening); default: every delivery is shown as plain. */
  readonly open?: (delivery: Delivery, receivedAt: Date) => Promise<Opened>;
  /** Sends `FAILED <sid> <reason>` on `session` (same rules as `ack`); needed with `open`. */
  readonly refuse?: (session: S, sid: string, reason: string) => void;
  /** Delay before held delivery is opened again by itself, by attempt; default 1 s doubling to 60 s. */
  readonly retryDelay?: (attempt: number) => number;
}

/** Incoming messages between the session reader and the consumer. */
export class Inbox<S> {
  readonly #opts: InboxOptions<S>;
  readonly #limit: number;
  #queue: IncomingMessage[] = [];
  /** Messages waiting in #queue or taken and not yet acknowledged, by digest. */
  readonly #queued = new Map<string, AckTarget<S>>();
  readonly #targets = new WeakMap<IncomingMessage, AckTarget<S>>();
  #taken: IncomingMessage | undefined;
  #waiters: Array<() => void> = [];
  #spaceWaiters: Array<() => void> = [];
  #closed = false;
  /** Deliveries being opened (in order, one at a time), by digest. */
  readonly #opening = new Map<string, AckTarget<S>>();
  /** Held deliveries, by digest (held.ts). */
  readonly #held: HeldDeliveries<AckTarget<S>>;
  #chain: Promise<void> = Promise.resolve();

  /** An open, empty inbox. */
  constructor(options: InboxOptions<S>) {
    this.#opts = options;
    this.#limit = options.limit ?? MAX_BUFFERED_INCOMING;
    this.#held = new HeldDeliveries((digest) => this.#reopen(digest), options.retryDelay);
  }

  /** How many messages wait for the consumer. */
  get size(): number {
    return this.#queue.length;
  }

  /** How many deliveries are held (not shown, not acknowledged) until they can be decided. */
  get held(): number {
    return this.#held.size;
  }

  /** Resolves once every delivery read so far has been opened (for tests and shutdown). */
  settled(): Promise<void> {
    return this.#chain;
  }

  /**
   * Takes one delivery read on `session`, whose server's memory is `seen`: drops and
   * re-acknowledges it when seen, re-targets it when still queued (sent again on a new
   * session), else queues it for the consumer.
   */
  deliver(session: S, seen: SeenDeliveries, delivery: Delivery): void {
    const digest = deliveryDigest(delivery.sid, delivery.from, delivery.payload);
    if (seen.has(digest)) {
      // Shown before (same server; sid, sender and payload equal): acknowledge again.
      this.#opts.ack(session, delivery.sid);
      return;
    }
    const queued = this.#queued.get(digest) ?? this.#opening.get(digest);
    if (queued !== undefined) {
      // Sent again (on a new session) while still waiting to be taken: the ack goes to
      // the session and memory that sent it last.
      queued.session = session;
      queued.seen = seen;
      return;
    }
    if (this.#opts.open !== undefined) {
      const held = this.#held.get(digest);
      if (held !== undefined) {
        held.target.session = session;
        held.target.seen = seen;
        // Delivered again (a new session): tried now (CERT may work again, or the person
        // decided in another process: the pins are read afresh).
        this.#reopen(digest);
        return;
      }
      const target: AckTarget<S> = { digest, session, seen };
      this.#opening.set(digest, target);
      this.#enqueueOpen(target, delivery);
      return;
    }
    const target: AckTarget<S> = { digest, session, seen };
    this.#queued.set(digest, target);
    const message = incomingMessage(delivery, new Date());
    this.#targets.set(message, target);
    this.#queue.push(message);
    this.#wake();
  }

  /**
   * True while the queue holds the limit and the inbox is open: the reader then awaits
   * {@link Inbox.room} before reading on, so a server that delivers faster than the consumer
   * takes messages (a conforming one stops at its window) is not read further and memory
   * stays bounded.
   */
  get full(): boolean {
    return this.#queue.length + this.#opening.size >= this.#limit && !this.#closed;
  }

  /**
   * Opens again the held deliveries whose `key` is `key` (all when undefined), in the order
   * they were delivered: after the person accepted or rejected a certificate.
   */
  retryHeld(key?: string): void {
    for (const digest of this.#held.digests(key)) this.#reopen(digest);
  }

  #reopen(digest: string): void {
    if (this.#closed) return;
    const held = this.#held.take(digest);
    if (held === undefined) return;
    this.#opening.set(digest, held.target);
    this.#enqueueOpen(held.target, held.delivery, held.attempts);
  }

  #enqueueOpen(target: AckTarget<S>, delivery: Delivery, attempts = 0): void {
    this.#chain = this.#chain.then(() => this.#openOne(target, delivery, attempts));
  }

  async #openOne(target: AckTarget<S>, delivery: Delivery, attempts: number): Promise<void> {
    let decided: Opened;
    try {
      decided = await this.#opts.open!(delivery, new Date());
    } catch (err) {
      // A local failure (a state file that cannot be written): keep it, as if held.
      this.#opts.log.warn("client.open_failed", {
        sid: delivery.sid,
        reason: asError(err).message,
      });
      decided = { kind: "hold", key: delivery.from, retry: true };
    }
    this.#opening.delete(target.digest);
    if (this.#closed) return;
    switch (decided.kind) {
      case "show":
        this.#queued.set(target.digest, target);
        this.#targets.set(decided.message, target);
        this.#queue.push(decided.message);
        this.#wake();
        return;
      case "refuse":
      case "drop":
        this.#remember(target);
        if (decided.kind === "drop") this.#opts.ack(target.session, delivery.sid);
        else this.#opts.refuse?.(target.session, delivery.sid, decided.reason);
        this.#wakeSpace();
        return;
      case "hold": {
        const { key, retry } = decided;
        this.#held.hold(
          target.digest,
          { target, delivery, key, retry, attempts: attempts + 1 },
          attempts,
        );
        this.#wakeSpace();
        return;
      }
    }
  }

  #remember(target: AckTarget<S>): void {
    try {
      target.seen.add(target.digest);
    } catch (err) {
      this.#opts.log.warn("client.seen_write_failed", { reason: asError(err).message });
    }
  }

  /** Resolves once the consumer has taken a message from a full queue, or on close. */
  room(): Promise<void> {
    return new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
  }

  /**
   * The messages, in order, each once; the one taken before is acknowledged when the next
   * is asked for or iteration stops. Ends once the inbox is closed and empty.
   */
  messages(): AsyncIterableIterator<IncomingMessage> {
    const iterator: AsyncIterableIterator<IncomingMessage> = {
      next: async (): Promise<IteratorResult<IncomingMessage>> => {
        this.ackTaken();
        while (true) {
          const message = this.#queue.shift();
          if (message !== undefined) {
            this.#wakeSpace();
            this.#taken = message;
            return { value: message, done: false };
          }
          if (this.#closed) return { value: undefined, done: true };
          await new Promise<void>((resolve) => this.#waiters.push(resolve));
        }
      },
      return: (): Promise<IteratorResult<IncomingMessage>> => {
        this.ackTaken();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Remembers the message last taken as seen and acknowledges it (see `ack`). */
  ackTaken(): void {
    const message = this.#taken;
    if (message === undefined) return;
    this.#taken = undefined;
    const target = this.#targets.get(message);
    if (target === undefined) return;
    this.#queued.delete(target.digest);
    this.#remember(target);
    // Acknowledged only on the session that delivered it: a sid means nothing to another
    // server. After a reconnect the server sends it again; it is then dropped as seen and
    // acknowledged on the new session.
    this.#opts.ack(target.session, message.sid);
  }

  /** Ends the inbox: iteration ends once the queue is empty, the reader stops waiting. */
  close(): void {
    this.#closed = true;
    this.#held.stop();
    const paused = this.#spaceWaiters;
    this.#spaceWaiters = [];
    for (const resume of paused) resume();
    this.#wake();
  }

  #wakeSpace(): void {
    if (this.#queue.length + this.#opening.size >= this.#limit) return;
    const waiters = this.#spaceWaiters;
    this.#spaceWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
