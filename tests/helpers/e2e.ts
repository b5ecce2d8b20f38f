// Test helpers for the ASL-E2E/1 tests (spec section 7): the vectors e2e-envelope.json and
// e2e-negative.json (tests/fixtures/asl-vectors, README "End-to-end sealed payloads"), the
// users' keys and certificates, and a receiving context built from a case's state.

import "reflect-metadata";
import { parseCertificate } from "../../lib/pki/certificate.ts";
import { parseCredentials, parseTrustStore } from "../../lib/pki/credentials.ts";
import { sha256FingerprintBase64 } from "../../lib/pki/fingerprint.ts";
import { decodePemCertificates } from "../../lib/pki/pem.ts";
import type { Credentials, TrustStore } from "../../lib/pki/types.ts";
import { importLeafKeys } from "../../lib/pki/validation_cache.ts";
import type { Header } from "../../lib/e2e/header.ts";
import type { CertAnswer, OpenContext } from "../../lib/e2e/open.ts";
import { MemoryPinStore } from "../../lib/e2e/pins.ts";
import { MemoryReplayMemory } from "../../lib/e2e/replay.ts";
import { readVectorText } from "./asl.ts";

/** One good envelope of e2e-envelope.json. */
export interface EnvelopeVector {
  readonly name: string;
  readonly fromuserid: string;
  readonly sender_cert: string;
  readonly recipients: readonly { userid: string; cert: string; key: string }[];
  readonly receiver_clock: number;
  readonly receiver_clock_range: readonly [number, number];
  readonly plaintext: string;
  readonly plaintext_hex: string;
  readonly header: Header;
  readonly H: string;
  readonly H_text: string;
  readonly CEK: string;
  readonly NONCE: string;
  readonly KC_input: string;
  readonly KC: string;
  readonly AAD: string;
  readonly C: string;
  readonly W: readonly { to: string; W: string }[];
  readonly S: string;
  readonly SIG_input: string;
  readonly SIG: string;
  readonly envelope: string;
  readonly payload: string;
  readonly payload_length: number;
}

/** e2e-envelope.json. */
export interface EnvelopeVectors {
  readonly files: Record<string, { cert: string; key: string } | string>;
  readonly fingerprints: Record<string, string>;
  readonly fingerprints_hex: Record<string, string>;
  readonly other_certs: readonly { userid: string; cert: string; fingerprint: string }[];
  readonly constants: Record<string, string | number>;
  readonly envelopes: readonly EnvelopeVector[];
}

/** What `CERT <USERID>` gives in a case: files (leaf first), a FAILED reason, or nothing. */
export type CertReplySpec =
  | { readonly chain: readonly string[] }
  | { readonly failed: string }
  | { readonly unreachable: string };

/** One case of e2e-negative.json. */
export interface NegativeCase {
  readonly name: string;
  readonly expect: "BAD_SEAL" | "HOLD" | "NOT_SEALED" | "OPEN";
  readonly reason: string | null;
  readonly step: number | null;
  readonly basis: "spec" | "interpretation";
  readonly why: string;
  readonly receiver: string;
  readonly receiver_cert: string;
  readonly receiver_key: string;
  readonly receiver_clock: number;
  readonly accepted: Record<string, string[]>;
  readonly rejected?: Record<string, string[]>;
  readonly cert_replies: Record<string, CertReplySpec>;
  readonly fromuserid: string;
  readonly signed_by: string;
  readonly envelope: string;
  readonly payload: string;
  readonly plaintext?: string;
  readonly after?: {
    readonly accept?: { expect: string; reason?: string };
    readonly reject?: { expect: string; reason?: string };
    readonly retry?: { cert_reply: CertReplySpec; expect: string };
  };
}

/** The certificate files of the vectors that stand for users' leaves. */
export const CERT_FILES = ["client.crt", "bob.crt", "carol.crt", "alice_short.crt"] as const;

/** Loads e2e-envelope.json. */
export async function loadEnvelopeVectors(): Promise<EnvelopeVectors> {
  return JSON.parse(await readVectorText("e2e-envelope.json"));
}

