// The client role of the ASL handshake (spec section 2), message by message:
//
//   client                                   server
//     M1  SALAAM_ASL  (start())       ->
//                                     <-     M2  ASL_SALAAM, server_random, chain
//     (chain validated for serverName)
//     M3  ASYMCRYPO offer, chain      ->
//                                     <-     M4  ASYMCRYPOOK suite [Q_S]  (NONE: NO_SHARED_SUITE)
//     M5  SESSIONKEY                  ->     (made by the chosen suite's key exchange)
//                                     <-     M6  SESSIONKEYOK
//     (M6 checked)
//     M7  LETS_TALK                   ->     (session keys from TH_7)
//
// The key exchange of M5 and M6 lives in kx_rsa.ts (AES_GCM, AES_CBC) and kx_x25519.ts
// (X25519_AES_GCM); this file decides which one runs. No sockets here.

import { AslError } from "./errors.ts";
import type { Frame } from "./framing.ts";
import { type ClientHandshakeConfig, type HandshakeOutput, Role } from "./handshake.ts";
import { deriveSessionKeys } from "./key_schedule.ts";
import { rsaClientCheckM6, rsaClientM5 } from "./kx_rsa.ts";
import { x25519ClientCheckM6, x25519ClientM5 } from "./kx_x25519.ts";
import {
  parseM2,
  parseM4,
  parseM6,
  parseM6X25519,
  serializeM1,
  serializeM3,
  serializeM5,
  serializeM5X25519,
  serializeM7,
  type Step,
} from "./messages.ts";
import { isKeyAgreementSuite, isKnownSuite } from "./suites.ts";
import type { Suite } from "./types.ts";

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
