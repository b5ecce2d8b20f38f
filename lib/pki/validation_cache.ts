// A bounded cache of successful chain validations (ASL spec section 4) for the handshake
// hot path: a chain seen before (same DER bytes, same TrustStore object, same purpose and
// host) is not parsed or signature-checked again. Imported leaf keys are kept only for the
// most recently used entries (a CryptoKey pair is most of an entry's memory, and a server
// holds an entry per connected user); an older entry's key is imported again on its next hit.
// What can change is re-checked on every use: the validity dates of every certificate of
// the path (trust anchor included) against "now", and the TrustStore's CRL and anchor lists
// must hold the very same objects as when the entry was made (a CRL added, removed or
// replaced, or a new TrustStore, means full validation, so revocation is seen). Anything
// outside that — and every failure — goes through the full validator, so codes and check
// order are exactly those of validateChain. Wraps validate.ts; does not change it.

import { bytesEqual } from "../bytes.ts";
import "reflect-metadata";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate } from "@peculiar/asn1-x509";
import { PkiError } from "./errors.ts";
import type { TrustStore, ValidatedPeer, ValidateOptions } from "./types.ts";
import { validateChain } from "./validate.ts";

/** A chain validator with the signature of `validateChain`. */
export type ChainValidator = (
  chain: readonly Uint8Array[],
  trust: TrustStore,
  opts: ValidateOptions,
) => Promise<ValidatedPeer>;

/** The leaf's RSA public key imported for the ASL handshake (SHA-256, non-extractable). */
export interface LeafKeys {
  /** RSA-OAEP SHA-256, `encrypt`. */
  readonly encrypt: CryptoKey;
  /** RSA-PSS SHA-256, `verify`. */
  readonly verify: CryptoKey;
}

/** A validated peer with its imported leaf key. */
export interface CachedValidation {
  /** What `validateChain` returned (shared between hits: treat as read-only). */
  readonly peer: ValidatedPeer;
  /** The leaf key (imported again for an entry not among the most recently used). */
  readonly keys: LeafKeys;
}

/** Options of a ValidationCache. */
export interface ValidationCacheOptions {
  /** Most entries kept (least recently used evicted first); default 10 000. */
  readonly limit?: number;
  /**
   * Most bytes kept, estimated as the DER bytes plus a fixed overhead per entry (least
   * recently used evicted first); default 8 MiB (about 2 300 one-certificate RSA-2048 chains).
   */
  readonly maxBytes?: number;
  /** The full validator used on a miss; default `validateChain`. */
  readonly validate?: ChainValidator;
}

/** Default bound of a ValidationCache. */
export const DEFAULT_VALIDATION_CACHE_LIMIT = 10_000;
/** Default byte bound of a ValidationCache. */
export const DEFAULT_VALIDATION_CACHE_BYTES = 8 << 20;
/** Most recently used entries whose imported leaf keys are kept. */
export const KEYED_ENTRIES = 64;
/**
 * What an entry holds besides its DER bytes (measured with heap snapshots): the entry and
 * peer objects, the peer's strings and Date, the Map key. Imported keys are not counted:
 * only KEYED_ENTRIES entries hold them (about 2.5 KiB each).
 */
const ENTRY_OVERHEAD_BYTES = 1_024;

interface Entry {
  readonly chain: readonly Uint8Array[];
  /** The TrustStore's lists as they were (element references) when the chain validated. */
  readonly anchors: readonly Uint8Array[];
  readonly crls: readonly Uint8Array[];
  /** The path's common validity window: latest notBefore, earliest notAfter (ms). */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly peer: ValidatedPeer;
  /** Estimated bytes held (see `ENTRY_OVERHEAD_BYTES`). */
  readonly bytes: number;
}

/** Imports an SPKI as the ASL leaf key (OAEP encrypt and PSS verify, SHA-256). */
export async function importLeafKeys(spki: Uint8Array): Promise<LeafKeys> {
  const der = new Uint8Array(spki);
  try {
    const [encrypt, verify] = await Promise.all([
      crypto.subtle.importKey("spki", der, { name: "RSA-OAEP", hash: "SHA-256" }, false, [
        "encrypt",
      ]),
      crypto.subtle.importKey("spki", der, { name: "RSA-PSS", hash: "SHA-256" }, false, [
        "verify",
      ]),
    ]);
    return { encrypt, verify };
  } catch (err) {
    throw new PkiError("BAD_CERTIFICATE", "the leaf key is not a usable RSA key", { cause: err });
  }
}

function sameChain(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.length === b.length && a.every((der, i) => bytesEqual(der, b[i]!));
}

