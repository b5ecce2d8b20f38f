// The library client's end-to-end layer (ASL spec section 7, ASL-E2E/1): seals what it
// sends (recipients' keys from the KeyDirectory, the sender's own certificate for its own
// copy, `sealSplit` for groups that do not fit one MESSAGE), keeps the pins and key
// directory of each server, answers trust / reject / whois, and hands what it receives to
// the receive side (e2e_receive.ts: opening, outcomes → inbox). Pins live per identity and
// server (`<state>/pins/…`, e2e_files.ts), in memory when the client has no state directory.

import { CHAT_TYPE } from "../e2e/header.ts";
import { type SealRecipient, sealSplit } from "../e2e/seal.ts";
import { E2eError } from "../e2e/errors.ts";
import { KeyDirectory, KeyDirectoryError, type RecipientKey } from "../e2e/key_directory.ts";
import type { CertAnswer } from "../e2e/open.ts";
import { MemoryPinStore, type PinStore, pinVerdict } from "../e2e/pins.ts";
import { parseCertificate } from "../pki/certificate.ts";
import { sha256Fingerprint, sha256FingerprintBase64 } from "../pki/fingerprint.ts";
import { type ChainValidator, importLeafKeys, ValidationCache } from "../pki/validation_cache.ts";
import { FilePinStore, pinDirectory } from "./e2e_files.ts";
import { type E2eReceiveOptions, E2eReceiver } from "./e2e_receive.ts";
import { ClientError } from "./errors.ts";
import type { Opened } from "./held.ts";
import type { Delivery } from "./replies.ts";
import type { SeenServer } from "./seen.ts";
import type { PinStatus, WhoisResult } from "./types.ts";

/** One MESSAGE of a sealed send: its MESSAGEID (= H.id), recipients and payload. */
export interface SealedPart {
  readonly id: string;
  readonly to: readonly string[];
  readonly payload: string;
}

/** What the end-to-end layer needs from its client (the receive side's needs, and more). */
export interface ClientE2eOptions extends E2eReceiveOptions {
  /** `CERT` for sealing: may wait for the connection. */
  readonly sendLookup: (userId: string) => Promise<CertAnswer>;
  /** Clock, ms since 1970; default `Date.now`. */
  readonly now?: () => number;
}

/** Own fingerprints: section 7 base64 form and the hex form of `/who am i`.
 *
 * @example
 * ```ts
 * import type { OwnFingerprint } from "@netsec/msg";
 * const show = (fp: OwnFingerprint) => `tell your contacts: ${fp.base64}`;
 * ```
 */
export interface OwnFingerprint {
  /** Section 7 form: canonical base64 of SHA-256 of the leaf DER (44 characters). */
  readonly base64: string;
  /** The same SHA-256 as lowercase hex pairs joined by colons (`ab:cd:…`). */
  readonly hex: string;
}

interface ServerState {
  readonly pins: PinStore;
  readonly directory: KeyDirectory;
}

/** The client's sealing and opening, over one identity and (per server) its pins. */
export class ClientE2e {
  readonly #opts: ClientE2eOptions;
  readonly #validator: ChainValidator;
  /** The receive side: opening and what each outcome becomes (e2e_receive.ts). */
  readonly #receiver: E2eReceiver;
  readonly #servers = new Map<string, ServerState>();
  #current: ServerState | undefined;
  #self: Promise<{ fp: string; hex: string; key: SealRecipient }> | undefined;

  constructor(options: ClientE2eOptions) {
    this.#opts = options;
    const cache = new ValidationCache({ limit: 1_000 });
    this.#validator = async (chain, trust, opts) => (await cache.validate(chain, trust, opts)).peer;
    this.#receiver = new E2eReceiver(options, this.#validator, () => this.#now());
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  #ownLeaf(): Uint8Array {
    const leaf = this.#opts.credentials.chain[0];
    if (!leaf) throw new ClientError("NO_CERTIFICATE", "own credentials have no certificate");
    return leaf;
  }

