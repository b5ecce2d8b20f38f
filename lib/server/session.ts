// One client connection as the messenger's engine sees it (ASL spec section 5): its USERID
// once REGISTERed, its rate bucket before that, the register deadline, its ordered output,
// and its delivery state (the sids in flight, the cursor into its queue, whether more is
// queued in the store than it was sent). The state is private; the engine's modules change
// it through the methods below. One object per connection and no closures of its own: a
// server holds thousands of these (and no private methods: V8 would give every instance a
// brand slot for them).

import type { Logger } from "../log.ts";
import { failedReply, type Reason } from "./command.ts";
import { Outbox, type OutboxTarget } from "./outbox.ts";
import type { RateLimiter, TokenBucket } from "./rate_limit.ts";

/** Fixed per-reply overhead counted against the unread bound for a command awaiting commit. */
export const REPLY_COST = 96;

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

/** The engine a session reports to (the Router). */
export interface SessionOwner {
  /** Handles one received command line of `session`. */
  receive(session: ClientSession, line: string): void;
  /** `session`'s unread output fell back under its bound. */
  drained(session: ClientSession): void;
  /** `session`'s connection ended. */
  end(session: ClientSession): void;
}

/**
 * One connection, returned by `Router.open`. The connection's side (serve.ts) feeds it
 * lines, pauses while `mustPause`, and calls `end` when the connection closes. It is its
 * outbox's target itself, so an idle connection keeps no closures.
 */
export class ClientSession implements OutboxTarget {
  #userId: string | undefined;
  /**
   * Sids delivered in this session and not yet acknowledged, with their senders; made on the
   * first delivery and dropped when the last one is acknowledged (idle sessions hold none).
   */
  #inflight: Map<number, string> | undefined;
  /** Highest sid delivered in this session. */
  #cursor = 0;
  /** Queued messages may exist in the store beyond the cursor that are not in memory. */
  #backlog = false;
  #fetching = false;
  /** Waiting in the delivery's refill list (an acknowledgement freed a slot). */
  #refill = false;
  #closed = false;
  /** The rate bucket of this session before REGISTER (undefined when rates are off). */
  #bucket: TokenBucket | undefined;
  #registerTimer: ReturnType<typeof setTimeout> | undefined;
  /** Ordered output: replies in command order, deliveries behind them, the unread bound. */
  readonly out: Outbox;

  constructor(
    private readonly owner: SessionOwner,
    readonly port: SessionPort,
    readonly connId: number,
    maxUnreadBytes: number,
    bucket: TokenBucket | undefined,
  ) {
    this.out = new Outbox(this, maxUnreadBytes);
    this.#bucket = bucket;
  }

  // --- the connection's side ----------------------------------------------------------------

  /** The USERID this session REGISTERed as, if it did. */
  get userId(): string | undefined {
    return this.#userId;
  }

  /** Handles one received command line. */
  receive(line: string): void {
    this.owner.receive(this, line);
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
    this.owner.end(this);
  }

  /** Outbox target: one line to the connection. */
  writeLine(line: string): Promise<void> {
    return this.port.send(line);
  }

  /** Outbox target: the unread output fell back under the bound; deliveries resume. */
  outputDrained(): void {
    this.owner.drained(this);
  }

  // --- the engine's side: replies and lifecycle ---------------------------------------------------------

