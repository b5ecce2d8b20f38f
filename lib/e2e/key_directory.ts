// The key directory of ASL-E2E/1 (ASL spec section 7, "Sending" step 1, and "Pinning"): for
// each recipient, a chain from `CERT` (cached for a while), validated as a server validates a
// client's chain (purpose client, the client's own CA file and CRL, leaf CN = the USERID
// asked), then judged by pinning: sealing goes only to a certificate the person accepted (the
// first one on first use). A changed certificate stops sealing to that user until the person
// accepts it (`trust`), and the refusal names both fingerprints. Pure: CERT, the trust store,
// the validator and the pin store are injected.

import { sha256FingerprintBase64 } from "../pki/fingerprint.ts";
import { PkiError } from "../pki/errors.ts";
import type { TrustStore } from "../pki/types.ts";
import { validateChain } from "../pki/validate.ts";
import { type ChainValidator, importLeafKeys } from "../pki/validation_cache.ts";
import type { CertAnswer } from "./open.ts";
import { KeyDirectoryError } from "./errors.ts";
import { type PinStore, pinVerdict } from "./pins.ts";

/** How long a recipient's checked certificate is reused before `CERT` is asked again. */
export const KEY_CACHE_MS = 10 * 60 * 1000;

/** A recipient ready for sealing. */
export interface RecipientKey {
  readonly userId: string;
  /** RSA-OAEP SHA-256 public key of the accepted leaf (usage `encrypt`). */
  readonly key: CryptoKey;
  /** b64(SHA-256(leaf DER)), the section 7 fingerprint. */
  readonly fingerprint: string;
  /** The chain, DER, leaf first. */
  readonly chain: readonly Uint8Array[];
}

export { KeyDirectoryError } from "./errors.ts";
export type { KeyDirectoryCode } from "./errors.ts";

/** What a KeyDirectory needs. */
export interface KeyDirectoryOptions {
  /** Asks the server `CERT <userId>`; a throw counts as `unreachable`. */
  readonly certLookup: (userId: string) => Promise<CertAnswer>;
  /** The client's CA file and CRL. */
  readonly trust: TrustStore;
  /** Chain validator; default `validateChain`. */
  readonly validate?: ChainValidator;
  readonly pins: PinStore;
  /** Clock, ms since 1970; default `Date.now`. */
  readonly now?: () => number;
  /** Cache lifetime, ms; default KEY_CACHE_MS. */
  readonly cacheMs?: number;
}

interface Checked {
  readonly userId: string;
  readonly chain: readonly Uint8Array[];
  readonly fingerprint: string;
  readonly key: CryptoKey;
  readonly until: number;
}

/**
 * Recipients' keys for sealing, each checked and pinned (section 7, "Sending" step 1).
 *
 * @example
 * ```ts ignore
 * const dir = new KeyDirectory({ certLookup, trust, pins });
 * const [bob] = await dir.recipients(["bob"]); // throws KeyDirectoryError("pin_pending") etc.
 * ```
 */
export class KeyDirectory {
  readonly #opts: KeyDirectoryOptions;
  readonly #cache = new Map<string, Checked>();

