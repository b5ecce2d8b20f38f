// The messenger's routing and delivery engine (ASL spec section 5): REGISTER and the CN
// binding (recording the presented chain), newest session wins, MESSAGE to users and groups
// with every reason in the spec's order, CERT lookups, group-committed store-and-forward,
// per-session delivery windows refilled as soon as a slot frees, acknowledgements, rate
// limits and queue caps. Driven through a small port per connection (send a line,
// close), so it is tested with fakes; sockets and ASL live in serve.ts.

import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";
import { setImmediate } from "node:timers";
import {
  type AckCommand,
  type CertCommand,
  certReply,
  deliveryLine,
  failedReply,
  type MessageCommand,
  okReply,
  parseCommand,
  type Reason,
  type RegisterCommand,
} from "./command.ts";
import { GroupCommitter } from "./committer.ts";
import { Outbox, type OutboxTarget, type Slot } from "./outbox.ts";
import { DEFAULT_RATE, RateLimiter, type RateSettings, type TokenBucket } from "./rate_limit.ts";
import { MESSAGE_ID_MEMORY_MS, type Store, type StoreResult } from "./store.ts";

/** What the router needs from one client connection. */
export interface SessionPort {
  /** The client certificate's identity (its subject CN, a USERID). */
  readonly identity: string;
  /**
   * The certificate chain the client presented in its handshake, leaf first, DER: recorded
   * at a successful REGISTER and answered to `CERT`.
   */
  readonly chain: readonly Uint8Array[];
  /** Sends one command line as a record; settles once written. */
  send(line: string): Promise<void>;
  /** Closes the connection without a message. */
  close(): void;
}

/** Limits and settings of the engine; every field has the spec's default. */
export interface RouterOptions {
  /** Unacknowledged deliveries per session (default 100). */
  readonly inflight?: number;
  /** Undelivered messages per recipient (default 10 000). */
  readonly queueMax?: number;
  /** Undelivered messages from one sender to one recipient (default 1 000). */
  readonly senderQueueMax?: number;
  /** Command rate per USERID (per session before REGISTER); default 1 000/s, burst 2 000. */
  readonly rate?: RateSettings;
  /** Milliseconds after the handshake to REGISTER before the session is closed (default 10 000). */
  readonly registerTimeoutMs?: number;
  /** Unread output bytes of a session past which reading from it pauses (default 1 MiB). */
  readonly maxUnreadBytes?: number;
  readonly logger?: Logger;
  /** Clock in ms since the epoch (tests). */
  readonly now?: () => number;
}

/** Counters for logs, tests and the load tool. */
export interface RouterStats {
  readonly sessions: number;
  readonly online: number;
  readonly knownUsers: number;
  readonly queued: number;
  readonly accepted: number;
  readonly delivered: number;
  readonly acked: number;
  readonly batches: number;
  /** Unread output bytes summed over registered sessions. */
  readonly unreadBytes: number;
}

const DEFAULTS = {
  inflight: 100,
  queueMax: 10_000,
  senderQueueMax: 1_000,
  registerTimeoutMs: 10_000,
  maxUnreadBytes: 1 << 20,
};

/** Fixed per-reply overhead counted against the unread bound for a command awaiting commit. */
const REPLY_COST = 96;
/** What an acknowledgement waiting for its commit counts against the unread bound. */
const ACK_COST = 64;
/** How often buckets are swept and MESSAGEIDs pruned. */
const HOUSEKEEPING_MS = 60_000;
const PRUNE_EVERY_MS = 10 * 60_000;
const FETCH_RETRY_MS = 1_000;

/**
 * One connection as the router sees it. Returned by `Router.open`. It is its outbox's
 * target itself, so an idle connection keeps no closures here.
 */
export class ClientSession implements OutboxTarget {
  userId: string | undefined;
  /**
   * Sids delivered in this session and not yet acknowledged, with their senders; made on the
   * first delivery and dropped when the last one is acknowledged (idle sessions hold none).
   */
  inflight: Map<number, string> | undefined;
  /** Highest sid delivered in this session. */
  cursor = 0;
  /** Queued messages may exist in the store beyond `cursor` that are not in memory. */
  backlog = false;
  fetching = false;
  /** Waiting in the router's refill set (an acknowledgement freed a slot). */
  refill = false;
  closed = false;
  bucket: TokenBucket | undefined;
  registerTimer: ReturnType<typeof setTimeout> | undefined;
  readonly out: Outbox;