  /** Answers `FAILED id reason` (in order behind replies still waiting) and logs it. */
  refuse(id: string, reason: Reason, log: Logger): void {
    log.debug("command_failed", { conn: this.connId, user: this.#userId, id, reason });
    this.out.push(failedReply(id, reason));
  }

  /** True once `close` ran (the connection ended or was replaced). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Starts the REGISTER deadline: `onTimeout(this)` runs after `ms` unless the session
   * registered or closed by then.
   */
  startRegisterTimer(ms: number, onTimeout: (session: ClientSession) => void): void {
    this.#registerTimer = setTimeout(() => {
      this.#registerTimer = undefined;
      if (this.#userId === undefined && !this.#closed) onTimeout(this);
    }, ms);
  }

  /**
   * Spends one command token at `now`: the user's bucket in `limiter` once registered, the
   * session's own before. True when the command may run.
   */
  takeToken(limiter: RateLimiter, now: number): boolean {
    if (this.#userId !== undefined) return limiter.take(this.#userId, now);
    return this.#bucket?.take(now) ?? true;
  }

  /**
   * Binds the session to `userId` (a successful REGISTER): the register deadline and the
   * session's own bucket go; delivery starts from the beginning of the user's queue,
   * `queued` telling whether the store holds anything for it.
   */
  bind(userId: string, queued: boolean): void {
    this.#userId = userId;
    this.#bucket = undefined;
    this.#registerTimer = stopTimer(this.#registerTimer);
    this.#cursor = 0;
    this.#backlog = queued;
  }

  /** Marks the session closed and drops its output; false when it was closed already. */
  close(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    this.#registerTimer = stopTimer(this.#registerTimer);
    this.out.close();
    return true;
  }

  // --- the engine's side: delivery state ----------------------------------------------------

  /** Highest sid delivered in this session; a backlog fetch reads after it. */
  get cursor(): number {
    return this.#cursor;
  }

  /** Deliveries not yet acknowledged. */
  get inflightCount(): number {
    return this.#inflight?.size ?? 0;
  }

  /** True when the store may hold queued messages for this session beyond the cursor. */
  get backlog(): boolean {
    return this.#backlog;
  }

  /** True while a backlog fetch for this session waits for its commit. */
  get fetching(): boolean {
    return this.#fetching;
  }

  /**
   * Whether a new message can go out at once with `inflightMax` slots: nothing is queued or
   * being fetched before it, a slot is free and the output is under its bound. If not, the
   * message stays in the store and the session notes a backlog.
   */
  acceptsNew(inflightMax: number): boolean {
    if (
      this.#backlog || this.#fetching || this.inflightCount >= inflightMax || this.out.overLimit
    ) {
      this.#backlog = true;
      return false;
    }
    return true;
  }

  /** Records the delivery of `sid` from `sender` (in flight until acknowledged). */
  delivered(sid: number, sender: string): void {
    (this.#inflight ??= new Map()).set(sid, sender);
    if (sid > this.#cursor) this.#cursor = sid;
  }

  /** Removes `sid` from the deliveries in flight; its sender, or undefined if not in flight. */
  acknowledged(sid: number): string | undefined {
    const inflight = this.#inflight;
    const sender = inflight?.get(sid);
    if (sender !== undefined) {
      inflight!.delete(sid);
      if (inflight!.size === 0) this.#inflight = undefined;
    }
    return sender;
  }

  /** Whether `sid` was delivered in this session and is not acknowledged yet. */
  isInflight(sid: number): boolean {
    return this.#inflight?.has(sid) ?? false;
  }

  /** The sids in flight (a shared store's fetch leaves them out). */
  inflightSids(): number[] {
    return this.#inflight === undefined ? [] : [...this.#inflight.keys()];
  }

  /** The store may hold messages for this session (another node queued some). */
  noteBacklog(): void {
    this.#backlog = true;
  }

  /** A backlog fetch starts (true) or ended (false). */
  setFetching(fetching: boolean): void {
    this.#fetching = fetching;
  }

  /** A fetch came back with less than it asked for: the store holds nothing more. */
  backlogDone(): void {
    this.#backlog = false;
  }

  /**
   * Asks for a place in the refill list: true (and marked) when the session has a backlog
   * and is neither already listed nor fetching.
   */
  wantsRefill(): boolean {
    if (!this.#backlog || this.#refill || this.#fetching) return false;
    this.#refill = true;
    return true;
  }

  /** Leaves the refill list. */
  refillTaken(): void {
    this.#refill = false;
  }
}

/** Clears `timer` if set; returns undefined (the new value of the field). */
function stopTimer(timer: ReturnType<typeof setTimeout> | undefined): undefined {
  if (timer !== undefined) clearTimeout(timer);
  return undefined;
}
