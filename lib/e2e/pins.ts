// Pinning of ASL-E2E/1 (ASL spec section 7, "Pinning"): per USERID, the fingerprints of the
// leaf certificates the person accepted (with their chains where known, so that a leaf
// that is no longer the user's current one can still be found, receiving step 3) and the
// ones rejected; the first valid leaf of a user is accepted on first use. The store is an
// interface (async, so that a file-backed one is a drop-in); MemoryPinStore is the pure
// in-memory one for tests and short-lived use. Fingerprints are the section 7 form:
// canonical base64 of SHA-256 of the leaf DER.

/** An accepted leaf: its fingerprint and, when known, its chain (DER, leaf first). */
export interface PinnedLeaf {
  /** b64(SHA-256(leaf DER)), 44 characters. */
  readonly fingerprint: string;
  /** The chain as `CERT` gave it, leaf first; absent when only the fingerprint is known. */
  readonly chain?: readonly Uint8Array[];
}

/** What is pinned for one USERID. */
export interface PinRecord {
  /** Accepted leaves, in the order they were accepted. */
  readonly accepted: readonly PinnedLeaf[];
  /** Rejected fingerprints. */
  readonly rejected: readonly string[];
}

/**
 * Where pins live. Every method may be backed by a file: `accept` and `reject` must be
 * durable when they resolve. Accepting a fingerprint removes it from the rejected ones and
 * the other way round; accepting one already accepted replaces its chain when a chain is
 * given (so a leaf pinned by fingerprint alone gains its chain once `CERT` returns it).
 */
export interface PinStore {
  /** The pins for `userId` (empty lists when there are none). */
  get(userId: string): Promise<PinRecord>;
  /** Accepts the leaf `fingerprint` for `userId`, with its chain when known. */
  accept(userId: string, fingerprint: string, chain?: readonly Uint8Array[]): Promise<void>;
  /** Rejects the leaf `fingerprint` for `userId`. */
  reject(userId: string, fingerprint: string): Promise<void>;
}

/**
 * How pinning judges the leaf `fingerprint` of a user (receiving step 5, and sending step 1):
 * `rejected`, `accepted`, `first_use` (nothing accepted or rejected for the user yet: accept
 * it and go on) or `pending` (another leaf is accepted: the person must decide).
 *
 * @example
 * ```ts
 * import { pinVerdict } from "./pins.ts";
 * console.log(pinVerdict({ accepted: [], rejected: [] }, "x")); // "first_use"
 * console.log(pinVerdict({ accepted: [{ fingerprint: "y" }], rejected: [] }, "x")); // "pending"
 * ```
 */
export function pinVerdict(
  record: PinRecord,
  fingerprint: string,
): "accepted" | "rejected" | "first_use" | "pending" {
  if (record.rejected.includes(fingerprint)) return "rejected";
  if (record.accepted.some((leaf) => leaf.fingerprint === fingerprint)) return "accepted";
  if (record.accepted.length === 0 && record.rejected.length === 0) return "first_use";
  return "pending";
}

/**
 * An in-memory PinStore (nothing survives the process). Chains are copied in and out.
 *
 * @example
 * ```ts
 * import { MemoryPinStore } from "./pins.ts";
 * const pins = new MemoryPinStore();
 * await pins.accept("alice", "s0wXRvsFkCzP+i15MrzgmiVMdLN+7PRVIIbFfzMz2Pc=");
 * console.log((await pins.get("alice")).accepted.length); // 1
 * ```
 */
export class MemoryPinStore implements PinStore {
  readonly #users = new Map<string, { accepted: PinnedLeaf[]; rejected: string[] }>();

  #entry(userId: string) {
    let entry = this.#users.get(userId);
    if (!entry) {
      entry = { accepted: [], rejected: [] };
      this.#users.set(userId, entry);
    }
    return entry;
  }

  /** The pins for `userId`. */
  get(userId: string): Promise<PinRecord> {
    const entry = this.#users.get(userId);
    return Promise.resolve({
      accepted: (entry?.accepted ?? []).map(copyLeaf),
      rejected: [...(entry?.rejected ?? [])],
    });
  }

  /** Accepts `fingerprint` for `userId` (removing it from the rejected ones). */
  accept(userId: string, fingerprint: string, chain?: readonly Uint8Array[]): Promise<void> {
    const entry = this.#entry(userId);
    entry.rejected = entry.rejected.filter((fp) => fp !== fingerprint);
    const leaf = copyLeaf(chain ? { fingerprint, chain } : { fingerprint });
    const at = entry.accepted.findIndex((l) => l.fingerprint === fingerprint);
    if (at < 0) entry.accepted.push(leaf);
    else if (chain) entry.accepted[at] = leaf;
    return Promise.resolve();
  }

  /** Rejects `fingerprint` for `userId` (removing it from the accepted ones). */
  reject(userId: string, fingerprint: string): Promise<void> {
    const entry = this.#entry(userId);
    entry.accepted = entry.accepted.filter((l) => l.fingerprint !== fingerprint);
    if (!entry.rejected.includes(fingerprint)) entry.rejected.push(fingerprint);
    return Promise.resolve();
  }
}

function copyLeaf(leaf: PinnedLeaf): PinnedLeaf {
  return leaf.chain
    ? { fingerprint: leaf.fingerprint, chain: leaf.chain.map((der) => der.slice()) }
    : { fingerprint: leaf.fingerprint };
}