  constructor(
    readonly router: Router,
    readonly port: SessionPort,
    readonly connId: number,
    maxUnreadBytes: number,
  ) {
    this.out = new Outbox(this, maxUnreadBytes);
  }

  /** Outbox target: one line to the connection. */
  writeLine(line: string): Promise<void> {
    return this.port.send(line);
  }

  /** Outbox target: the unread output fell back under the bound; deliveries resume. */
  outputDrained(): void {
    this.router.drained(this);
  }

  /** Handles one received command line. */
  receive(line: string): void {
    this.router.receive(this, line);
  }

  /** True when the caller must stop reading until `drained()` resolves. */
  get mustPause(): boolean {
    return this.out.overLimit;
  }

  /** Resolves when the unread output fell back under the bound. */
  drained(): Promise<void> {
    return this.out.drained();
  }

  /** Resolves once every command received so far has its reply written (see Outbox.settled). */
  settled(): Promise<void> {
    return this.out.settled();
  }

  /** Tells the router the connection ended. Idempotent. */
  end(): void {
    this.router.end(this);
  }
}

/**
 * The engine. Create with `Router.create(store, options)`, then `open` one ClientSession per
 * connection that finished its handshake, feed it lines, `end` it when the connection closes.
 *
 * @example
 * ```ts
 * import { Router } from "./router.ts";
 * import { MemoryStore } from "./store_memory.ts";
 * const router = await Router.create(new MemoryStore(), { registerTimeoutMs: 1000 });
 * const lines: string[] = [];
 * const session = router.open({
 *   identity: "alice",
 *   chain: [],
 *   send: (line) => (lines.push(line), Promise.resolve()),
 *   close: () => {},
 * });
 * session.receive("REGISTER alice");
 * await router.idle();
 * console.log(lines); // ["OK alice"]
 * session.end();
 * await router.close();
 * ```
 */
export class Router {
  readonly #committer: GroupCommitter;
  readonly #known: Set<string>;
  /** USERIDs not yet known whose user row waits for its commit, with how many REGISTERs wait. */
  readonly #registering = new Map<string, number>();
  /** Sessions whose acknowledgements freed slots, refilled together once this turn's input is in. */
  #refills: ClientSession[] = [];
  readonly #online = new Map<string, ClientSession>();
  readonly #queueCount = new Map<string, number>();
  readonly #pairCount = new Map<string, number>();
  readonly #limiter: RateLimiter;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #inflightMax: number;
  readonly #queueMax: number;
  readonly #senderQueueMax: number;
  readonly #registerTimeoutMs: number;
  readonly #maxUnreadBytes: number;
  readonly #housekeeping: ReturnType<typeof setInterval>;
  #sessions = 0;
  #nextConnId = 1;
  #lastPrune = 0;
  #closing = false;
  #accepted = 0;
  #delivered = 0;
  #acked = 0;

