// The storage contract of the server (ASL spec section 5, store-and-forward): users ever
// registered, per-recipient queues keyed by server-unique sids, and each sender's MESSAGEID
// memory. Routing code talks only to this interface, in ordered batches (one batch = one
// transaction), so that an engine can be in-process, in a worker or across a network.

import { createHash } from "node:crypto";

/**
 * Accept a message: remember `sender`+`messageId` and queue one copy per recipient, with
 * sid `firstSid + i` for `recipients[i]`, all in the batch's transaction.
 *
 * `precheck` is the router's in-memory verdict on the recipients (known users, queue caps),
 * which the spec ranks after the MESSAGEID check: the store checks the MESSAGEID memory
 * first and only then applies a failing precheck. A store shared by several nodes
 * (`SharedStore`) is given `limits` instead and counts them itself, in the transaction.
 */
export interface AcceptOp {
  readonly kind: "accept";
  readonly sender: string;
  readonly messageId: string;
  /** Distinct recipients, sorted. */
  readonly recipients: readonly string[];
  readonly payload: string;
  /**
   * The first of `recipients.length` consecutive sids: 0 when submitted, assigned by the
   * committer from its sid lease when the batch starts (only for a `pass` precheck).
   */
  firstSid: number;
  readonly precheck: "pass" | "UNKNOWN_USER" | "QUEUE_FULL";
  /** Queue limits the store checks itself (shared stores): per recipient, per pair. */
  readonly limits?: { readonly queue: number; readonly pair: number };
  /** Acceptance time, ms since the epoch (for the 24-hour MESSAGEID memory). */
  readonly at: number;
}

/**
 * Remove the queued message `sid` if it is held for `recipient`. `sender`, when the router
 * already knows it (a delivery in flight), saves the store reading it back.
 */
export interface AckOp {
  readonly kind: "ack";
  readonly recipient: string;
  readonly sid: number;
  readonly sender?: string;
}

/**
 * Remember a USERID as registered (idempotent; the first registration time is kept) and,
 * when `chain` is given, record it as the chain the user presented at this REGISTER,
 * replacing the one recorded before. Without `chain` a recorded chain is kept.
 */
export interface AddUserOp {
  readonly kind: "user";
  readonly userId: string;
  readonly at: number;
  /** The client's certificate chain, leaf first, DER (1 to 5 certificates). */
  readonly chain?: readonly Uint8Array[];
}

/** Read the chain recorded for `userId` (the reply to `CERT`). */
export interface CertOp {
  readonly kind: "cert";
  readonly userId: string;
}

/**
 * Read up to `limit` queued messages of `recipient` with sid greater than `afterSid` and
 * not in `exclude` (the sids in flight in the session), in sid order. With sids from several
 * nodes a smaller sid may commit after a larger one was delivered, so a shared store's
 * router fetches with `afterSid` 0 and the in-flight sids excluded.
 */
export interface FetchOp {
  readonly kind: "fetch";
  readonly recipient: string;
  readonly afterSid: number;
  readonly exclude?: readonly number[];
  readonly limit: number;
}

/** Forget MESSAGEIDs accepted before `before` (ms since the epoch). */
export interface PruneOp {
  readonly kind: "prune";
  readonly before: number;
}

/** One operation of a batch. */
export type StoreOp = AcceptOp | AckOp | AddUserOp | CertOp | FetchOp | PruneOp;

/** Outcome of an AcceptOp. `same` = a retry of an accepted message (answer OK, queue nothing). */
export type AcceptOutcome = "accepted" | "same" | "DUPLICATE_ID" | "UNKNOWN_USER" | "QUEUE_FULL";

/** A queued message as read back by a FetchOp. */
export interface QueuedMessage {
  readonly sid: number;
  readonly sender: string;
  readonly payload: string;
}

/** Results, index for index with the batch's ops. */
export type StoreResult =
  | { readonly kind: "accept"; readonly outcome: AcceptOutcome }
  | { readonly kind: "ack"; readonly removed: boolean; readonly sender?: string }
  | { readonly kind: "user"; readonly epoch?: number }
  | CertResult
  | { readonly kind: "fetch"; readonly messages: readonly QueuedMessage[] }
  | { readonly kind: "prune"; readonly pruned: number };

/**
 * Outcome of a CertOp: `known` false for a USERID never registered; `chain` undefined for a
 * known user without a recorded chain (registered before chains were recorded).
 */
export interface CertResult {
  readonly kind: "cert";
  readonly known: boolean;
  readonly chain: readonly Uint8Array[] | undefined;
}

