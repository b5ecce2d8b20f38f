// ASL handshake state machines (spec section 2, M1–M7): one class per role, driven by the
// received messages, returning the bytes to send. No sockets here. RSA is WebCrypto; SHA-256,
// HMAC and HKDF come from primitives.ts (node:crypto by default, WebCrypto as reference).

import { PkiError } from "../pki/errors.ts";
import type { Credentials, TrustStore, ValidatedPeer, ValidateOptions } from "../pki/types.ts";
import {
  type ChainValidator,
  importLeafKeys,
  type LeafKeys,
  ValidationCache,
} from "../pki/validation_cache.ts";
import { buf, type Bytes, concatBytes, constantTimeEqual } from "./bytes.ts";
import { AslError } from "./errors.ts";
import type { Frame } from "./framing.ts";
import { deriveSessionKeys, type SessionKeys } from "./key_schedule.ts";
import {
  parseM1,
  parseM2,
  parseM3,
  parseM4,
  parseM5,
  parseM6,
  parseM7,
  RANDOM_BYTES,
  serializeM1,
  serializeM2,
  serializeM3,
  serializeM4,
  serializeM5,
  serializeM6,
  serializeM7,
  type Step,
} from "./messages.ts";
import { type Primitives, primitives } from "./primitives.ts";
import { Transcript } from "./transcript.ts";
import type { HandshakeTraceEvent, Suite } from "./types.ts";

/** The chain validator of the PKI layer (`validateChain`), injected by the caller. */
export type { ChainValidator };

/** Suites this implementation negotiates, in the default server preference. */
export const DEFAULT_SUITES: readonly Suite[] = ["AES_GCM", "AES_CBC"];
const KNOWN_SUITES: ReadonlySet<string> = new Set(DEFAULT_SUITES);

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

const encoder = new TextEncoder();
const LABEL_SESSIONKEY = encoder.encode("ASL/1 SESSIONKEY\0");
const LABEL_SESSIONKEYOK = encoder.encode("ASL/1 SESSIONKEYOK\0");
const LABEL_HMAC = encoder.encode("ASL/1 HMAC\0");
const OAEP = { name: "RSA-OAEP" } as const;
const PSS = { name: "RSA-PSS", saltLength: 32 } as const;

const defaultRandom = (length: number) => crypto.getRandomValues(new Uint8Array(length));

/** SIG_C input: "ASL/1 SESSIONKEY" || 0x00 || TH_4 || E. */
export function sigCInput(TH_4: Uint8Array, E: Uint8Array): Bytes {
  return concatBytes([LABEL_SESSIONKEY, TH_4, E]);
}
/** SIG_S input: "ASL/1 SESSIONKEYOK" || 0x00 || TH_5 || N. */
export function sigSInput(TH_5: Uint8Array, N: Uint8Array): Bytes {
  return concatBytes([LABEL_SESSIONKEYOK, TH_5, N]);
}
/** MAC input: "ASL/1 HMAC" || 0x00 || TH_4. */
export function macInput(TH_4: Uint8Array): Bytes {
  return concatBytes([LABEL_HMAC, TH_4]);
}

