// Delivery of queued messages to online sessions (ASL spec section 5): a new message goes out
// at once when its recipient's window has room and nothing older waits, else it stays in the
// store; the backlog is fetched in sid order after REGISTER and whenever room frees up; at
// most `inflight` deliveries per session wait for their acknowledgement, and an
// acknowledgement that frees a slot refills the window promptly (one fetch for a burst of
// them). Acknowledgements are committed here too, giving the message's place in the queue
// counts back. With a store shared by several nodes, sids commit out of order across nodes:
// a fetch reads the whole queue minus the sids in flight (not after a cursor), and a session
// is woken (`wake`) when another node queued something for it.

import { setImmediate } from "node:timers";
import type { Logger } from "../log.ts";
import type { ClientSession } from "./session.ts";
import { type AckCommand, deliveryLine } from "./command.ts";
import type { GroupCommitter } from "./committer.ts";
import type { Quota } from "./quota.ts";

/** What an acknowledgement waiting for its commit counts against the unread bound. */
const ACK_COST = 64;
/** How long a failed backlog fetch waits before it is tried again, ms. */
const FETCH_RETRY_MS = 1_000;

/** The delivery engine of one router; sessions' delivery state lives in ClientSession. */
export class Delivery {
  /** Sessions whose acknowledgements freed slots, refilled together once this turn's input is in. */
  #refills: ClientSession[] = [];
  /** Sessions woken while a fetch of theirs was running: they fetch again after it. */
  readonly #woken = new Set<ClientSession>();
  #stopped = false;
  #delivered = 0;
  #acked = 0;

  /**
   * `inflightMax`: unacknowledged deliveries per session (at least 1). `quota` undefined and
   * `shared` true for a store shared by several nodes (it keeps the counts itself).
   */
  constructor(
    private readonly committer: GroupCommitter,
    private readonly quota: Quota | undefined,
    private readonly log: Logger,
    readonly inflightMax: number,
    private readonly shared = false,
  ) {}

  /** Deliveries sent so far. */
  get delivered(): number {
    return this.#delivered;
  }

  /** Acknowledgements committed that removed a queued message. */
  get acked(): number {
    return this.#acked;
  }

  /** No more backlog fetches (the router is closing). */
  stop(): void {
    this.#stopped = true;
  }

  /** A message for `session`'s user was accepted under `sid`: send it now if it may go. */
  deliverNew(session: ClientSession, sid: number, from: string, payload: string): void {
    if (session.userId === undefined || session.closed) return;
    if (session.acceptsNew(this.inflightMax)) this.#deliver(session, sid, from, payload);
  }

  #deliver(session: ClientSession, sid: number, from: string, payload: string): void {
    session.delivered(sid, from);
    this.#delivered++;
    this.log.debug("delivered", { sid, to: session.userId, bytes: payload.length });
    session.out.push(deliveryLine(String(sid), from, payload));
  }

  /**
   * Commits `recipient`'s acknowledgement of `sid` (`sender` when it was in flight in
   * `session`, which frees a slot to refill). The caller has decided it is honoured.
   */
  acknowledge(
    session: ClientSession,
    recipient: string,
    sid: number,
    sender: string | undefined,
    cmd: AckCommand,
  ): void {
    const op = sender === undefined
      ? { kind: "ack" as const, recipient, sid }
      : { kind: "ack" as const, recipient, sid, sender };
    // An ack waiting for its commit counts against the session's bound like a command, so a
    // flood of acknowledgements cannot grow the commit queue without limit. Its commit is
    // deferrable (it rides with the next batch): nobody waits for it, and an ack a crash
    // loses only brings a redelivery under the same sid, which recipients drop (section 5).
    session.out.hold(ACK_COST);
    this.committer.submit(op, (result, error) => {
      session.out.release(ACK_COST);
      if (error !== undefined) {
        this.log.error("store_failed", { op: "ack", user: recipient, sid, error: error.message });
        return;
      }
      if (result?.kind !== "ack" || !result.removed || result.sender === undefined) {
        this.log.debug("ack_ignored", { user: recipient, sid, why: "unknown sid" });
        return;
      }
      this.quota?.removeOne(result.sender, recipient);
      this.#acked++;
      if (cmd.verdict === "OK") this.log.debug("acked", { user: recipient, sid });
      else this.log.info("delivery_refused", { user: recipient, sid, reason: cmd.reason });
    }, true);
    if (sender !== undefined) this.#refillSoon(session);
  }

  /**
   * An acknowledgement freed a slot of `session`: refill its window from the backlog
   * promptly (section 5), but only once the input already read this turn (typically a burst
   * of acks) has been handled, so that a burst leads to one fetch of all the freed room
   * rather than a fetch per ack.
   */
  #refillSoon(session: ClientSession): void {
    if (!session.wantsRefill()) return;
    if (this.#refills.length === 0) setImmediate(this.#runRefills);
    this.#refills.push(session);
  }

  readonly #runRefills = (): void => {
    const sessions = this.#refills;
    this.#refills = [];
    for (const session of sessions) {
      session.refillTaken();
      this.resume(session);
    }
  };

  /** Another node queued messages for `session`'s user (or may have): fetch them. */
  wake(session: ClientSession): void {
    if (session.closed || session.userId === undefined) return;
    session.noteBacklog();
    if (session.fetching) this.#woken.add(session);
    else this.resume(session);
  }

  /**
   * Fetches `session`'s backlog into its free slots, if it has one and may take more (after
   * REGISTER, and when its unread output drained). Any free slot is refilled at once
   * (section 5: no waiting for further acks).
   */
  resume(session: ClientSession): void {
    const userId = session.userId;
    if (userId === undefined || session.closed) return;
    if (!session.backlog || session.fetching || this.#stopped || session.out.overLimit) return;
    const room = this.inflightMax - session.inflightCount;
    if (room < 1) return;
    session.setFetching(true);
    const op = this.shared
      ? {
        kind: "fetch" as const,
        recipient: userId,
        afterSid: 0,
        exclude: session.inflightSids(),
        limit: room,
      }
      : { kind: "fetch" as const, recipient: userId, afterSid: session.cursor, limit: room };
    this.committer.submit(
      op,
      (result, error) => {
        session.setFetching(false);
        const again = this.#woken.delete(session);
        if (session.closed) return;
        if (error !== undefined || result?.kind !== "fetch") {
          this.log.error("store_failed", { op: "fetch", user: userId, error: error?.message });
          const retry = setTimeout(() => this.resume(session), FETCH_RETRY_MS);
          Deno.unrefTimer(retry);
          return;
        }
        this.log.debug("backlog_fetched", {
          user: userId,
          count: result.messages.length,
          after: session.cursor,
          unread: session.out.pendingBytes,
        });
        for (const m of result.messages) {
          // Past the unread bound the rest stays in the store until the session drains.
          if (session.out.overLimit) return;
          const fresh = this.shared ? !session.isInflight(m.sid) : m.sid > session.cursor;
          if (fresh) this.#deliver(session, m.sid, m.sender, m.payload);
        }
        if (result.messages.length < room && !again) session.backlogDone();
        else this.resume(session);
      },
    );
  }
}