/** What the router loads at start: enough to answer most checks from memory. */
export interface StoreSnapshot {
  /** Every USERID ever registered. */
  readonly users: readonly string[];
  /** Undelivered message counts per recipient and sender. */
  readonly queues: readonly { recipient: string; sender: string; count: number }[];
}

/** Sids `first` up to `end` (exclusive), owned by one committer: never handed out again. */
export interface SidLease {
  readonly first: number;
  readonly end: number;
}

/**
 * A storage engine. `apply` runs a batch in ONE transaction, durably committed before
 * its promise resolves (accepted sids included: a store with a counter raises it in the
 * same transaction). If the transaction fails, nothing of the batch is kept and the
 * promise rejects. `leaseSids` hands out a block of sids no other lease, node or restart
 * will ever see again: a single-node store leases the whole space from its counter at
 * once, a shared store blocks from a database sequence.
 */
export interface Store {
  /**
   * True when `apply` does its work, disk flush included, on the calling thread before it
   * returns (SqliteStore in process): the committer then lets the event loop take in the
   * input of every ready connection before it starts a batch, so a flush is shared.
   */
  readonly blocking?: boolean;
  load(): Promise<StoreSnapshot>;
  leaseSids(): Promise<SidLease>;
  apply(ops: readonly StoreOp[]): Promise<StoreResult[]>;
  close(): Promise<void>;
}

/** What another node did, as a shared store's notifications tell it. */
export interface ClusterEvents {
  /** Messages were queued for `recipient` by another node (committed). */
  queued(recipient: string): void;
  /** `userId` registered on another node, its session numbered `epoch`. */
  registered(userId: string, epoch: number): void;
  /** Notifications may have been missed (the listening connection was (re)made). */
  resync(): void;
}

/**
 * A store that several server nodes share (PostgreSQL): sids from a sequence, queue limits
 * and known users counted in the transaction, and notifications between nodes.
 */
export interface SharedStore extends Store {
  readonly shared: true;
  /** This node's name in notifications (its own are not echoed back to it). */
  readonly nodeId: string;
  /** Starts listening for other nodes' notifications. */
  subscribe(events: ClusterEvents): Promise<void>;
  /**
   * For the sweep: the latest session epoch of each of `users` registered anywhere (users
   * without one left out), and which of them have messages queued.
   */
  sweepInfo(users: readonly string[]): Promise<SweepInfo>;
}

/** What `SharedStore.sweepInfo` reads. */
export interface SweepInfo {
  readonly epochs: ReadonlyMap<string, number>;
  readonly queued: ReadonlySet<string>;
}

/** True when `store` is shared by several nodes. */
export function isShared(store: Store): store is SharedStore {
  return (store as Partial<SharedStore>).shared === true;
}

/** The sids past the last one `ops` accept (0 without accepts): what a counter must exceed. */
export function sidsUsedEnd(ops: readonly StoreOp[]): number {
  let end = 0;
  for (const op of ops) {
    if (op.kind === "accept" && op.firstSid > 0) {
      end = Math.max(end, op.firstSid + op.recipients.length);
    }
  }
  return end;
}

/** The whole sid space from `next` on (a single-node store's one lease). */
export function wholeSpace(next: number): SidLease {
  return { first: next, end: Number.MAX_SAFE_INTEGER };
}

/** Canonical contents up to this many characters are remembered as they are, not hashed. */
export const INLINE_CONTENT_CHARS = 512;

const encoder = new TextEncoder();
const HASHED_TAG = encoder.encode("H:");

/**
 * The identity of a message for idempotent retries: equal keys = same recipient set and
 * same payload. Short contents (the common case) are kept as their canonical text, tagged
 * `R:`, which costs no hashing; longer ones as `H:` + SHA-256 of that text. Synchronous
 * (node:crypto's hash, the same SHA-256 as before): a store runs it inside its batch.
 */
export function messageDigest(recipients: readonly string[], payload: string): Uint8Array {
  const text = `${recipients.join(",")} ${payload}`;
  if (text.length <= INLINE_CONTENT_CHARS) return encoder.encode(`R:${text}`);
  const hash = createHash("sha256").update(text, "utf8").digest();
  const key = new Uint8Array(2 + hash.length);
  key.set(HASHED_TAG);
  key.set(hash, 2);
  return key;
}

/** The content key of each accept op of a batch (`undefined` for the other ops), index for index. */
export function batchDigests(ops: readonly StoreOp[]): (Uint8Array | undefined)[] {
  return ops.map((op) =>
    op.kind === "accept" ? messageDigest(op.recipients, op.payload) : undefined
  );
}

/** Constant-shape byte comparison of two digests. */
export function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** How long MESSAGEIDs are remembered (section 5: at least 24 hours). */
export const MESSAGE_ID_MEMORY_MS = 24 * 60 * 60 * 1000;