/** Loads e2e-negative.json. */
export async function loadNegativeCases(): Promise<NegativeCase[]> {
  return JSON.parse(await readVectorText("e2e-negative.json"));
}

/** The certificates (DER) of a vector file. */
export async function certChain(file: string): Promise<Uint8Array[]> {
  return decodePemCertificates(await readVectorText(file));
}

/** A user of the vectors with everything the tests need. */
export interface VectorUser {
  readonly userId: string;
  readonly creds: Credentials;
  readonly leaf: Uint8Array;
  /** The leaf's public key for RSA-OAEP (encrypt). */
  readonly encryptKey: CryptoKey;
  /** The leaf's public key for RSA-PSS (verify). */
  readonly verifyKey: CryptoKey;
  /** Section 7 fingerprint of the leaf. */
  readonly fingerprint: string;
}

/** Loads a user's certificate and key files. */
export async function loadUser(userId: string, cert: string, key: string): Promise<VectorUser> {
  const creds = await parseCredentials(await readVectorText(cert), await readVectorText(key));
  const leaf = creds.chain[0]!;
  const keys = await importLeafKeys(parseCertificate(leaf).spki);
  return {
    userId,
    creds,
    leaf,
    encryptKey: keys.encrypt,
    verifyKey: keys.verify,
    fingerprint: await sha256FingerprintBase64(leaf),
  };
}

/** The vectors' CA as a trust store. */
export async function vectorE2eTrust(): Promise<TrustStore> {
  return parseTrustStore(await readVectorText("ca.crt"));
}

/** Section 7 fingerprint → chain, for every user certificate file of the vectors. */
export async function chainsByFingerprint(): Promise<Map<string, Uint8Array[]>> {
  const out = new Map<string, Uint8Array[]>();
  for (const file of CERT_FILES) {
    const chain = await certChain(file);
    out.set(await sha256FingerprintBase64(chain[0]!), chain);
  }
  return out;
}

/** The receiver's state, as a case gives it. */
export interface ReceiverState {
  readonly userId: string;
  readonly decryptKeys: readonly CryptoKey[];
  readonly clock: number;
  readonly accepted?: Record<string, readonly string[]>;
  readonly rejected?: Record<string, readonly string[]>;
  /** USERID → CERT reply; a USERID not listed gets `FAILED UNKNOWN_USER`. */
  readonly certReplies: Record<string, CertReplySpec>;
}

/** A receiving context with in-memory stores; `certReplies` may be changed afterwards. */
export interface TestReceiver {
  readonly ctx: OpenContext;
  readonly pins: MemoryPinStore;
  readonly replay: MemoryReplayMemory;
  readonly certReplies: Record<string, CertReplySpec>;
  /** The USERIDs CERT was asked for, in order. */
  readonly lookups: string[];
}

/** Builds bob's (or anyone's) state: pins with the chains of known leaves, CERT answers. */
export async function makeReceiver(state: ReceiverState, trust: TrustStore): Promise<TestReceiver> {
  const chains = await chainsByFingerprint();
  const pins = new MemoryPinStore();
  for (const [user, fps] of Object.entries(state.accepted ?? {})) {
    for (const fp of fps) {
      const chain = chains.get(fp);
      if (chain) await pins.accept(user, fp, chain);
      else await pins.accept(user, fp);
    }
  }
  for (const [user, fps] of Object.entries(state.rejected ?? {})) {
    for (const fp of fps) await pins.reject(user, fp);
  }
  const replay = new MemoryReplayMemory();
  const certReplies = { ...state.certReplies };
  const lookups: string[] = [];
  const ctx: OpenContext = {
    userId: state.userId,
    decryptKeys: state.decryptKeys,
    now: () => state.clock,
    trust,
    pins,
    replay,
    certLookup: async (user): Promise<CertAnswer> => {
      lookups.push(user);
      const reply = certReplies[user];
      if (!reply) return { failed: "UNKNOWN_USER" };
      if ("chain" in reply) {
        return { chain: (await Promise.all(reply.chain.map(certChain))).flat() };
      }
      return reply;
    },
  };
  return { ctx, pins, replay, certReplies, lookups };
}

/** Hex text to bytes. */
export function hexBytes(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.fromHex(text);
}