async function verifySignature(key: CryptoKey, sig: Uint8Array, data: Bytes): Promise<boolean> {
  try {
    return await crypto.subtle.verify(PSS, key, buf(sig), data);
  } catch {
    return false;
  }
}

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
  protected step: Step | "done" | "failed";
  protected peer: ValidatedPeer | undefined;
  protected peerKeys: LeafKeys | undefined;

  constructor(protected readonly config: HandshakeConfig, first: Step) {
    this.prims = config.primitives ?? primitives();
    this.transcript = new Transcript(this.prims);
    this.random = config.random ?? defaultRandom;
    this.suites = config.suites ?? DEFAULT_SUITES;
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
        return {
          reply: this.sent(
            "M2",
            m2,
            () => `${this.config.credentials.chain.length} certificate(s)`,
          ),
        };
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
        this.#suite = this.suites.find((s) => KNOWN_SUITES.has(s) && m3.suites.includes(s));
        const m4 = serializeM4({ suite: this.#suite ?? "NONE" });
        if (this.#suite === undefined) {
          this.step = "failed";
          return {
            reply: this.sent("M4", m4, () => "NONE (no shared suite)"),
            noSharedSuite: true,
          };
        }
        this.step = "M5";
        const suite = this.#suite;
        return { reply: this.sent("M4", m4, () => `suite ${suite}`) };
      }
      case "M5": {
        const m5 = parseM5(lines);
        const TH_4 = await this.transcript.hash();
        const { verify, encrypt } = this.peerKeys!;
        // 1. SIG_C with the client certificate's key.
        if (!await verifySignature(verify, m5.SIG_C, sigCInput(TH_4, m5.E))) {
          throw new AslError("BAD_SIGNATURE", "M5 signature does not verify");
        }
        // 2. Decrypt E: P = N || K, 64 bytes.
        let P: Uint8Array;
        try {
          P = new Uint8Array(
            await crypto.subtle.decrypt(OAEP, this.config.credentials.decryptKey, buf(m5.E)),
          );
        } catch (err) {
          throw new AslError("DECRYPT_ERROR", "M5 key material does not decrypt", { cause: err });
        }
        if (P.length !== 2 * RANDOM_BYTES) {
          throw new AslError("DECRYPT_ERROR", "M5 key material is not 64 bytes");
        }
        const N = P.subarray(0, RANDOM_BYTES);
        const K = P.subarray(RANDOM_BYTES);
        // 3. MAC, compared in constant time.
        if (!await this.prims.hmacVerify(K, m5.MAC, macInput(TH_4))) {
          throw new AslError("DECRYPT_ERROR", "M5 key confirmation does not match");
        }
        this.#K = K;
        this.transcript.add(bytes);
        this.trace("M5", "received", bytes.length, () => "SESSIONKEY verified");
        const TH_5 = await this.transcript.hash();
        const [E2, SIG_S] = await Promise.all([
          crypto.subtle.encrypt(OAEP, encrypt, buf(N)),
          crypto.subtle.sign(PSS, this.config.credentials.signKey, sigSInput(TH_5, N)),
        ]);
        const m6 = serializeM6({ E2: new Uint8Array(E2), SIG_S: new Uint8Array(SIG_S) });
        this.step = "M7";
        return { reply: this.sent("M6", m6, () => "SESSIONKEYOK") };
      }
      case "M7": {
        parseM7(lines);
        this.transcript.add(bytes);
        const TH_7 = await this.transcript.hash();
        const suite = this.#suite!;
        const keys = await deriveSessionKeys(this.#K!, TH_7, suite, this.prims);
        this.trace("M7", "received", bytes.length, () => `LETS_TALK, session ${suite}`);
        this.step = "done";
        this.#K = undefined;
        return { result: { suite: this.#suite!, peer: this.peer!, keys } };
      }
      default:
        throw new AslError("PROTOCOL_ERROR", `the server never receives ${step}`);
    }
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
      case "M4": {
        const { suite } = parseM4(lines);
        this.transcript.add(bytes);
        this.trace("M4", "received", bytes.length, () => `suite ${suite}`);
        if (suite === "NONE") {
          throw new AslError("NO_SHARED_SUITE", "the server shares none of the offered suites");
        }
        if (!this.#offer.includes(suite) || !KNOWN_SUITES.has(suite)) {
          throw new AslError("PROTOCOL_ERROR", `server chose ${suite}, which was not offered`);
        }
        this.#suite = suite as Suite;
        const N = this.random(RANDOM_BYTES);
        const K = this.random(RANDOM_BYTES);
        this.#N = N;
        this.#K = K;
        const TH_4 = await this.transcript.hash();
        const E = new Uint8Array(
          await crypto.subtle.encrypt(OAEP, this.peerKeys!.encrypt, concatBytes([N, K])),
        );
        const [SIG_C, MAC] = await Promise.all([
          crypto.subtle.sign(PSS, this.config.credentials.signKey, sigCInput(TH_4, E)),
          this.prims.hmac(K, macInput(TH_4)),
        ]);
        const m5 = serializeM5({ E, SIG_C: new Uint8Array(SIG_C), MAC });
        this.step = "M6";
        return { reply: this.sent("M5", m5, () => "SESSIONKEY") };
      }
      case "M6": {
        const m6 = parseM6(lines);
        // 1. E2 must decrypt to our N (constant-time compare).
        let n2: Uint8Array;
        try {
          n2 = new Uint8Array(
            await crypto.subtle.decrypt(OAEP, this.config.credentials.decryptKey, buf(m6.E2)),
          );
        } catch (err) {
          throw new AslError("DECRYPT_ERROR", "M6 nonce does not decrypt", { cause: err });
        }
        if (!constantTimeEqual(n2, this.#N!)) {
          throw new AslError("DECRYPT_ERROR", "M6 nonce does not match");
        }
        // 2. SIG_S over TH_5 (M1..M5) and N.
        const TH_5 = await this.transcript.hash();
        if (!await verifySignature(this.peerKeys!.verify, m6.SIG_S, sigSInput(TH_5, this.#N!))) {
          throw new AslError("BAD_SIGNATURE", "M6 signature does not verify");
        }
        this.transcript.add(bytes);
        this.trace("M6", "received", bytes.length, () => "SESSIONKEYOK verified");
        const suite = this.#suite!;
        const m7 = this.sent("M7", serializeM7(), () => `LETS_TALK, session ${suite}`);
        const TH_7 = await this.transcript.hash();
        const keys = await deriveSessionKeys(this.#K!, TH_7, suite, this.prims);
        this.step = "done";
        this.#N = undefined;
        this.#K = undefined;
        return { reply: m7, result: { suite: this.#suite!, peer: this.peer!, keys } };
      }
      default:
        throw new AslError("PROTOCOL_ERROR", `the client never receives ${step}`);
    }
  }
}
