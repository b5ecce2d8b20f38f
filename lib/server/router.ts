// The messenger's engine (ASL spec section 5), its front: sessions open (with their register
// deadline), commands are dispatched with the rate limit and the reasons in the spec's order,
// acknowledgements are checked, and the parts are wired together: register.ts (REGISTER,
// CERT), message.ts (MESSAGE), delivery.ts (windows, backlog, refill, ack commits), quota.ts
// (queue counts, the precheck), directory.ts (who exists, who is online), session.ts (the
// per-connection state), committer.ts (group commit). Driven through a small port per
// connection (send a line, close), so it is tested with fakes; sockets and ASL live in
// serve.ts.

import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";
import { type AckCommand, parseCommand } from "./command.ts";
import { ClusterLink } from "./cluster.ts";
import { GroupCommitter } from "./committer.ts";
import { Delivery } from "./delivery.ts";
import { Directory } from "./directory.ts";
import { MessageAcceptor } from "./message.ts";
import { DEFAULT_QUEUE_MAX, DEFAULT_SENDER_QUEUE_MAX, Quota } from "./quota.ts";
import { DEFAULT_RATE, RateLimiter, type RateSettings } from "./rate_limit.ts";
import { Registrar } from "./register.ts";
import { ClientSession, type SessionPort } from "./session.ts";
import { isShared, MESSAGE_ID_MEMORY_MS, type Store } from "./store.ts";

export type { ClientSession, SessionPort } from "./session.ts";

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
  /** With a shared store: how often the safety-net sweep runs, ms (default 5 000). */
  readonly sweepMs?: number;
  /** Clock in ms since the epoch (tests). */
  readonly now?: () => number;
}

/** Counters for logs, tests and the load tool. */
export interface RouterStats {
  /** Sessions open (registered or not). */
  readonly sessions: number;
  /** Users with a registered session. */
  readonly online: number;
  /** Users that have ever registered. */
  readonly knownUsers: number;
  /** Message copies waiting for their recipient (queued or in flight). */
  readonly queued: number;
  /** Messages accepted (answered OK) since start. */
  readonly accepted: number;
  /** Deliveries sent since start (redeliveries included). */
  readonly delivered: number;
  /** Deliveries acknowledged since start. */
  readonly acked: number;
  /** Store transactions (group commits) since start. */
  readonly batches: number;
  /** Unread output bytes summed over registered sessions. */
  readonly unreadBytes: number;
}

const DEFAULTS = {
  inflight: 100,
  registerTimeoutMs: 10_000,
  maxUnreadBytes: 1 << 20,
};