  /** Own leaf: its fingerprints and its key as a recipient (for copies to oneself). */
  #selfInfo(): Promise<{ fp: string; hex: string; key: SealRecipient }> {
    this.#self ??= (async () => {
      const leaf = this.#ownLeaf();
      const keys = await importLeafKeys(parseCertificate(leaf).spki);
      return {
        fp: await sha256FingerprintBase64(leaf),
        hex: await sha256Fingerprint(leaf),
        key: { userId: this.#opts.user, key: keys.encrypt },
      };
    })();
    return this.#self;
  }

  /** Own certificate's fingerprint, section 7 base64 form and hex. */
  async fingerprint(): Promise<OwnFingerprint> {
    const self = await this.#selfInfo();
    return { base64: self.fp, hex: self.hex };
  }

  /**
   * Switches to the pins of `server` (after each handshake); the own current leaf is
   * accepted for oneself there, so one's own sealed copies open.
   */
  async useServer(server: SeenServer): Promise<void> {
    const key = `${server.address}\n${server.fingerprint}`;
    let state = this.#servers.get(key);
    if (!state) {
      const pins: PinStore = this.#opts.stateDir === undefined
        ? new MemoryPinStore()
        : new FilePinStore(pinDirectory(this.#opts.stateDir, this.#opts.user, server));
      const directory = new KeyDirectory({
        certLookup: this.#opts.sendLookup,
        trust: this.#opts.trust,
        validate: this.#validator,
        pins,
        now: () => this.#now(),
      });
      state = { pins, directory };
      this.#servers.set(key, state);
    }
    this.#current = state;
    const self = await this.#selfInfo();
    const record = await state.pins.get(this.#opts.user);
    if (!record.accepted.some((leaf) => leaf.fingerprint === self.fp)) {
      await state.pins.accept(this.#opts.user, self.fp, this.#opts.credentials.chain);
    }
  }

  #state(): ServerState {
    if (!this.#current) throw new ClientError("CLOSED", "not connected to a server yet");
    return this.#current;
  }

  /**
   * Seals `plaintext` to `to` (distinct USERIDs): one MESSAGE, or several for a group that
   * does not fit one (each with its own random MESSAGEID). Throws ClientError: `PIN_PENDING`
   * / `PIN_REJECTED` (both fingerprints in the message), the server's `CERT` reason
   * (`UNKNOWN_USER`, `NO_CERTIFICATE`), a certificate code, `TOO_LARGE`, `CLOSED`.
   */
  async seal(
    to: readonly string[],
    plaintext: Uint8Array,
    type: string = CHAT_TYPE,
  ): Promise<SealedPart[]> {
    const self = await this.#selfInfo();
    const recipients: SealRecipient[] = [];
    for (const userId of to) {
      if (userId === this.#opts.user) {
        recipients.push(self.key);
        continue;
      }
      let found: RecipientKey;
      try {
        found = await this.#state().directory.recipient(userId);
      } catch (err) {
        throw keyError(err);
      }
      recipients.push({ userId, key: found.key });
    }
    try {
      const parts = await sealSplit({
        sender: {
          userId: this.#opts.user,
          leafDer: this.#ownLeaf(),
          signKey: this.#opts.credentials.signKey,
        },
        recipients,
        plaintext,
        type,
      }, { ts: this.#now() });
      return parts.map((p) => ({ id: p.header.id, to: p.header.to, payload: p.payload }));
    } catch (err) {
      if (err instanceof E2eError && err.code === "too_large") {
        throw new ClientError(
          "TOO_LARGE",
          `${err.message} of 11111 characters (a sealed message holds at most about 8 000 bytes)`,
          {
            cause: err,
          },
        );
      }
      throw err;
    }
  }

  /** What to do with a delivery (section 7 "Receiving"), as the inbox understands it. */
  async open(delivery: Delivery, receivedAt: Date): Promise<Opened> {
    const state = this.#state();
    return await this.#receiver.open(delivery, receivedAt, state.pins, state.directory);
  }

  /**
   * Accepts `userId`'s current certificate (as `CERT` gives it, validated): returns its
   * fingerprint and the ones accepted before.
   */
  async trust(userId: string): Promise<WhoisResult> {
    const state = this.#state();
    const before = (await state.pins.get(userId)).accepted.map((l) => l.fingerprint);
    try {
      await state.directory.trust(userId);
    } catch (err) {
      throw keyError(err);
    }
    this.#receiver.forgetAnnounced(userId);
    return { ...(await this.whois(userId)), previous: before };
  }

  /** Rejects `userId`'s current certificate; returns its fingerprint and pin status. */
  async reject(userId: string): Promise<WhoisResult> {
    const state = this.#state();
    try {
      await state.directory.reject(userId);
    } catch (err) {
      throw keyError(err);
    }
    this.#receiver.forgetAnnounced(userId);
    return await this.whois(userId);
  }

  /** `userId`'s current certificate (validated) and how pinning judges it. */
  async whois(userId: string): Promise<WhoisResult> {
    const state = this.#state();
    let current: RecipientKey;
    try {
      state.directory.forget(userId);
      current = await state.directory.current(userId);
    } catch (err) {
      throw keyError(err);
    }
    const record = await state.pins.get(userId);
    const verdict = pinVerdict(record, current.fingerprint);
    const pin: PinStatus =
      userId === this.#opts.user && current.fingerprint === (await this.#selfInfo()).fp
        ? "accepted"
        : verdict === "first_use"
        ? "new"
        : verdict;
    return {
      userId,
      fingerprint: current.fingerprint,
      fingerprintHex: await sha256Fingerprint(current.chain[0]!),
      pin,
      accepted: record.accepted.map((l) => l.fingerprint),
      previous: [],
    };
  }
}

/** A KeyDirectoryError as the ClientError a program sees. */
function keyError(err: unknown): unknown {
  if (!(err instanceof KeyDirectoryError)) return err;
  const { code, details } = err;
  switch (code) {
    case "pin_pending":
      return new ClientError("PIN_PENDING", err.message, { cause: err });
    case "pin_rejected":
      return new ClientError("PIN_REJECTED", err.message, { cause: err });
    case "cert_failed":
      return new ClientError(details.reason ?? "NO_CERTIFICATE", err.message, {
        cause: err,
        remote: true,
      });
    case "certificate":
      return new ClientError(details.reason ?? "BAD_CERTIFICATE", err.message, { cause: err });
    case "unreachable":
      return new ClientError("CLOSED", err.message, { cause: err });
  }
}
