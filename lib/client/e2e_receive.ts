// The receive side of the library client's end-to-end layer (ASL spec section 7,
// "Receiving"): opens each delivery (`openPayload` with this client's keys, clock, CA file
// and CRL, the shared ValidationCache, the `CERT` lookup over its connection, the current
// server's pins and the replay memory) and turns each outcome into what the inbox does: show,
// refuse (`BAD_SEAL` / `NOT_SEALED`), drop a replay, or hold; `pin_pending` and `held` are
// told once each. The replay memory lives per identity (`<state>/…`, e2e_files.ts), in
// memory without a state directory. e2e.ts (the send side, pins per server) owns one.

import { CHAT_TYPE } from "../e2e/header.ts";
import type { KeyDirectory } from "../e2e/key_directory.ts";
import { type CertAnswer, openPayload } from "../e2e/open.ts";
import type { PinStore } from "../e2e/pins.ts";
import { MemoryReplayMemory, type ReplayMemory } from "../e2e/replay.ts";
import type { Credentials, TrustStore } from "../pki/types.ts";
import type { ChainValidator } from "../pki/validation_cache.ts";
import { payloadText } from "./commands.ts";
import { FileReplayMemory, replayFilePath } from "./e2e_files.ts";
import type { Opened } from "./held.ts";
import type { Delivery } from "./replies.ts";
import type { ClientEvent } from "./types.ts";

/** What the receive side needs from its client (part of `ClientE2eOptions`). */
export interface E2eReceiveOptions {
  readonly user: string;
  readonly credentials: Credentials;
  /** Earlier private keys (RSA-OAEP decrypt), most recent first. */
  readonly earlierKeys?: readonly CryptoKey[];
  readonly trust: TrustStore;
  readonly stateDir?: string | undefined;
  /** `CERT` for opening: answers `unreachable` at once when not connected. */
  readonly openLookup: (userId: string) => Promise<CertAnswer>;
  /** Lifecycle hook for bad_seal / pin_pending / not_sealed / held events. */
  readonly emit: (event: ClientEvent) => void;
  /** Refuse plain payloads with `NOT_SEALED`. */
  readonly sealedOnly?: boolean;
}

/** Opening deliveries for one identity; e2e.ts's ClientE2e holds one. */
export class E2eReceiver {
  readonly #opts: E2eReceiveOptions;
  readonly #validator: ChainValidator;
  readonly #now: () => number;
  readonly #replay: ReplayMemory;
  /** `user fp` pairs already announced as pending, so each is told once. */
  readonly #announced = new Set<string>();
  /** `from sid` of deliveries already announced as held (CERT unavailable), told once each. */
  readonly #heldTold = new Set<string>();

  /** `validator`: the layer's chain validator; `now`: its clock (ms since 1970). */
  constructor(options: E2eReceiveOptions, validator: ChainValidator, now: () => number) {
    this.#opts = options;
    this.#validator = validator;
    this.#now = now;
    this.#replay = options.stateDir === undefined
      ? new MemoryReplayMemory()
      : new FileReplayMemory(replayFilePath(options.stateDir, options.user));
  }

  /**
   * What to do with a delivery (section 7 "Receiving"), as the inbox understands it, with
   * the pins and key directory of the current server.
   */
  async open(
    delivery: Delivery,
    receivedAt: Date,
    pins: PinStore,
    directory: Pick<KeyDirectory, "forget">,
  ): Promise<Opened> {
    const decryptKeys = [this.#opts.credentials.decryptKey, ...(this.#opts.earlierKeys ?? [])];
    const outcome = await openPayload(delivery.payload, delivery.from, {
      userId: this.#opts.user,
      decryptKeys,
      now: this.#now,
      trust: this.#opts.trust,
      validate: this.#validator,
      certLookup: this.#opts.openLookup,
      pins,
      replay: this.#replay,
    });
    const { sid, from } = delivery;
    switch (outcome.kind) {
      case "open":
        return {
          kind: "show",
          message: {
            sid,
            from,
            bytes: outcome.plaintext,
            text: payloadText(outcome.plaintext),
            receivedAt,
            sealed: true,
            senderFingerprint: outcome.senderFingerprint,
            ...(outcome.header.type === CHAT_TYPE ? {} : { type: outcome.header.type }),
          },
        };
      case "not_sealed":
        if (this.#opts.sealedOnly) {
          this.#opts.emit({ type: "not_sealed", from, sid });
          return { kind: "refuse", reason: "NOT_SEALED" };
        }
        return {
          kind: "show",
          message: {
            sid,
            from,
            bytes: delivery.payload,
            text: payloadText(delivery.payload),
            receivedAt,
            sealed: false,
          },
        };
      case "bad_seal":
        this.#opts.emit({
          type: "bad_seal",
          from,
          sid,
          reason: outcome.reason,
          step: outcome.step,
          message: outcome.message,
        });
        return { kind: "refuse", reason: "BAD_SEAL" };
      case "replay":
        return { kind: "drop" };
      case "hold":
        if (outcome.why === "pin_pending") {
          // The sender signs with another certificate now: ask CERT afresh before sealing.
          directory.forget(outcome.userId);
          const key = `${outcome.userId} ${outcome.fingerprint}`;
          if (!this.#announced.has(key)) {
            this.#announced.add(key);
            this.#opts.emit({
              type: "pin_pending",
              userId: outcome.userId,
              fingerprint: outcome.fingerprint,
              accepted: outcome.accepted,
            });
          }
          return { kind: "hold", key: outcome.userId, retry: false };
        }
        if (!this.#heldTold.has(`${from} ${sid}`)) {
          if (this.#heldTold.size >= 1_000) this.#heldTold.clear();
          this.#heldTold.add(`${from} ${sid}`);
          this.#opts.emit({ type: "held", from, sid, detail: outcome.detail });
        }
        return { kind: "hold", key: outcome.userId, retry: true };
    }
  }

  /** `userId`'s certificate was accepted or rejected: a new pending one is told again. */
  forgetAnnounced(userId: string): void {
    for (const key of this.#announced) {
      if (key.startsWith(`${userId} `)) this.#announced.delete(key);
    }
  }
}
