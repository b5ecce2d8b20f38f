// Ordered output of one client session (ASL spec section 5): replies leave in the order the
// commands arrived even when some wait for a commit, deliveries queue behind them, and the
// bytes the peer has not yet taken are counted so the server can stop reading from a session
// that does not read (the 1 MiB unread-output bound).

/** Where the outbox writes: one record per line; the promise settles once it is written. */
export type LineWriter = (line: string) => Promise<void>;

/**
 * An object an outbox writes to and tells when its output drained: a server passes its
 * per-connection object itself, so no closures are kept per connection.
 */
export interface OutboxTarget {
  /** Sends one line as a record; settles once written. */
  writeLine(line: string): Promise<void>;
  /** The pending bytes fell back to half the bound after having passed it. */
  outputDrained(): void;
}

/**
 * Most sends handed to the session at once. Keeping this under the session's own send
 * queue means a send never waits inside the session, so lines keep their order there too.
 */
export const MAX_OUTSTANDING_SENDS = 64;

/** A reply whose text is not known yet (its command waits for a commit). */
export interface Slot {
  line: string | undefined;
  /** Bytes this slot still counts against the bound until it is written. */
  cost: number;
}

/**
 * @example
 * ```ts
 * import { Outbox } from "./outbox.ts";
 * const sent: string[] = [];
 * const out = new Outbox((line) => { sent.push(line); return Promise.resolve(); }, 1 << 20);
 * const slot = out.reserve(10);
 * out.push("MESSAGE 7 bob aGk=");
 * out.fill(slot, "OK m1");
 * console.log(sent); // ["OK m1", "MESSAGE 7 bob aGk="]
 * ```
 */
export class Outbox {
  #slots: Slot[] = [];
  /** Lines in order, waiting for a free send (at most MAX_OUTSTANDING_SENDS are handed over). */
  #ready: string[] = [];
  #outstanding = 0;
  #head = 0;
  #pendingBytes = 0;
  #closed = false;
  #drainWaiters: (() => void)[] = [];
  /** `settled()`'s waiter (one: the connection's owner). */
  #settleWaiter: (() => void) | undefined;

  #wasOver = false;

  /**
   * `target` sends one line (a function, or an OutboxTarget's `writeLine`);
   * `maxPendingBytes` is the unread-output bound; `onDrained` (or the target's
   * `outputDrained`) runs each time the pending bytes fall back to half the bound after
   * having passed it.
   */
  constructor(
    private readonly target: LineWriter | OutboxTarget,
    private readonly maxPendingBytes: number,
    private readonly onDrained?: () => void,
  ) {}

  /** Bytes reserved for unanswered commands plus bytes written but not yet taken by the socket. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** True when reading from this session must pause until the output drains. */
  get overLimit(): boolean {
    if (this.#pendingBytes > this.maxPendingBytes) this.#wasOver = true;
    return this.#wasOver;
  }

  /** Sends `line` now, or behind replies still waiting. */
  push(line: string): void {
    if (this.#closed) return;
    if (this.#head === this.#slots.length) {
      this.#write(line);
      return;
    }
    this.#slots.push({ line, cost: line.length });
    this.#pendingBytes += line.length;
    if (this.#pendingBytes > this.maxPendingBytes) this.#wasOver = true;
  }

  /** Keeps a place for a reply; `cost` (bytes) counts against the bound until it is filled. */
  reserve(cost: number): Slot {
    const slot: Slot = { line: undefined, cost };
    this.#pendingBytes += cost;
    if (this.#pendingBytes > this.maxPendingBytes) this.#wasOver = true;
    this.#slots.push(slot);
    return slot;
  }

  /** Counts `bytes` against the bound without a reply (work this session has queued). */
  hold(bytes: number): void {
    this.#pendingBytes += bytes;
    if (this.#pendingBytes > this.maxPendingBytes) this.#wasOver = true;
  }

  /** Gives back what `hold` counted. */
  release(bytes: number): void {
    this.#pendingBytes -= bytes;
    this.#wakeIfDrained();
  }

  /** Fills a reserved place and sends everything that is now in order. */
  fill(slot: Slot, line: string): void {
    if (slot.line !== undefined) return;
    slot.line = line;
    if (this.#closed) return;
    this.#pendingBytes -= slot.cost;
    slot.cost = 0;
    while (this.#head < this.#slots.length) {
      const next = this.#slots[this.#head];
      if (next === undefined || next.line === undefined) break;
      this.#head++;
      this.#pendingBytes -= next.cost;
      next.cost = 0;
      this.#write(next.line);
    }
    if (this.#head === this.#slots.length) {
      this.#slots = [];
      this.#head = 0;
    } else if (this.#head > 1024) {
      this.#slots = this.#slots.slice(this.#head);
      this.#head = 0;
    }
    this.#wakeIfDrained();
    this.#checkSettled();
  }

  /** Resolves once the pending bytes fell to half the bound (or the outbox closed). */
  drained(): Promise<void> {
    if (!this.overLimit || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Resolves once every reserved reply has been filled and every line handed over has been
   * written (or failed), or the outbox closed: a connection whose input ended is then done.
   */
  settled(): Promise<void> {
    if (this.#isSettled()) return Promise.resolve();
    return new Promise((resolve) => (this.#settleWaiter = resolve));
  }

  #isSettled(): boolean {
    return this.#closed ||
      (this.#head === this.#slots.length && this.#ready.length === 0 && this.#outstanding === 0);
  }

  #checkSettled(): void {
    if (this.#settleWaiter !== undefined && this.#isSettled()) {
      const wake = this.#settleWaiter;
      this.#settleWaiter = undefined;
      wake();
    }
  }

  /** Drops everything still waiting; later pushes are ignored. */
  close(): void {
    this.#closed = true;
    for (let i = this.#head; i < this.#slots.length; i++) {
      this.#pendingBytes -= this.#slots[i]?.cost ?? 0;
    }
    for (const line of this.#ready) this.#pendingBytes -= line.length;
    this.#ready = [];
    this.#slots = [];
    this.#head = 0;
    this.#wake();
    this.#checkSettled();
  }

  /** Counts `line` as pending and hands it to the session, or queues it behind others. */
  #write(line: string): void {
    this.#pendingBytes += line.length;
    if (this.#pendingBytes > this.maxPendingBytes) this.#wasOver = true;
    if (this.#outstanding < MAX_OUTSTANDING_SENDS) this.#handOver(line);
    else this.#ready.push(line);
  }

  #handOver(line: string): void {
    this.#outstanding++;
    const settle = () => {
      this.#outstanding--;
      this.#pendingBytes -= line.length;
      const next = this.#ready.shift();
      if (next !== undefined && !this.#closed) this.#handOver(next);
      this.#wakeIfDrained();
      this.#checkSettled();
    };
    let written: Promise<void>;
    try {
      const t = this.target;
      written = typeof t === "function" ? t(line) : t.writeLine(line);
    } catch (err) {
      written = Promise.reject(err);
    }
    written.then(settle, settle);
  }

  #wakeIfDrained(): void {
    if (this.#pendingBytes > this.maxPendingBytes) this.#wasOver = true;
    if (this.#wasOver && this.#pendingBytes <= this.maxPendingBytes / 2) {
      this.#wasOver = false;
      this.#wake();
      if (!this.#closed) {
        const t = this.target;
        if (typeof t === "function") this.onDrained?.();
        else t.outputDrained();
      }
    }
  }

  #wake(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }
}
