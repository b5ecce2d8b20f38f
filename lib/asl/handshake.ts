// ASL handshake state machines (spec section 2, M1–M7): one class per role, driven by the
// received messages, returning the bytes to send. No sockets here. The key exchange of M4–M6
// lives in kx_rsa.ts (AES_GCM, AES_CBC) and kx_x25519.ts (X25519_AES_GCM); this file decides
// which one runs and keeps the transcript. SHA-256, HMAC and HKDF come from primitives.ts.

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
import { deriveSessionKeys, type SessionKeys } from "./key_schedule.ts";
import { rsaClientCheckM6, rsaClientM5, rsaServerCheckM5, rsaServerM6 } from "./kx_rsa.ts";
import {
  type EphemeralKeyPair,
  generateEphemeral,
  x25519ClientCheckM6,
  x25519ClientM5,
  x25519ServerCheckM5,
  x25519ServerM6,
} from "./kx_x25519.ts";
import {
  parseM1,
  parseM2,
  parseM3,
  parseM4,
  parseM5,
  parseM5X25519,
  parseM6,
  parseM6X25519,
  parseM7,
  RANDOM_BYTES,
  serializeM1,
  serializeM2,
  serializeM3,
  serializeM4,
  serializeM5,
  serializeM5X25519,
  serializeM6,
  serializeM6X25519,
  serializeM7,
  type Step,
} from "./messages.ts";
import { type Primitives, primitives } from "./primitives.ts";
import { isKeyAgreementSuite, isKnownSuite, KNOWN_SUITES } from "./suites.ts";
import { Transcript } from "./transcript.ts";
import type { HandshakeTraceEvent, Suite } from "./types.ts";

export { macInput, macSInput, sigCInput, sigSInput } from "./kx_signatures.ts";

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

abstract class Role {
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

/**
 * The server role: expects M1, M3, M5, M7 and answers M2, M4, M6.
 *
 * @example
 * ```ts ignore
 * const hs = new ServerHandshake({ credentials, trust, validate: validateChain });
 * const { reply } = await hs.receive(m1Frame); // reply = M2
 * ```
 */
export class ServerHandshake extends Role {
  #suite: Suite | undefined;
  /** The server's ephemeral key (X25519 only), dropped once M5 is checked. */
  #ephemeral: EphemeralKeyPair | undefined;
  #K: Uint8Array | undefined;

  constructor(config: HandshakeConfig) {
    super(config, "M1");
  }

  protected override async handle(step: Step, frame: Frame): Promise<HandshakeOutput> {
    if ((step !== "M3" && step !== "M5") || this.config.admit === undefined) {
      return await this.#handle(step, frame);
    }
    const release = await this.config.admit();
    try {
      return await this.#handle(step, frame);
    } finally {
      release();
    }
  }

  async #handle(step: Step, frame: Frame): Promise<HandshakeOutput> {
    const { lines, bytes } = frame;
    switch (step) {
      case "M1": {
        parseM1(lines);
        this.transcript.add(bytes);
        this.trace("M1", "received", bytes.length, () => "SALAAM_ASL");
        const serverRandom = this.random(RANDOM_BYTES);
        const m2 = serializeM2({ serverRandom, chain: this.config.credentials.chain });
        this.step = "M3";
        const count = this.config.credentials.chain.length;
        return { reply: this.sent("M2", m2, () => `${count} certificate(s)`) };
      }
      case "M3": {
        const m3 = parseM3(lines);
        this.transcript.add(bytes);
        const peer = await this.validatePeer(m3.chain, { purpose: "client" });
        this.trace(
          "M3",
          "received",
          bytes.length,
          () => `offer ${m3.suites.join(",")}, client ${peer.identity}`,
        );
        const suite = this.suites.find((s) => isKnownSuite(s) && m3.suites.includes(s));
        if (suite === undefined) {
          this.step = "failed";
          const none = serializeM4({ suite: "NONE" });
          return {
            reply: this.sent("M4", none, () => "NONE (no shared suite)"),
            noSharedSuite: true,
          };
        }
        this.#suite = suite;
        if (isKeyAgreementSuite(suite)) this.#ephemeral = await this.ephemeral();
        const m4 = serializeM4({ suite, ...this.#ephemeral && { Q_S: this.#ephemeral.publicKey } });
        this.step = "M5";
        return { reply: this.sent("M4", m4, () => `suite ${suite}`) };
      }
      case "M5":
        return await this.#m5(frame);
      case "M7": {
        parseM7(lines);
        this.transcript.add(bytes);
        const TH_7 = await this.transcript.hash();
        const suite = this.#suite!;
        const keys = await deriveSessionKeys(this.#K!, TH_7, suite, this.prims);
        this.trace("M7", "received", bytes.length, () => `LETS_TALK, session ${suite}`);
        this.step = "done";
        this.#K = undefined;
        return { result: { suite, peer: this.peer!, keys } };
      }
      default:
        throw new AslError("PROTOCOL_ERROR", `the server never receives ${step}`);
    }
  }

  /** M5 checked by the suite's key exchange, then M6 made by it. */
  async #m5({ lines, bytes }: Frame): Promise<HandshakeOutput> {
    const { verify: clientVerify, encrypt: clientEncrypt } = this.peerKeys!;
    const { signKey, decryptKey } = this.config.credentials;
    const prims = this.prims;
    const ephemeral = this.#ephemeral;
    this.#ephemeral = undefined; // dropped whatever the outcome
    let makeM6: (TH_5: Uint8Array) => Promise<Uint8Array>;
    if (ephemeral) {
      const m5 = parseM5X25519(lines); // parsing first: faults are PROTOCOL_ERROR
      const TH_4 = await this.transcript.hash();
      const K = await x25519ServerCheckM5({ m5, TH_4, ephemeral, clientVerify, prims });
      this.#K = K;
      makeM6 = async (TH_5) => serializeM6X25519(await x25519ServerM6({ K, TH_5, signKey, prims }));
    } else {
      const m5 = parseM5(lines);
      const TH_4 = await this.transcript.hash();
      const { N, K } = await rsaServerCheckM5({ m5, TH_4, clientVerify, decryptKey, prims });
      this.#K = K;
      makeM6 = async (TH_5) => serializeM6(await rsaServerM6({ N, TH_5, clientEncrypt, signKey }));
    }
    this.transcript.add(bytes);
    this.trace("M5", "received", bytes.length, () => "SESSIONKEY verified");
    const m6 = await makeM6(await this.transcript.hash());
    this.step = "M7";
    return { reply: this.sent("M6", m6, () => "SESSIONKEYOK") };
  }
}

/**
 * The client role: `start()` gives M1, then it expects M2, M4, M6 and answers M3, M5, M7.
 * `ASYMCRYPOOK NONE` throws `AslError("NO_SHARED_SUITE")` (send nothing more, close).
 *
 * @example
 * ```ts ignore
 * const hs = new ClientHandshake({ credentials, trust, validate: validateChain, serverName });
 * const m1 = hs.start();
 * ```
 */
export class ClientHandshake extends Role {
  readonly #offer: readonly string[];
  #suite: Suite | undefined;
  /** What M6 is checked against: N (RSA key transport) or nothing more (X25519). */
  #N: Uint8Array | undefined;
  #K: Uint8Array | undefined;
  #started = false;

