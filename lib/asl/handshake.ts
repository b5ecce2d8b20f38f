// The ASL handshake (spec section 2, M1–M7), what both roles share: their configuration and
// result, and the Role base class that keeps the transcript, reports each step to the trace
// hook, validates the peer's chain (section 4) and turns every failure into an AslError. The
// roles: handshake_server.ts (ServerHandshake) and handshake_client.ts (ClientHandshake), each
// driven by the received messages and returning the bytes to send. No sockets here
// (endpoint.ts runs a role over a connection).

import { PkiError } from "../pki/errors.ts";
import type { Credentials, TrustStore, ValidatedPeer, ValidateOptions } from "../pki/types.ts";
import {
  type ChainValidator,
  importLeafKeys,
  type LeafKeys,
  ValidationCache,
} from "../pki/validation_cache.ts";
import { AslError } from "./errors.ts";
import type { Frame } from "./framing.ts";
import type { SessionKeys } from "./key_schedule.ts";
import { type EphemeralKeyPair, generateEphemeral } from "./kx_x25519.ts";
import type { Step } from "./messages.ts";
import { type Primitives, primitives } from "./primitives.ts";
import { KNOWN_SUITES } from "./suites.ts";
import { Transcript } from "./transcript.ts";
import type { HandshakeTraceEvent, Suite } from "./types.ts";

/** The chain validator of the PKI layer (`validateChain`), injected by the caller. */
export type { ChainValidator };

/**
 * Suites this implementation negotiates, in the default server preference and client offer:
 * `X25519_AES_GCM`, `AES_GCM`, `AES_CBC`.
 */
export const DEFAULT_SUITES: readonly Suite[] = KNOWN_SUITES;

/** Configuration shared by both roles. */
export interface HandshakeConfig {
  readonly credentials: Credentials;
  readonly trust: TrustStore;
  /**
   * The peer chain's validator: a `ValidationCache` (hot path: parsed, checked and its leaf
   * key imported once per chain) or a plain validator such as `validateChain` (every time).
   */
  readonly validate: ChainValidator | ValidationCache;
  /** SHA-256 / HMAC / HKDF implementation; default node:crypto (`primitives("node")`). */
  readonly primitives?: Primitives;
  /** Suites in preference order (server) or offer order (client). */
  readonly suites?: readonly Suite[];
  readonly trace?: (event: HandshakeTraceEvent) => void;
  /** Random source (server_random, N, K); default `crypto.getRandomValues`. Tests force values. */
  readonly random?: (length: number) => Uint8Array;
  /**
   * Ephemeral X25519 key source for `X25519_AES_GCM`; default a fresh non-extractable
   * WebCrypto key per handshake. Tests inject the vectors' fixed keys.
   */
  readonly ephemeral?: () => Promise<EphemeralKeyPair>;
  /** Time to validate certificates at; default now. */
  readonly now?: () => Date;
  /**
   * Server only: a gate around each stretch of expensive work (M3: chain validation; M5:
   * the RSA checks and M6). It resolves with a release function once the work may start.
   * No network wait happens inside a stretch, so a peer that stalls holds nothing.
   */
  readonly admit?: () => Promise<() => void>;
}

/** Client-only configuration. */
export interface ClientHandshakeConfig extends HandshakeConfig {
  /** The name the server certificate must carry. */
  readonly serverName: string;
  /** Raw suite offer for M3, overriding `suites` (tests use it to offer unknown names). */
  readonly offer?: readonly string[];
}

/** What a finished handshake yields. */
export interface HandshakeResult {
  readonly suite: Suite;
  readonly peer: ValidatedPeer;
  readonly keys: SessionKeys;
}

/** What to do after a received message. */
export interface HandshakeOutput {
  /** Bytes to write (one message), if any. */
  readonly reply?: Uint8Array;
  /** Set once the handshake is complete. */
  readonly result?: HandshakeResult;
  /** Server only: `ASYMCRYPOOK NONE` is in `reply`; write it, then close. */
  readonly noSharedSuite?: true;
}

const defaultRandom = (length: number) => crypto.getRandomValues(new Uint8Array(length));

/** Maps a failure of chain validation to the ASL code (PkiError codes are ASL codes). */
function toAslError(err: unknown): AslError {
  if (err instanceof AslError) return err;
  if (err instanceof PkiError) return new AslError(err.code, err.message, { cause: err });
  return new AslError("INTERNAL_ERROR", "internal error during the handshake", { cause: err });
}

/**
 * What both roles share: the transcript, the trace hook, the peer's validation and the step
 * expected next; a subclass handles each step (`handle`).
 */
export abstract class Role {
  protected readonly prims: Primitives;
  protected readonly transcript: Transcript;
  protected readonly random: (length: number) => Uint8Array;
  protected readonly suites: readonly Suite[];
  protected readonly ephemeral: () => Promise<EphemeralKeyPair>;
  protected step: Step | "done" | "failed";
  protected peer: ValidatedPeer | undefined;
  protected peerKeys: LeafKeys | undefined;

  constructor(protected readonly config: HandshakeConfig, first: Step) {
    this.prims = config.primitives ?? primitives();
    this.transcript = new Transcript(this.prims);
    this.random = config.random ?? defaultRandom;
    this.suites = config.suites ?? DEFAULT_SUITES;
    this.ephemeral = config.ephemeral ?? generateEphemeral;
    this.step = first;
  }

  /** The message this side expects next (`done` after M7). */
  get expecting(): Step | "done" | "failed" {
    return this.step;
  }

  /** Reports a step to the trace hook; `detail` is only formatted when a hook is set. */
  protected trace(
    step: Step,
    direction: "sent" | "received",
    bytes: number,
    detail: () => string,
  ) {
    const hook = this.config.trace;
    if (hook) hook({ step, direction, bytes, detail: detail() });
  }

  protected sent(step: Step, bytes: Uint8Array, detail: () => string): Uint8Array {
    this.transcript.add(bytes);
    this.trace(step, "sent", bytes.length, detail);
    return bytes;
  }

  protected async validatePeer(chain: readonly Uint8Array[], opts: ValidateOptions) {
    const at = this.config.now?.();
    const options = at ? { ...opts, at } : opts;
    const validator = this.config.validate;
    try {
      if (validator instanceof ValidationCache) {
        const { peer, keys } = await validator.validate(chain, this.config.trust, options);
        this.peer = peer;
        this.peerKeys = keys;
      } else {
        this.peer = await validator(chain, this.config.trust, options);
        this.peerKeys = await importLeafKeys(this.peer.leafSpki);
      }
    } catch (err) {
      throw toAslError(err);
    }
    return this.peer;
  }

  /** Feeds one received message; returns what to send. Throws `AslError` on any failure. */
  async receive(frame: Frame): Promise<HandshakeOutput> {
    if (this.step === "done" || this.step === "failed") {
      throw new AslError("PROTOCOL_ERROR", "message after the handshake ended");
    }
    try {
      return await this.handle(this.step, frame);
    } catch (err) {
      this.step = "failed";
      throw toAslError(err);
    }
  }

  protected abstract handle(step: Step, frame: Frame): Promise<HandshakeOutput>;
}