  constructor(options: KeyDirectoryOptions) {
    this.#opts = options;
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  /**
   * The current certificate of `userId` as `CERT` gives it, validated, with its fingerprint
   * (cached); pinning is not applied here.
   */
  async current(userId: string): Promise<RecipientKey> {
    const hit = this.#cache.get(userId);
    if (hit && hit.until > this.#now()) return hit;
    let answer: CertAnswer;
    try {
      answer = await this.#opts.certLookup(userId);
    } catch (err) {
      throw new KeyDirectoryError(
        "unreachable",
        userId,
        `no connection to ask for ${userId}'s certificate`,
        {},
        { cause: err },
      );
    }
    if ("unreachable" in answer) {
      throw new KeyDirectoryError(
        "unreachable",
        userId,
        `no connection to ask for ${userId}'s certificate (${answer.unreachable})`,
      );
    }
    if ("failed" in answer) {
      throw new KeyDirectoryError(
        "cert_failed",
        userId,
        `the server has no certificate for ${userId} (${answer.failed})`,
        { reason: answer.failed },
      );
    }
    const chain = answer.chain;
    let spki: Uint8Array;
    try {
      const peer = await (this.#opts.validate ?? validateChain)(chain, this.#opts.trust, {
        purpose: "client",
        at: new Date(this.#now()),
      });
      if (peer.identity !== userId) {
        throw new PkiError(
          "BAD_CERTIFICATE",
          `the certificate names ${peer.identity}, not ${userId}`,
        );
      }
      spki = peer.leafSpki;
    } catch (err) {
      const reason = err instanceof PkiError ? err.code : "BAD_CERTIFICATE";
      throw new KeyDirectoryError(
        "certificate",
        userId,
        `${userId}'s certificate is not valid here (${reason})`,
        { reason },
        { cause: err },
      );
    }
    const fingerprint = await sha256FingerprintBase64(chain[0]!);
    const key = (await importLeafKeys(spki)).encrypt;
    const checked = {
      userId,
      chain,
      fingerprint,
      key,
      until: this.#now() + (this.#opts.cacheMs ?? KEY_CACHE_MS),
    };
    this.#cache.set(userId, checked);
    return checked;
  }

  /**
   * A recipient's key if pinning allows sealing to it: accepted, or accepted now on first
   * use; else `pin_pending` (both fingerprints in the error) or `pin_rejected`.
   */
  async recipient(userId: string): Promise<RecipientKey> {
    const checked = await this.current(userId);
    const record = await this.#opts.pins.get(userId);
    const verdict = pinVerdict(record, checked.fingerprint);
    const accepted = record.accepted.map((leaf) => leaf.fingerprint);
    if (verdict === "rejected") {
      throw new KeyDirectoryError(
        "pin_rejected",
        userId,
        `${userId}'s certificate ${checked.fingerprint} was rejected`,
        { fingerprint: checked.fingerprint, accepted },
      );
    }
    if (verdict === "pending") {
      throw new KeyDirectoryError(
        "pin_pending",
        userId,
        `${userId}'s certificate changed: accepted ${
          accepted.join(", ")
        }, now ${checked.fingerprint}; ` +
          `compare it with ${userId} and accept it to go on`,
        { fingerprint: checked.fingerprint, accepted },
      );
    }
    if (verdict === "first_use") {
      await this.#opts.pins.accept(userId, checked.fingerprint, checked.chain);
    }
    return { userId, key: checked.key, fingerprint: checked.fingerprint, chain: checked.chain };
  }

  /** Every recipient's key, in order; the first that cannot be sealed to throws. */
  async recipients(userIds: readonly string[]): Promise<RecipientKey[]> {
    const out: RecipientKey[] = [];
    for (const id of userIds) out.push(await this.recipient(id));
    return out;
  }

  /**
   * Accepts `userId`'s current certificate (the person compared the fingerprints): it is
   * pinned with its chain; returns its fingerprint.
   */
  async trust(userId: string): Promise<string> {
    this.#cache.delete(userId);
    const checked = await this.current(userId);
    await this.#opts.pins.accept(userId, checked.fingerprint, checked.chain);
    return checked.fingerprint;
  }

  /** Rejects `userId`'s current certificate; returns its fingerprint. */
  async reject(userId: string): Promise<string> {
    this.#cache.delete(userId);
    const checked = await this.current(userId);
    await this.#opts.pins.reject(userId, checked.fingerprint);
    return checked.fingerprint;
  }

  /** Forgets cached certificates (all, or one user's): the next use asks `CERT` again. */
  forget(userId?: string): void {
    if (userId === undefined) this.#cache.clear();
    else this.#cache.delete(userId);
  }
}
