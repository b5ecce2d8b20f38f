// Who exists and who is online (ASL spec section 5): the USERIDs ever registered (loaded
// from the store, added when a first REGISTER commits), the ones whose first REGISTER is
// still being committed (already valid recipients and CERT subjects, since the committer
// keeps submission order), and the one session each online user is reached through
// (newest session wins). Pure bookkeeping: no store, no sockets.

/**
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Directory } from "./directory.ts";
 * const users = new Directory<string>(["alice"]);
 * users.registering("bob", +1);
 * assert.equal(users.has("bob"), true); // a valid recipient while its row commits
 * users.registering("bob", -1);
 * assert.equal(users.has("bob"), false); // the commit failed
 * users.setOnline("alice", "conn 1");
 * assert.equal(users.online("alice"), "conn 1");
 * ```
 */
export class Directory<S> {
  readonly #known: Set<string>;
  /** USERIDs not yet known whose user row waits for its commit, with how many REGISTERs wait. */
  readonly #registering = new Map<string, number>();
  readonly #online = new Map<string, S>();

  /** `users`: the USERIDs registered before (a store's snapshot). */
  constructor(users: Iterable<string> = []) {
    this.#known = new Set(users);
  }

  /** True when `userId` registered before (its row is committed). */
  isKnown(userId: string): boolean {
    return this.#known.has(userId);
  }

  /** True when `userId` is known or its first REGISTER is being committed. */
  has(userId: string): boolean {
    return this.#known.has(userId) || this.#registering.has(userId);
  }

  /** A first REGISTER of `userId` starts (+1) or finished committing (-1), either way. */
  registering(userId: string, delta: 1 | -1): void {
    const next = (this.#registering.get(userId) ?? 0) + delta;
    if (next > 0) this.#registering.set(userId, next);
    else this.#registering.delete(userId);
  }

  /** `userId`'s row is committed. */
  addKnown(userId: string): void {
    this.#known.add(userId);
  }

  /** USERIDs known. */
  get knownCount(): number {
    return this.#known.size;
  }

  /** The session `userId` is online through, if any. */
  online(userId: string): S | undefined {
    return this.#online.get(userId);
  }

  /** Makes `session` the one `userId` is reached through (replacing any other). */
  setOnline(userId: string, session: S): void {
    this.#online.set(userId, session);
  }

  /** `userId` goes offline if `session` is still the one it is reached through. */
  dropOnline(userId: string, session: S): void {
    if (this.#online.get(userId) === session) this.#online.delete(userId);
  }

  /** Users online. */
  get onlineCount(): number {
    return this.#online.size;
  }

  /** The online sessions (for stats and shutdown). */
  sessions(): IterableIterator<S> {
    return this.#online.values();
  }
}
