// REGISTER and CERT (ASL spec section 5, revision 4): a session binds to the USERID its
// certificate names (ALREADY_REGISTERED before NOT_YOUR_ID), the newest session of a user
// replaces the older one, the chain presented in the handshake is recorded with the user row
// in one commit before `OK`, and the backlog starts flowing; CERT answers the chain recorded
// at a user's latest REGISTER, read in commit order.

import type { Logger } from "../log.ts";
import { type ClientSession, REPLY_COST } from "./session.ts";
import {
  type CertCommand,
  certReply,
  failedReply,
  okReply,
  type RegisterCommand,
} from "./command.ts";
import type { GroupCommitter } from "./committer.ts";
import type { Delivery } from "./delivery.ts";
import type { Directory } from "./directory.ts";
import type { Quota } from "./quota.ts";
import type { ClusterLink } from "./cluster.ts";

/** Handles REGISTER and CERT for one router. */
export class Registrar {
  constructor(
    private readonly committer: GroupCommitter,
    private readonly users: Directory<ClientSession>,
    private readonly quota: Quota | undefined,
    private readonly delivery: Delivery,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly cluster?: ClusterLink,
  ) {}

  /** Handles a REGISTER whose command token was granted. */
  register(session: ClientSession, cmd: RegisterCommand): void {
    const userId = cmd.userId;
    if (cmd.error !== undefined) return session.refuse(userId, cmd.error, this.log);
    if (session.userId !== undefined) {
      if (session.userId === userId) session.out.push(okReply(userId));
      else session.refuse(userId, "ALREADY_REGISTERED", this.log);
      return;
    }
    if (userId !== session.port.identity) return session.refuse(userId, "NOT_YOUR_ID", this.log);

    // A shared store's counts are in the database: the first fetch finds out.
    session.bind(userId, this.quota === undefined || this.quota.queuedFor(userId) > 0);
    const older = this.users.online(userId);
    if (older !== undefined) {
      this.log.info("session_replaced", { user: userId, old: older.connId, conn: session.connId });
      older.end();
      older.port.close();
    }
    this.users.setOnline(userId, session);

    // The chain this session presented is recorded (replacing the previous one) and the user
    // remembered in one op, committed before the OK. A first registration is known once its
    // row is committed; meanwhile MESSAGEs to it are accepted and CERTs for it looked up
    // (the committer keeps submission order, so they commit with or after the user row).
    // Replies and the backlog fetch below keep their order through the outbox.
    const first = !this.users.isKnown(userId);
    if (first) this.users.registering(userId, +1);
    const slot = session.out.reserve(REPLY_COST);
    this.committer.submit(
      { kind: "user", userId, at: this.now(), chain: session.port.chain },
      (result, error) => {
        if (first) this.users.registering(userId, -1);
        if (error !== undefined) {
          this.log.error("store_failed", { op: "register", user: userId, error: error.message });
          session.out.fill(slot, failedReply(userId, "INTERNAL"));
          if (!session.closed) session.port.close();
          return;
        }
        this.users.addKnown(userId);
        this.log.info("register", {
          conn: session.connId,
          user: userId,
          first: first || undefined,
        });
        session.out.fill(slot, okReply(userId));
        // A newer session of the user on another node may be known already: then this one
        // goes at once (after its OK).
        if (result?.kind === "user" && result.epoch !== undefined) {
          this.cluster?.registeredHere(session, userId, result.epoch);
        }
      },
    );
    this.delivery.resume(session);
  }

  /** Handles a CERT of a registered session whose command token was granted. */
  cert(session: ClientSession, cmd: CertCommand): void {
    const userId = cmd.userId;
    if (cmd.error !== undefined) return session.refuse(userId, cmd.error, this.log);
    // A shared store answers for users registered on other nodes too.
    if (this.quota !== undefined && !this.users.has(userId)) {
      return session.refuse(userId, "UNKNOWN_USER", this.log);
    }
    // The chain is read in the commit order, so a REGISTER answered before is seen.
    const slot = session.out.reserve(REPLY_COST);
    this.committer.submit({ kind: "cert", userId }, (result, error) => {
      if (error !== undefined || result?.kind !== "cert") {
        this.log.error("store_failed", { op: "cert", user: userId, error: error?.message });
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
        this.log.debug("command_failed", {
          conn: session.connId,
          user: session.userId,
          id: userId,
          reason,
        });
        session.out.fill(slot, failedReply(userId, reason));
      } else session.out.fill(slot, certReply(userId, result.chain ?? []));
    });
  }
}
