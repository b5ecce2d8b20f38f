// Revocation on a running server (ASL spec section 4, "a revoked certificate fails with
// CERT_REVOKED"): client chains are validated against the trust store of the moment (a
// TrustSource whose CRL may change), a handshake is refused with INTERNAL_ERROR while the
// revocation data is unusable (fail closed), and each validated peer's chain is remembered
// so that, when the CRL changes, the open sessions whose leaf or intermediates are now
// revoked can be found and closed (`closeRevoked`; serve.ts calls it when the CRL changes).

import { AslError } from "../asl/errors.ts";
import type { SecureSession } from "../asl/mod.ts";
import type { Logger } from "../log.ts";
import { parseCertificate } from "../pki/certificate.ts";
import { parseCrl } from "../pki/crl.ts";
import type { TrustSource } from "../pki/crl_watch.ts";
import { PkiError } from "../pki/errors.ts";
import type { TrustStore, ValidatedPeer, ValidateOptions } from "../pki/types.ts";
import { validateChain } from "../pki/validate.ts";
import {
  type CachedValidation,
  ValidationCache,
  type ValidationCacheOptions,
} from "../pki/validation_cache.ts";
import type { ClientSession } from "./session.ts";

/** A trust source that never changes (a server given a fixed TrustStore). */
export function fixedTrust(trust: TrustStore): TrustSource {
  return { current: () => trust, problem: undefined, onChange: () => () => {} };
}

interface PeerRecord {
  /** The trust store the peer was validated with. */
  readonly trust: TrustStore;
  /** The sent chain after the leaf (the leaf is the peer's `leafDer`). */
  readonly rest: readonly Uint8Array[];
  /** Serial numbers (hex) of the sent certificates, for a cheap first screen. */
  readonly serials: readonly string[];
}

/**
 * The server's chain validator: a ValidationCache (so the handshake uses it as one) that
 * ignores the trust store it is handed and validates with `source.current()`, failing with
 * `AslError("INTERNAL_ERROR")` while there is none.
 *
 * @example
 * ```ts ignore
 * const validator = new ClientValidator(watcher);
 * const session = await accept(conn, { credentials, trust }, { validate: validator });
 * ```
 */
export class ClientValidator extends ValidationCache {
  readonly #source: TrustSource;
  #records = new WeakMap<ValidatedPeer, PeerRecord>();
  #revokedSerials = new WeakMap<TrustStore, ReadonlySet<string>>();

  constructor(source: TrustSource, options: ValidationCacheOptions = {}) {
    super(options);
    this.#source = source;
  }

  override validate(
    chain: readonly Uint8Array[],
    _trust: TrustStore,
    opts: ValidateOptions,
  ): Promise<CachedValidation> {
    const trust = this.#source.current();
    if (trust === undefined) {
      return Promise.reject(
        new AslError(
          "INTERNAL_ERROR",
          `revocation data unavailable: ${this.#source.problem ?? "no CRL"}`,
        ),
      );
    }
    return super.validate(chain, trust, opts).then((result) => {
      if (!this.#records.has(result.peer)) {
        this.#records.set(result.peer, {
          trust,
          rest: chain.slice(1).map((der) => der.slice()),
          serials: chain.map((der) => parseCertificate(der).serialHex),
        });
      }
      return result;
    });
  }

  /** Whether `trust` is the source's current trust store. */
  isCurrent(trust: TrustStore): boolean {
    return this.#source.current() === trust;
  }

  /** The trust store `peer` was validated with here, if it was. */
  validatedWith(peer: ValidatedPeer): TrustStore | undefined {
    return this.#records.get(peer)?.trust;
  }

  /**
   * At the end of a handshake: undefined when `peer`'s chain still stands under the source's
   * current trust store (the CRL may have changed since M3 was validated), else the code it
   * now fails with.
   */
  recheck(peer: ValidatedPeer): Promise<string | undefined> {
    const trust = this.#source.current();
    if (trust === undefined || this.validatedWith(peer) === trust) {
      return Promise.resolve(undefined);
    }
    return this.revoked(peer, trust);
  }

  /**
   * Undefined when `peer`'s chain (validated here) still stands under `trust`, else the code
   * it now fails with (`CERT_REVOKED`, or an earlier fault in the spec's order). Only a
   * chain one of whose serial numbers a CRL of `trust` lists is validated again.
   */
  async revoked(peer: ValidatedPeer, trust: TrustStore): Promise<string | undefined> {
    const record = this.#records.get(peer);
    if (record === undefined || trust.crls.length === 0) return undefined;
    const listed = this.#serialsOf(trust);
    if (!record.serials.some((s) => listed.has(s))) return undefined;
    try {
      await validateChain([peer.leafDer, ...record.rest], trust, { purpose: "client" });
      return undefined;
    } catch (err) {
      return err instanceof PkiError ? err.code : "INTERNAL_ERROR";
    }
  }

  #serialsOf(trust: TrustStore): ReadonlySet<string> {
    let set = this.#revokedSerials.get(trust);
    if (set === undefined) {
      const all = new Set<string>();
      for (const der of trust.crls) {
        try {
          for (const s of parseCrl(der).revoked) all.add(s);
        } catch {
          // an unreadable CRL revokes nothing (the watcher refuses them)
        }
      }
      set = all;
      this.#revokedSerials.set(trust, set);
    }
    return set;
  }
}

/**
 * Closes the open sessions whose chain `trust` (a new CRL) revokes, logging each; stops
 * closing once `trust` is no longer the validator's source's current store. Never rejects.
 */
export async function closeRevoked(
  sessions: ReadonlyMap<SecureSession, ClientSession>,
  validator: ClientValidator,
  trust: TrustStore,
  log: Logger,
): Promise<void> {
  try {
    for (const [session, client] of [...sessions]) {
      const code = await validator.revoked(session.peer, trust);
      if (code === undefined || !validator.isCurrent(trust)) continue;
      log.warn("session_revoked", {
        conn: client.connId,
        cn: session.peer.identity,
        user: client.userId,
        code,
      });
      void session.close();
    }
  } catch (err) {
    log.error("revocation_check_failed", { error: (err as Error).message });
  }
}