  constructor(override readonly config: ClientHandshakeConfig) {
    super(config, "M2");
    this.#offer = config.offer ?? this.suites;
  }

  /** Returns M1 (once). */
  start(): Uint8Array {
    if (this.#started) throw new AslError("INTERNAL_ERROR", "handshake already started");
    this.#started = true;
    return this.sent("M1", serializeM1(), () => "SALAAM_ASL");
  }

  protected async handle(step: Step, frame: Frame): Promise<HandshakeOutput> {
    const { lines, bytes } = frame;
    if (!this.#started) throw new AslError("INTERNAL_ERROR", "start() was not called");
    switch (step) {
      case "M2": {
        const m2 = parseM2(lines);
        this.transcript.add(bytes);
        const peer = await this.validatePeer(m2.chain, {
          purpose: "server",
          host: this.config.serverName,
        });
        this.trace(
          "M2",
          "received",
          bytes.length,
          () => `server ${peer.identity} (${peer.subject})`,
        );
        const m3 = serializeM3({ suites: this.#offer, chain: this.config.credentials.chain });
        this.step = "M4";
        return { reply: this.sent("M3", m3, () => `offer ${this.#offer.join(",")}`) };
      }
      case "M4":
        return await this.#m4(frame);
      case "M6": {
        const suite = this.#suite!;
        const TH_5 = await this.transcript.hash();
        const serverVerify = this.peerKeys!.verify;
        if (isKeyAgreementSuite(suite)) {
          const m6 = parseM6X25519(lines);
          await x25519ClientCheckM6({ m6, K: this.#K!, TH_5, serverVerify, prims: this.prims });
        } else {
          const m6 = parseM6(lines);
          const { decryptKey } = this.config.credentials;
          await rsaClientCheckM6({ m6, N: this.#N!, TH_5, decryptKey, serverVerify });
        }
        this.transcript.add(bytes);
        this.trace("M6", "received", bytes.length, () => "SESSIONKEYOK verified");
        const m7 = this.sent("M7", serializeM7(), () => `LETS_TALK, session ${suite}`);
        const TH_7 = await this.transcript.hash();
        const keys = await deriveSessionKeys(this.#K!, TH_7, suite, this.prims);
        this.step = "done";
        this.#N = undefined;
        this.#K = undefined;
        return { reply: m7, result: { suite, peer: this.peer!, keys } };
      }
      default:
        throw new AslError("PROTOCOL_ERROR", `the client never receives ${step}`);
    }
  }

  /** M4: the suite chosen (offered and known), then M5 made by that suite's key exchange. */
  async #m4({ lines, bytes }: Frame): Promise<HandshakeOutput> {
    const m4 = parseM4(lines);
    this.transcript.add(bytes);
    this.trace("M4", "received", bytes.length, () => `suite ${m4.suite}`);
    if (m4.suite === "NONE") {
      throw new AslError("NO_SHARED_SUITE", "the server shares none of the offered suites");
    }
    if (!this.#offer.includes(m4.suite) || !isKnownSuite(m4.suite)) {
      throw new AslError("PROTOCOL_ERROR", `server chose ${m4.suite}, which was not offered`);
    }
    const suite = m4.suite;
    this.#suite = suite;
    const TH_4 = await this.transcript.hash();
    const { signKey } = this.config.credentials;
    let m5: Uint8Array;
    if (isKeyAgreementSuite(suite)) {
      // The ephemeral key lives only in this stretch; K is computed before M5 is sent.
      const out = await x25519ClientM5({
        TH_4,
        Q_S: m4.Q_S!,
        ephemeral: await this.ephemeral(),
        signKey,
        prims: this.prims,
      });
      this.#K = out.K;
      m5 = serializeM5X25519(out.m5);
    } else {
      const out = await rsaClientM5({
        TH_4,
        serverEncrypt: this.peerKeys!.encrypt,
        signKey,
        random: this.random,
        prims: this.prims,
      });
      this.#N = out.N;
      this.#K = out.K;
      m5 = serializeM5(out.m5);
    }
    this.step = "M6";
    return { reply: this.sent("M5", m5, () => "SESSIONKEY") };
  }
}