/** Same list of the same objects (a CRL or anchor added, removed or replaced shows). */
function sameRefs(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

interface CertDates {
  readonly subject: Uint8Array;
  readonly issuer: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
}

function datesOf(der: Uint8Array): CertDates {
  const tbs = AsnConvert.parse(der, Certificate).tbsCertificate;
  return {
    subject: new Uint8Array(AsnConvert.serialize(tbs.subject)),
    issuer: new Uint8Array(AsnConvert.serialize(tbs.issuer)),
    notBefore: tbs.validity.notBefore.getTime().getTime(),
    notAfter: tbs.validity.notAfter.getTime().getTime(),
  };
}

/**
 * The validity window shared by every certificate that may be on the path: the sent chain
 * and every trust anchor whose subject is the issuer of the chain's last certificate (a
 * superset of the anchor validateChain used, so the window is never too wide).
 */
function pathWindow(chain: readonly Uint8Array[], trust: TrustStore): [number, number] {
  const sent = chain.map(datesOf);
  const top = sent[sent.length - 1]!;
  const all = [...sent];
  for (const der of trust.anchors) {
    try {
      const anchor = datesOf(der);
      if (bytesEqual(anchor.subject, top.issuer)) all.push(anchor);
    } catch {
      // validateChain ignores an unreadable anchor too.
    }
  }
  let notBefore = -Infinity;
  let notAfter = Infinity;
  for (const c of all) {
    notBefore = Math.max(notBefore, c.notBefore);
    notAfter = Math.min(notAfter, c.notAfter);
  }
  return [notBefore, notAfter];
}

/**
 * Caches successful validations keyed by the exact chain DER bytes, the TrustStore object
 * (by identity), the purpose and the host. A hit costs a byte comparison of the chain;
 * dates are re-checked against `opts.at ?? now` on every use, and a changed CRL
 * or anchor list (or a new TrustStore) means full validation. Failures are never cached.
 *
 * @example
 * ```ts ignore
 * import { ValidationCache } from "./validation_cache.ts";
 * const cache = new ValidationCache({ limit: 1000 });
 * const { peer, keys } = await cache.validate(chainDer, trust, { purpose: "client" });
 * console.log(peer.identity, keys.verify.algorithm.name); // "alice" "RSA-PSS"
 * ```
 */
export class ValidationCache {
  /** Most entries kept. */
  readonly limit: number;
  /** Most estimated bytes kept. */
  readonly maxBytes: number;
  #bytes = 0;
  #validate: ChainValidator;
  #entries = new Map<string, Entry>();
  /** Results with their imported keys, for the KEYED_ENTRIES most recently used entries. */
  #keyed = new Map<string, CachedValidation>();
  #pending = new Map<
    string,
    { readonly chain: readonly Uint8Array[]; readonly work: Promise<CachedValidation> }
  >();
  #storeIds = new WeakMap<TrustStore, number>();
  #nextStoreId = 0;
  #hits = 0;
  #misses = 0;
  /** The last snapshot of a TrustStore's lists, shared by every entry made while it holds. */
  #anchors: readonly Uint8Array[] = [];
  #crls: readonly Uint8Array[] = [];

  /** Creates an empty cache; throws `RangeError` for a limit below 1. */
  constructor(options: ValidationCacheOptions = {}) {
    this.limit = options.limit ?? DEFAULT_VALIDATION_CACHE_LIMIT;
    if (!(this.limit >= 1)) throw new RangeError("ValidationCache: limit must be at least 1");
    this.maxBytes = options.maxBytes ?? DEFAULT_VALIDATION_CACHE_BYTES;
    if (!(this.maxBytes >= 0)) throw new RangeError("ValidationCache: maxBytes must be >= 0");
    this.#validate = options.validate ?? validateChain;
  }

  /** Entries currently held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Hits and misses since creation (a miss is a full validation). */
  get stats(): { readonly hits: number; readonly misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  /** Estimated bytes the entries hold. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Forgets every entry. */
  clear(): void {
    this.#entries.clear();
    this.#keyed.clear();
    this.#bytes = 0;
  }

  #remove(key: string): void {
    const old = this.#entries.get(key);
    if (old === undefined) return;
    this.#entries.delete(key);
    this.#keyed.delete(key);
    this.#bytes -= old.bytes;
  }

  /**
   * The Map key. It only picks the slot: a hit still compares the whole chain byte for byte.
   * Each certificate is named by its length and its last 16 bytes (inside its signature, set
   * by the issuing CA), which is cheaper than hashing the DER on every handshake.
   */
  #key(chain: readonly Uint8Array[], trust: TrustStore, opts: ValidateOptions): string {
    let id = this.#storeIds.get(trust);
    if (id === undefined) {
      id = this.#nextStoreId++;
      this.#storeIds.set(trust, id);
    }
    let key = `${id}|${opts.purpose}|${opts.host ?? ""}`;
    for (const der of chain) key += `|${der.length}:${der.subarray(-16).toHex()}`;
    return key;
  }

  /**
   * Validates `chain` like `validateChain` (same result, same `PkiError` codes) and returns
   * the peer with its imported leaf key, from the cache when the entry still holds.
   */
  validate(
    chain: readonly Uint8Array[],
    trust: TrustStore,
    opts: ValidateOptions,
  ): Promise<CachedValidation> {
    const now = (opts.at ?? new Date()).getTime();
    const key = this.#key(chain, trust, opts);
    const entry = this.#entries.get(key);
    if (
      entry && now >= entry.notBefore && now <= entry.notAfter &&
      sameRefs(entry.crls, trust.crls) && sameRefs(entry.anchors, trust.anchors) &&
      sameChain(entry.chain, chain)
    ) {
      this.#entries.delete(key); // refresh its place in the LRU order
      this.#entries.set(key, entry);
      this.#hits++;
      const keyed = this.#keyed.get(key);
      if (keyed !== undefined && keyed.peer === entry.peer) {
        this.#keyed.delete(key);
        this.#keyed.set(key, keyed);
        return Promise.resolve(keyed);
      }
      return this.#withKeys(key, entry.peer);
    }
    // Concurrent first sight of one chain: validate once. Callers that validate at "now"
    // share (their "now"s differ by scheduling only); an explicit `at` shares only that instant.
    // The key names a chain only by lengths and tails, so a caller joins a running
    // validation only when every byte of its chain is the same; any other chain with the same
    // key is validated on its own (and does not disturb the running one).
    const pendingKey = opts.at === undefined ? key : `${key}|${now}`;
    const pending = this.#pending.get(pendingKey);
    if (pending && sameChain(pending.chain, chain)) return pending.work;
    this.#misses++;
    const copy = chain.map((der) => der.slice());
    const work = this.#miss(key, chain, trust, opts).finally(() => {
      if (this.#pending.get(pendingKey)?.work === work) this.#pending.delete(pendingKey);
    });
    if (!pending) this.#pending.set(pendingKey, { chain: copy, work });
    return work;
  }

  async #miss(
    key: string,
    chain: readonly Uint8Array[],
    trust: TrustStore,
    opts: ValidateOptions,
  ): Promise<CachedValidation> {
    const peer = Object.freeze(await this.#validate(chain, trust, opts));
    const keys = await importLeafKeys(peer.leafSpki);
    const result: CachedValidation = Object.freeze({ peer, keys });
    let window: [number, number];
    try {
      window = pathWindow(chain, trust);
    } catch {
      return result; // valid, but not cacheable (cannot happen for a chain that validated)
    }
    this.#remove(key); // (re)insert as the most recent
    // The chain's bytes are already held (as the peer's chain): not copied a second time.
    if (!sameRefs(this.#anchors, trust.anchors)) this.#anchors = trust.anchors.slice();
    if (!sameRefs(this.#crls, trust.crls)) this.#crls = trust.crls.slice();
    const kept = sameChain(peer.chain, chain) ? peer.chain : chain.map((der) => der.slice());
    let bytes = ENTRY_OVERHEAD_BYTES + key.length + peer.leafSpki.length;
    for (const der of kept) bytes += der.length;
    this.#bytes += bytes;
    this.#entries.set(key, {
      chain: kept,
      bytes,
      anchors: this.#anchors,
      crls: this.#crls,
      notBefore: window[0],
      notAfter: window[1],
      peer,
    });
    this.#keep(key, result);
    // The newest entry always stays (a single chain larger than the bound is still cached).
    while (
      this.#entries.size > 1 && (this.#entries.size > this.limit || this.#bytes > this.maxBytes)
    ) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#remove(oldest);
    }
    return result;
  }

  /** Imports the leaf key of a cached peer again (its entry was not among the recent ones). */
  async #withKeys(key: string, peer: ValidatedPeer): Promise<CachedValidation> {
    const result: CachedValidation = Object.freeze({
      peer,
      keys: await importLeafKeys(peer.leafSpki),
    });
    if (this.#entries.get(key)?.peer === peer) this.#keep(key, result);
    return result;
  }

  /** Keeps `result` (with its keys) as the most recent keyed entry; drops the oldest past the bound. */
  #keep(key: string, result: CachedValidation): void {
    this.#keyed.delete(key);
    this.#keyed.set(key, result);
    if (this.#keyed.size > KEYED_ENTRIES) {
      const oldest = this.#keyed.keys().next().value;
      if (oldest !== undefined) this.#keyed.delete(oldest);
    }
  }
}