/** How often buckets are swept and MESSAGEIDs pruned. */
const HOUSEKEEPING_MS = 60_000;
const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * The engine. Create with `Router.create(store, options)`, then `open` one ClientSession per
 * connection that finished its handshake, feed it lines, `end` it when the connection closes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
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
 * assert.deepEqual(lines, ["OK alice"]);
 * session.end();
 * await router.close();
 * ```
 */
export class Router {
  readonly #committer: GroupCommitter;
  readonly #users: Directory<ClientSession>;
  /** Queue counts in memory (single-node stores; a shared store counts in the database). */
  readonly #quota: Quota | undefined;
  readonly #cluster: ClusterLink | undefined;
  readonly #delivery: Delivery;
  readonly #messages: MessageAcceptor;
  readonly #registrar: Registrar;
  readonly #limiter: RateLimiter;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #registerTimeoutMs: number;
  readonly #maxUnreadBytes: number;
  readonly #housekeeping: ReturnType<typeof setInterval>;
  #sessions = 0;
  #nextConnId = 1;
  #lastPrune = 0;
  #closing = false;

  private constructor(
    readonly store: Store,
    snapshot: Awaited<ReturnType<Store["load"]>>,
    options: RouterOptions,
  ) {
    this.#log = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
    this.#registerTimeoutMs = options.registerTimeoutMs ?? DEFAULTS.registerTimeoutMs;
    this.#maxUnreadBytes = options.maxUnreadBytes ?? DEFAULTS.maxUnreadBytes;
    this.#limiter = new RateLimiter(options.rate ?? DEFAULT_RATE);
    this.#committer = new GroupCommitter(store);
    this.#users = new Directory(snapshot.users);
    const queueMax = options.queueMax ?? DEFAULT_QUEUE_MAX;
    const pairMax = options.senderQueueMax ?? DEFAULT_SENDER_QUEUE_MAX;
    const shared = isShared(store);
    this.#quota = shared ? undefined : new Quota(queueMax, pairMax, snapshot.queues);
    const inflight = Math.max(1, options.inflight ?? DEFAULTS.inflight);
    this.#delivery = new Delivery(this.#committer, this.#quota, this.#log, inflight, shared);
    this.#cluster = shared
      ? new ClusterLink(store, this.#users, this.#delivery, this.#log, options.sweepMs)
      : undefined;
    this.#messages = new MessageAcceptor(
      this.#committer,
      this.#quota,
      this.#users,
      this.#delivery,
      this.#log,
      this.#now,
      shared ? { queue: queueMax, pair: pairMax } : undefined,
    );
    this.#registrar = new Registrar(
      this.#committer,
      this.#users,
      this.#quota,
      this.#delivery,
      this.#log,
      this.#now,
      this.#cluster,
    );
    this.#housekeeping = setInterval(() => this.#houseKeep(), HOUSEKEEPING_MS);
    Deno.unrefTimer(this.#housekeeping);
    this.#prune();
  }

  /**
   * Loads the store's snapshot (users, queue counts) and starts the engine; with a shared
   * store, listens for the other nodes' notifications first.
   */
  static async create(store: Store, options: RouterOptions = {}): Promise<Router> {
    const router = new Router(store, await store.load(), options);
    try {
      await router.#cluster?.start();
    } catch (err) {
      router.#cluster?.stop();
      clearInterval(router.#housekeeping);
      throw err;
    }
    return router;
  }

  /** Current counters. */
  get stats(): RouterStats {
    let unreadBytes = 0;
    for (const s of this.#users.sessions()) unreadBytes += s.out.pendingBytes;
    return {
      sessions: this.#sessions,
      online: this.#users.onlineCount,
      knownUsers: this.#users.knownCount,
      queued: this.#quota?.queued ?? 0,
      accepted: this.#messages.accepted,
      delivered: this.#delivery.delivered,
      acked: this.#delivery.acked,
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
    const bucket = this.#limiter.off ? undefined : this.#limiter.sessionBucket(this.#now());
    const session = new ClientSession(this, port, id, this.#maxUnreadBytes, bucket);
    this.#sessions++;
    session.startRegisterTimer(this.#registerTimeoutMs, this.#registerTimedOut);
    return session;
  }

  readonly #registerTimedOut = (session: ClientSession): void => {
    this.#log.info("register_timeout", { conn: session.connId, cn: session.port.identity });
    session.port.close();
  };

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
      session.refuse("*", "MALFORMED", this.#log);
      return;
    }
    const id = cmd.kind === "message" ? cmd.messageId : cmd.userId;
    if (!allowed) {
      session.refuse(id, "RATE_LIMITED", this.#log);
    } else if (cmd.kind === "register") {
      this.#registrar.register(session, cmd);
    } else if (session.userId === undefined) {
      session.refuse(id, "NOT_REGISTERED", this.#log);
    } else if (cmd.kind === "cert") {
      this.#registrar.cert(session, cmd);
    } else if (cmd.error !== undefined) {
      session.refuse(id, cmd.error, this.#log);
    } else {
      this.#messages.submit(session, session.userId, cmd);
    }
  }

  /** Forgets a session whose connection ended. */
  end(session: ClientSession): void {
    if (!session.close()) return;
    this.#sessions--;
    const userId = session.userId;
    if (userId !== undefined) this.#users.dropOnline(userId, session);
  }

  /** A session's unread output fell back under its bound: resume its deliveries. */
  drained(session: ClientSession): void {
    this.#delivery.resume(session);
  }

  /** Resolves when no operation waits for a commit. */
  idle(): Promise<void> {
    return this.#committer.idle();
  }

  /** Finishes commits in flight and closes the store. Sessions are closed by the caller. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#delivery.stop();
    this.#cluster?.stop();
    clearInterval(this.#housekeeping);
    await this.#committer.idle();
    await this.store.close();
  }

  // --- commands ---------------------------------------------------------------------------

  #takeToken(session: ClientSession): boolean {
    if (this.#limiter.off) return true;
    return session.takeToken(this.#limiter, this.#now());
  }

  #ack(session: ClientSession, cmd: AckCommand): void {
    const userId = session.userId;
    const sid = cmd.sid === undefined ? undefined : parseSid(cmd.sid);
    if (userId === undefined || sid === undefined) {
      this.#log.debug("ack_ignored", { conn: session.connId, user: userId });
      return;
    }
    const sender = session.acknowledged(sid);
    // Acks of sids this session has in flight are bounded by the window and always honoured;
    // others (e.g. for a previous session's deliveries) cost a command token.
    if (sender === undefined && !this.#takeToken(session)) {
      this.#log.debug("ack_ignored", { conn: session.connId, user: userId, sid, why: "rate" });
      return;
    }
    this.#delivery.acknowledge(session, userId, sid, sender, cmd);
  }

  // --- housekeeping -----------------------------------------------------------------------

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

/** A sid as this server writes it: a positive decimal integer without leading zeros. */
function parseSid(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,15}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}
