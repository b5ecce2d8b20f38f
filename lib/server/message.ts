// MESSAGE (ASL spec section 5): the in-memory precheck of the recipients (quota.ts; a store
// shared by several nodes counts the limits and known users itself, in the transaction),
// sids given by the committer when the batch starts, the accept committed with the batch,
// the reply in the spec's reason order (the store decides DUPLICATE_ID before UNKNOWN_USER
// and QUEUE_FULL, and answers a retry of an accepted message OK), and the copies handed to
// the recipients online on this node (delivery.ts; other nodes are woken by the store).

import type { Logger } from "../log.ts";
import { type ClientSession, REPLY_COST } from "./session.ts";
import { failedReply, type MessageCommand, okReply } from "./command.ts";
import type { GroupCommitter } from "./committer.ts";
import type { Delivery } from "./delivery.ts";
import type { Directory } from "./directory.ts";
import type { Slot } from "./outbox.ts";
import type { Precheck, Quota } from "./quota.ts";
import type { AcceptOp, StoreResult } from "./store.ts";

/** Accepts MESSAGEs for one router. */
export class MessageAcceptor {
  #accepted = 0;

  /**
   * `quota` undefined: the store is shared and checks the limits (`limits`) and the
   * recipients itself.
   */
  constructor(
    private readonly committer: GroupCommitter,
    private readonly quota: Quota | undefined,
    private readonly users: Directory<ClientSession>,
    private readonly delivery: Delivery,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly limits?: { readonly queue: number; readonly pair: number },
  ) {}

  /** Messages accepted so far (retries not counted). */
  get accepted(): number {
    return this.#accepted;
  }

  /**
   * Handles a well-formed MESSAGE (no `cmd.error`) of registered `sender` whose command
   * token was granted; the reply keeps its place in `session`'s output until the commit.
   */
  submit(session: ClientSession, sender: string, cmd: MessageCommand): void {
    const id = cmd.messageId;
    const recipients = cmd.recipients;
    const quota = this.quota;
    const precheck = quota === undefined ? "pass" : quota.precheck(sender, recipients, this.users);
    if (precheck === "pass") quota?.add(sender, recipients);
    const slot = session.out.reserve(cmd.payload.length + REPLY_COST);
    const op: AcceptOp = {
      kind: "accept",
      sender,
      messageId: id,
      recipients,
      payload: cmd.payload,
      firstSid: 0,
      precheck,
      at: this.now(),
      ...(this.limits !== undefined ? { limits: this.limits } : {}),
    };
    this.committer.submit(
      op,
      (result, error) => this.#settle(session, slot, cmd, sender, op, precheck, result, error),
    );
  }

  #settle(
    session: ClientSession,
    slot: Slot,
    cmd: MessageCommand,
    sender: string,
    op: AcceptOp,
    precheck: Precheck,
    result: StoreResult | undefined,
    error: Error | undefined,
  ): void {
    const id = cmd.messageId;
    const firstSid = op.firstSid;
    const outcome = result?.kind === "accept" ? result.outcome : undefined;
    if (precheck === "pass" && outcome !== "accepted") this.quota?.remove(sender, cmd.recipients);
    if (error !== undefined || outcome === undefined) {
      this.log.error("store_failed", { op: "message", user: sender, id, error: error?.message });
      session.out.fill(slot, failedReply(id, "INTERNAL"));
      return;
    }
    if (outcome === "accepted" || outcome === "same") {
      session.out.fill(slot, okReply(id));
    } else {
      this.log.debug("command_failed", {
        conn: session.connId,
        user: sender,
        id,
        reason: outcome,
      });
      session.out.fill(slot, failedReply(id, outcome));
    }
    if (outcome !== "accepted") {
      if (outcome === "same") this.log.debug("message_retry", { user: sender, id });
      return;
    }
    this.#accepted++;
    this.log.debug("message_accepted", {
      from: sender,
      id,
      to: cmd.recipients.length,
      bytes: cmd.payload.length,
      sid: firstSid,
    });
    for (let i = 0; i < cmd.recipients.length; i++) {
      const recipient = cmd.recipients[i] ?? "";
      const target = this.users.online(recipient);
      if (target !== undefined) this.delivery.deliverNew(target, firstSid + i, sender, cmd.payload);
    }
  }
}
