// The messenger's side of a store shared by several server nodes (docs/CLUSTER.md; ASL spec
// section 5 across the cluster): other nodes' notifications wake the local session of a
// recipient they queued messages for, and close a local session that a newer REGISTER of
// the same user on another node replaced; a slow sweep repeats both from the database in
// case a notification was lost (and at once after the listening connection was remade).

import type { Logger } from "../log.ts";
import type { Delivery } from "./delivery.ts";
import type { Directory } from "./directory.ts";
import type { ClientSession } from "./session.ts";
import type { ClusterEvents, SharedStore } from "./store.ts";

/** How often the safety-net sweep runs, ms. */
export const SWEEP_MS = 5_000;

/** Wires a shared store's notifications to one router's sessions. */
export class ClusterLink implements ClusterEvents {
  /** The session epoch of each local session whose REGISTER committed. */
  readonly #epochs = new WeakMap<ClientSession, number>();
  /** Highest epoch another node announced per user, until the next sweep. */
  #remote = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #sweeping = false;
  #stopped = false;

  constructor(
    private readonly store: SharedStore,
    private readonly users: Directory<ClientSession>,
    private readonly delivery: Delivery,
    private readonly log: Logger,
    private readonly sweepMs = SWEEP_MS,
  ) {}

  /** Starts listening and the sweep. */
  async start(): Promise<void> {
    await this.store.subscribe(this);
    this.#timer = setInterval(() => void this.sweep(), this.sweepMs);
    Deno.unrefTimer(this.#timer);
  }

  /** No more wake-ups or sweeps. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }

  /** A local session's REGISTER committed with `epoch`: it may already have been replaced. */
  registeredHere(session: ClientSession, userId: string, epoch: number): void {
    this.#epochs.set(session, epoch);
    const newer = this.#remote.get(userId);
    if (newer !== undefined && newer > epoch) this.#replace(session, userId, newer);
  }

  queued(recipient: string): void {
    if (this.#stopped) return;
    const session = this.users.online(recipient);
    if (session !== undefined) this.delivery.wake(session);
  }

  registered(userId: string, epoch: number): void {
    if (this.#stopped) return;
    if (epoch > (this.#remote.get(userId) ?? 0)) this.#remote.set(userId, epoch);
    const session = this.users.online(userId);
    if (session === undefined) return;
    const mine = this.#epochs.get(session);
    if (mine !== undefined && mine < epoch) this.#replace(session, userId, epoch);
  }

  resync(): void {
    void this.sweep();
  }

  /** Wakes every local session with something queued; closes those replaced elsewhere. */
  async sweep(): Promise<void> {
    if (this.#sweeping || this.#stopped) return;
    this.#sweeping = true;
    try {
      const online = [...this.users.sessions()];
      const ids = online.flatMap((s) => s.userId === undefined ? [] : [s.userId]);
      this.#remote = new Map();
      if (ids.length === 0) return;
      const { epochs, queued } = await this.store.sweepInfo(ids);
      for (const session of online) {
        const userId = session.userId;
        if (userId === undefined || session.closed) continue;
        const mine = this.#epochs.get(session);
        const latest = epochs.get(userId);
        if (mine !== undefined && latest !== undefined && latest > mine) {
          this.#replace(session, userId, latest);
        } else if (queued.has(userId)) this.delivery.wake(session);
      }
    } catch (err) {
      this.log.error("cluster_sweep_failed", { error: (err as Error).message });
    } finally {
      this.#sweeping = false;
    }
  }

  #replace(session: ClientSession, userId: string, epoch: number): void {
    if (session.closed) return;
    this.log.info("session_replaced", { user: userId, old: session.connId, epoch, remote: true });
    session.end();
    session.port.close();
  }
}