  private constructor(
    readonly store: Store,
    snapshot: Awaited<ReturnType<Store["load"]>>,
    options: RouterOptions,
  ) {
    this.#log = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
    this.#inflightMax = Math.max(1, options.inflight ?? DEFAULTS.inflight);
    this.#queueMax = options.queueMax ?? DEFAULTS.queueMax;
    this.#senderQueueMax = options.senderQueueMax ?? DEFAULTS.senderQueueMax;
    this.#registerTimeoutMs = options.registerTimeoutMs ?? DEFAULTS.registerTimeoutMs;
    this.#maxUnreadBytes = options.maxUnreadBytes ?? DEFAULTS.maxUnreadBytes;
    this.#limiter = new RateLimiter(options.rate ?? DEFAULT_RATE);
    this.#committer = new GroupCommitter(store, snapshot.nextSid);
    this.#known = new Set(snapshot.users);
    for (const { recipient, sender, count } of snapshot.queues) {
      this.#queueCount.set(recipient, (this.#queueCount.get(recipient) ?? 0) + count);
      this.#pairCount.set(pairKey(sender, recipient), count);
    }
    this.#housekeeping = setInterval(() => this.#houseKeep(), HOUSEKEEPING_MS);
    Deno.unrefTimer(this.#housekeeping);
    this.#prune();
  }

  /** Loads the store's snapshot (users, queue counts, sid counter) and starts the engine. */
  static async create(store: Store, options: RouterOptions = {}): Promise<Router> {
    return new Router(store, await store.load(), options);
  }

  /** Current counters. */
  get stats(): RouterStats {
    let queued = 0;
    for (const n of this.#queueCount.values()) queued += n;
    let unreadBytes = 0;
    for (const s of this.#online.values()) unreadBytes += s.out.pendingBytes;
    return {
      sessions: this.#sessions,
      online: this.#online.size,
      knownUsers: this.#known.size,
      queued,
      accepted: this.#accepted,
      delivered: this.#delivered,
      acked: this.#acked,
      batches: this.#committer.batches,
      unreadBytes,
    };
  }

  /**
   * Starts a session for a connection whose handshake succeeded; starts its register timer.
   * `connId` names the connection in logs (the caller's id; one is made up otherwise).
   */
  open(port: SessionPort, connId?: number): ClientSession {
    const id = connId ?? this.#nextConnId++;
    const session = new ClientSession(this, port, id, this.#maxUnreadBytes);
    this.#sessions++;
    if (!this.#limiter.off) session.bucket = this.#limiter.sessionBucket(this.#now());
    session.registerTimer = setTimeout(() => {
      session.registerTimer = undefined;
      if (session.userId === undefined && !session.closed) {
        this.#log.info("register_timeout", { conn: session.connId, cn: port.identity });
        port.close();
      }
    }, this.#registerTimeoutMs);
    return session;
  }

  /** Handles one command line of `session`. */
  receive(session: ClientSession, line: string): void {
    if (session.closed) return;
    const cmd = parseCommand(line);
    if (cmd.kind === "ack") {
      this.#ack(session, cmd);
      return;
    }
    const allowed = this.#takeToken(session);
    if (cmd.kind === "no-id") {
      this.#fail(session, "*", "MALFORMED");
      return;
    }
    const id = cmd.kind === "message" ? cmd.messageId : cmd.userId;
    if (!allowed) {
      this.#fail(session, id, "RATE_LIMITED");
    } else if (cmd.kind === "register") {
      this.#register(session, cmd);
    } else if (session.userId === undefined) {
      this.#fail(session, id, "NOT_REGISTERED");
    } else if (cmd.kind === "cert") {
      this.#cert(session, cmd);
    } else {
      this.#message(session, session.userId, cmd);
    }
  }

  /** Forgets a session whose connection ended. */
  end(session: ClientSession): void {
    if (session.closed) return;
    session.closed = true;
    this.#sessions--;
    if (session.registerTimer !== undefined) clearTimeout(session.registerTimer);
    session.out.close();
    const userId = session.userId;
    if (userId !== undefined && this.#online.get(userId) === session) {
      this.#online.delete(userId);
    }
  }

  /** A session's unread output fell back under its bound: resume its deliveries. */
  drained(session: ClientSession): void {
    this.#maybeFetch(session);
  }

  /** Resolves when no operation waits for a commit. */
  idle(): Promise<void> {
    return this.#committer.idle();
  }

  /** Finishes commits in flight and closes the store. Sessions are closed by the caller. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#housekeeping);
    await this.#committer.idle();
    await this.store.close();
  }

  // --- commands ---------------------------------------------------------------------------

  #takeToken(session: ClientSession): boolean {
    if (this.#limiter.off) return true;
    const now = this.#now();
    if (session.userId !== undefined) return this.#limiter.take(session.userId, now);
    return session.bucket?.take(now) ?? true;
  }

  #fail(session: ClientSession, id: string, reason: Reason): void {
    this.#log.debug("command_failed", { conn: session.connId, user: session.userId, id, reason });
    session.out.push(failedReply(id, reason));
  }

  #register(session: ClientSession, cmd: RegisterCommand): void {
    const userId = cmd.userId;
    if (cmd.error !== undefined) return this.#fail(session, userId, cmd.error);
    if (session.userId !== undefined) {
      if (session.userId === userId) session.out.push(okReply(userId));
      else this.#fail(session, userId, "ALREADY_REGISTERED");
      return;
    }
    if (userId !== session.port.identity) return this.#fail(session, userId, "NOT_YOUR_ID");

    session.userId = userId;
    session.bucket = undefined;
    if (session.registerTimer !== undefined) {
      clearTimeout(session.registerTimer);
      session.registerTimer = undefined;
    }
    const older = this.#online.get(userId);
    if (older !== undefined) {
      this.#log.info("session_replaced", { user: userId, old: older.connId, conn: session.connId });
      this.end(older);
      older.port.close();
    }
    this.#online.set(userId, session);
    session.cursor = 0;
    session.backlog = (this.#queueCount.get(userId) ?? 0) > 0;

    // The chain this session presented is recorded (replacing the previous one) and the user
    // remembered in one op, committed before the OK. A first registration is known once its
    // row is committed; meanwhile MESSAGEs to it are accepted and CERTs for it looked up
    // (the committer keeps submission order, so they commit with or after the user row).
    // Replies and the backlog fetch below keep their order through the outbox.
    const first = !this.#known.has(userId);
    if (first) bump(this.#registering, userId, +1);
    const slot = session.out.reserve(REPLY_COST);
    this.#committer.submit(
      { kind: "user", userId, at: this.#now(), chain: session.port.chain },
      (_result, error) => {
        if (first) bump(this.#registering, userId, -1);
        if (error !== undefined) {
          this.#log.error("store_failed", { op: "register", user: userId, error: error.message });
          session.out.fill(slot, failedReply(userId, "INTERNAL"));
          if (!session.closed) session.port.close();
          return;
        }
        this.#known.add(userId);
        this.#log.info("register", {
          conn: session.connId,
          user: userId,
          first: first || undefined,
        });
        session.out.fill(slot, okReply(userId));
      },
    );
    this.#maybeFetch(session);
  }

  #cert(session: ClientSession, cmd: CertCommand): void {
    const userId = cmd.userId;
    if (cmd.error !== undefined) return this.#fail(session, userId, cmd.error);
    if (!this.#known.has(userId) && !this.#registering.has(userId)) {
      return this.#fail(session, userId, "UNKNOWN_USER");
    }
    // The chain is read in the commit order, so a REGISTER answered before is seen.
    const slot = session.out.reserve(REPLY_COST);
    this.#committer.submit({ kind: "cert", userId }, (result, error) => {
      if (error !== undefined || result?.kind !== "cert") {
        this.#log.error("store_failed", { op: "cert", user: userId, error: error?.message });
        session.out.fill(slot, failedReply(userId, "INTERNAL"));
        return;
      }
      // A chain fits one record: the handshake message that carried it (PEM, at most 32 768
      // bytes) is longer than this line.
      const reason = !result.known
        ? "UNKNOWN_USER" // its first REGISTER failed to commit
        : result.chain === undefined || result.chain.length === 0
        ? "NO_CERTIFICATE"
        : undefined;
      if (reason !== undefined) {
        this.#log.debug("command_failed", {
          conn: session.connId,
          user: session.userId,
          id: userId,
          reason,
        });
        session.out.fill(slot, failedReply(userId, reason));
      } else session.out.fill(slot, certReply(userId, result.chain ?? []));
    });
  }

  #message(session: ClientSession, sender: string, cmd: MessageCommand): void {
    const id = cmd.messageId;
    if (cmd.error !== undefined) return this.#fail(session, id, cmd.error);
    const recipients = cmd.recipients;
    let precheck: "pass" | "UNKNOWN_USER" | "QUEUE_FULL" = "pass";
    for (const r of recipients) {
      if (!this.#known.has(r) && !this.#registering.has(r)) {
        precheck = "UNKNOWN_USER";
        break;
      }
    }
    if (precheck === "pass") {
      for (const r of recipients) {
        if (
          (this.#queueCount.get(r) ?? 0) >= this.#queueMax ||
          (this.#pairCount.get(pairKey(sender, r)) ?? 0) >= this.#senderQueueMax
        ) {
          precheck = "QUEUE_FULL";
          break;
        }
      }
    }
    const firstSid = precheck === "pass" ? this.#committer.allocateSids(recipients.length) : 0;
    if (precheck === "pass") this.#count(sender, recipients, +1);
    const slot = session.out.reserve(cmd.payload.length + REPLY_COST);
    const at = this.#now();
    this.#committer.submit(
      {
        kind: "accept",
        sender,
        messageId: id,
        recipients,
        payload: cmd.payload,
        firstSid,
        precheck,
        at,
      },
      (result, error) =>
        this.#settleMessage(session, slot, cmd, sender, firstSid, precheck, result, error),
    );
  }

  #settleMessage(
    session: ClientSession,
    slot: Slot,
    cmd: MessageCommand,
    sender: string,
    firstSid: number,
    precheck: string,
    result: StoreResult | undefined,
    error: Error | undefined,
  ): void {
    const id = cmd.messageId;
    const outcome = result?.kind === "accept" ? result.outcome : undefined;
    if (precheck === "pass" && outcome !== "accepted") this.#count(sender, cmd.recipients, -1);
    if (error !== undefined || outcome === undefined) {
      this.#log.error("store_failed", { op: "message", user: sender, id, error: error?.message });
      session.out.fill(slot, failedReply(id, "INTERNAL"));
      return;
    }
    if (outcome === "accepted" || outcome === "same") {
      session.out.fill(slot, okReply(id));
    } else {
      this.#log.debug("command_failed", {
        conn: session.connId,
        user: sender,
        id,
        reason: outcome,
      });
      session.out.fill(slot, failedReply(id, outcome));
    }
    if (outcome !== "accepted") {
      if (outcome === "same") this.#log.debug("message_retry", { user: sender, id });
      return;
    }
    this.#accepted++;
    this.#log.debug("message_accepted", {
      from: sender,
      id,
      to: cmd.recipients.length,
      bytes: cmd.payload.length,
      sid: firstSid,
    });
    for (let i = 0; i < cmd.recipients.length; i++) {
      const recipient = cmd.recipients[i] ?? "";
      const target = this.#online.get(recipient);
      if (target !== undefined) this.#deliverNew(target, firstSid + i, sender, cmd.payload);
    }
  }

  #ack(session: ClientSession, cmd: AckCommand): void {
    const userId = session.userId;
    const sid = cmd.sid === undefined ? undefined : parseSid(cmd.sid);
    if (userId === undefined || sid === undefined) {
      this.#log.debug("ack_ignored", { conn: session.connId, user: userId });
      return;
    }
    const inflight = session.inflight;
    const sender = inflight?.get(sid);
    const wasInFlight = sender !== undefined;
    if (wasInFlight) {
      inflight!.delete(sid);
      if (inflight!.size === 0) session.inflight = undefined;
    }
    // Acks of sids this session has in flight are bounded by the window and always honoured;
    // others (e.g. for a previous session's deliveries) cost a command token.
    if (!wasInFlight && !this.#takeToken(session)) {
      this.#log.debug("ack_ignored", { conn: session.connId, user: userId, sid, why: "rate" });
      return;
    }
    const op = sender === undefined
      ? { kind: "ack" as const, recipient: userId, sid }
      : { kind: "ack" as const, recipient: userId, sid, sender };
    // An ack waiting for its commit counts against the session's bound like a command, so a
    // flood of acknowledgements cannot grow the commit queue without limit. Its commit is
    // deferrable (it rides with the next batch): nobody waits for it, and an ack a crash
    // loses only brings a redelivery under the same sid, which recipients drop (section 5).
    session.out.hold(ACK_COST);
    this.#committer.submit(op, (result, error) => {
      session.out.release(ACK_COST);
      if (error !== undefined) {
        this.#log.error("store_failed", { op: "ack", user: userId, sid, error: error.message });
        return;
      }
      if (result?.kind !== "ack" || !result.removed || result.sender === undefined) {
        this.#log.debug("ack_ignored", { user: userId, sid, why: "unknown sid" });
        return;
      }
      this.#count(result.sender, [userId], -1);
      this.#acked++;
      if (cmd.verdict === "OK") this.#log.debug("acked", { user: userId, sid });
      else this.#log.info("delivery_refused", { user: userId, sid, reason: cmd.reason });
    }, true);
    if (wasInFlight) this.#refillSoon(session);
  }

  // --- delivery ---------------------------------------------------------------------------

  #deliverNew(session: ClientSession, sid: number, from: string, payload: string): void {
    if (session.userId === undefined || session.closed) return;
    if (
      session.backlog || session.fetching || (session.inflight?.size ?? 0) >= this.#inflightMax ||
      session.out.overLimit
    ) {
      session.backlog = true;
      return;
    }
    this.#deliver(session, sid, from, payload);
  }

  #deliver(session: ClientSession, sid: number, from: string, payload: string): void {
    (session.inflight ??= new Map()).set(sid, from);
    if (sid > session.cursor) session.cursor = sid;
    this.#delivered++;
    this.#log.debug("delivered", { sid, to: session.userId, bytes: payload.length });
    session.out.push(deliveryLine(String(sid), from, payload));
  }

  /**
   * An acknowledgement freed a slot of `session`: refill its window from the backlog
   * promptly (section 5), but only once the input already read this turn (typically a burst
   * of acks) has been handled, so that a burst leads to one fetch of all the freed room
   * rather than a fetch per ack.
   */
  #refillSoon(session: ClientSession): void {
    if (!session.backlog || session.refill || session.fetching) return;
    session.refill = true;
    if (this.#refills.length === 0) setImmediate(this.#runRefills);
    this.#refills.push(session);
  }

  readonly #runRefills = (): void => {
    const sessions = this.#refills;
    this.#refills = [];
    for (const session of sessions) {
      session.refill = false;
      this.#maybeFetch(session);
    }
  };

  #maybeFetch(session: ClientSession): void {
    const userId = session.userId;
    if (userId === undefined || session.closed) return;
    if (!session.backlog || session.fetching || this.#closing || session.out.overLimit) return;
    // Any free slot is refilled at once (section 5: no waiting for further acks).
    const room = this.#inflightMax - (session.inflight?.size ?? 0);
    if (room < 1) return;
    session.fetching = true;
    this.#committer.submit(
      { kind: "fetch", recipient: userId, afterSid: session.cursor, limit: room },
      (result, error) => {
        session.fetching = false;
        if (session.closed) return;
        if (error !== undefined || result?.kind !== "fetch") {
          this.#log.error("store_failed", { op: "fetch", user: userId, error: error?.message });
          const retry = setTimeout(() => this.#maybeFetch(session), FETCH_RETRY_MS);
          Deno.unrefTimer(retry);
          return;
        }
        this.#log.debug("backlog_fetched", {
          user: userId,
          count: result.messages.length,
          after: session.cursor,
          unread: session.out.pendingBytes,
        });
        for (const m of result.messages) {
          // Past the unread bound the rest stays in the store until the session drains.
          if (session.out.overLimit) return;
          if (m.sid > session.cursor) this.#deliver(session, m.sid, m.sender, m.payload);
        }
        if (result.messages.length < room) session.backlog = false;
        else this.#maybeFetch(session);
      },
    );
  }

  // --- bookkeeping ------------------------------------------------------------------------

  #count(sender: string, recipients: readonly string[], delta: number): void {
    for (const r of recipients) {
      bump(this.#queueCount, r, delta);
      bump(this.#pairCount, pairKey(sender, r), delta);
    }
  }

  #houseKeep(): void {
    const now = this.#now();
    this.#limiter.sweep(now);
    if (now - this.#lastPrune >= PRUNE_EVERY_MS) this.#prune();
  }

  #prune(): void {
    const now = this.#now();
    this.#lastPrune = now;
    this.#committer.submit({ kind: "prune", before: now - MESSAGE_ID_MEMORY_MS }, (result) => {
      if (result?.kind === "prune" && result.pruned > 0) {
        this.#log.info("message_ids_pruned", { count: result.pruned });
      }
    });
  }
}

function pairKey(sender: string, recipient: string): string {
  return `${sender} ${recipient}`;
}

function bump(map: Map<string, number>, key: string, delta: number): void {
  const next = (map.get(key) ?? 0) + delta;
  if (next > 0) map.set(key, next);
  else map.delete(key);
}

/** A sid as this server writes it: a positive decimal integer without leading zeros. */
function parseSid(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,15}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}
