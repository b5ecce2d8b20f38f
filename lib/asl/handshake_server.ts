// The server role of the ASL handshake (spec section 2), message by message:
//
//   client                                   server
//     M1  SALAAM_ASL                  ->
//                                     <-     M2  ASL_SALAAM, server_random, chain
//     M3  ASYMCRYPO offer, chain      ->     (chain validated; suite chosen)
//                                     <-     M4  ASYMCRYPOOK suite [Q_S]  (or NONE, then close)
//     M5  SESSIONKEY                  ->     (checked by the suite's key exchange)
//                                     <-     M6  SESSIONKEYOK
//     M7  LETS_TALK                   ->     (session keys from TH_7)
//
// The key exchange of M5 and M6 lives in kx_rsa.ts (AES_GCM, AES_CBC) and kx_x25519.ts
// (X25519_AES_GCM); this file decides which one runs. No sockets here.

import { AslError } from "./errors.ts";
import type { Frame } from "./framing.ts";
import { type HandshakeConfig, type HandshakeOutput, Role } from "./handshake.ts";
import { deriveSessionKeys } from "./key_schedule.ts";
import { rsaServerCheckM5, rsaServerM6 } from "./kx_rsa.ts";
import { type EphemeralKeyPair, x25519ServerCheckM5, x25519ServerM6 } from "./kx_x25519.ts";
import {
  parseM1,
  parseM3,
  parseM5,
  parseM5X25519,
  parseM7,
  RANDOM_BYTES,
  serializeM2,
  serializeM4,
  serializeM6,
  serializeM6X25519,
  type Step,
} from "./messages.ts";
import { isKeyAgreementSuite, isKnownSuite } from "./suites.ts";
import type { Suite } from "./types.ts";

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
