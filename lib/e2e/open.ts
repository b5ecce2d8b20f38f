// Receiving a sealed payload (ASL spec section 7, "Receiving" steps 1 to 7, and "Pinning"):
// one async function over an injected context — the receiver's id and private keys, a
// clock, the trust store and chain validator, the `CERT` lookup, the pin store and the
// replay memory — that tells what to do with a delivered payload: open it, refuse it
// (`BAD_SEAL`, with the reason and step), hold it (certificate unavailable, or a new leaf
// waiting for the person's decision), take it as plain (`NOT_SEALED`), or drop a replay.
// Pure apart from what the context does; no sockets, no files.

import { constantTimeEqual } from "../asl/bytes.ts";
import { sha256FingerprintBase64 } from "../pki/fingerprint.ts";
import { PkiError } from "../pki/errors.ts";
import type { TrustStore, ValidatedPeer } from "../pki/types.ts";
import { type ChainValidator, importLeafKeys } from "../pki/validation_cache.ts";
import { validateChain } from "../pki/validate.ts";
import { decodeEnvelope, isEnvelope } from "./envelope.ts";
import type { Header } from "./header.ts";
import { type BadSealReason, E2eError, isBadSealReason, REASON_STEP } from "./errors.ts";
import { type PinStore, pinVerdict } from "./pins.ts";
import {
  CEK_LENGTH,
  decryptContent,
  keyCommitment,
  unwrapKey,
  verifyEnvelope,
} from "./primitives.ts";
import { REPLAY_MEMORY_MS, type ReplayMemory } from "./replay.ts";

/** Step 2: `H.ts` at most 30 days before the receiver's clock. */
export const TS_PAST_MAX_MS = 30 * 24 * 60 * 60 * 1000;
/** Step 2: `H.ts` at most 10 minutes after the receiver's clock. */
export const TS_FUTURE_MAX_MS = 10 * 60 * 1000;
/** `CERT` failures that hold a message rather than refuse it (with no connection at all). */
export const TRANSIENT_CERT_FAILURES: readonly string[] = Object.freeze([
  "RATE_LIMITED",
  "INTERNAL",
]);

/**
 * What `CERT <USERID>` gave: the chain (`OK`, DER, leaf first), a `FAILED` reason, or no
 * answer at all (no connection; `unreachable` says why, for the log).
 */
export type CertAnswer =
  | { readonly chain: readonly Uint8Array[] }
  | { readonly failed: string }
  | { readonly unreachable: string };

/** Everything receiving needs besides the payload. */
export interface OpenContext {
  /** The receiver's own USERID. */
  readonly userId: string;
  /**
   * The receiver's private keys imported for RSA-OAEP with SHA-256 (usage `decrypt`):
   * the current one first, then earlier ones kept after a certificate change (step 6).
   */
  readonly decryptKeys: readonly CryptoKey[];
  /** The receiver's clock, ms since 1970. */
  readonly now: () => number;
  /** The receiver's CA file (and CRL, if configured). */
  readonly trust: TrustStore;
  /** The chain validator; default `validateChain` (lib/pki/validate.ts). */
  readonly validate?: ChainValidator;
  /** Asks the server `CERT <userId>`; a throw counts as `unreachable`. */
  readonly certLookup: (userId: string) => Promise<CertAnswer>;
  /** Accepted and rejected leaves per USERID. */
  readonly pins: PinStore;
  /** Seen (from, id) pairs. */
  readonly replay: ReplayMemory;
}

/** Opened: show `plaintext` (of media type `header.type`) as from `header.from`, answer `OK`. */
export interface OpenedOutcome {
  readonly kind: "open";
  readonly plaintext: Uint8Array;
  readonly header: Header;
  /** Fingerprint (section 7 form) of the sender's leaf that signed it. */
  readonly senderFingerprint: string;
  /** True when that leaf was accepted on first use by this very message (say so to the person). */
  readonly pinnedOnFirstUse: boolean;
}

/** Refused: answer `FAILED <sid> BAD_SEAL`, show nothing of it, warn the person. */
export interface BadSealOutcome {
  readonly kind: "bad_seal";
  readonly reason: BadSealReason;
  /** The step of section 7 "Receiving" that refused it (1 to 6). */
  readonly step: number;
  /** One human line for the log and the warning (never key material or text). */
  readonly message: string;
}

/**
 * Held at step 3: `CERT` failed for a passing reason (no connection, `RATE_LIMITED`,
 * `INTERNAL`). Do not show, do not acknowledge, do not count as seen; try again later.
 */
export interface CertUnavailableOutcome {
  readonly kind: "hold";
  readonly why: "cert_unavailable";
  /** The sender whose certificate could not be had. */
  readonly userId: string;
  /** `H.fp`, the leaf looked for. */
  readonly fingerprint: string;
  /** The `FAILED` reason, or `unreachable: …`. */
  readonly detail: string;
}

/**
 * Held at step 5: the sender's leaf is valid and signed it, but another leaf of theirs is
 * accepted. Show both fingerprints and ask; on accept (`pins.accept(userId, fingerprint,
 * chain)`) or reject (`pins.reject`), run `openPayload` again.
 */
export interface PinPendingOutcome {
  readonly kind: "hold";
  readonly why: "pin_pending";
  readonly userId: string;
  /** The new leaf's fingerprint (`H.fp`). */
  readonly fingerprint: string;
  /** The new leaf's chain (DER, leaf first), to pin along with it. */
  readonly chain: readonly Uint8Array[];
  /** The fingerprints already accepted for the user. */
  readonly accepted: readonly string[];
}

/** What to do with a delivered payload. */
export type OpenOutcome =
  | OpenedOutcome
  | BadSealOutcome
  | CertUnavailableOutcome
  | PinPendingOutcome
  /** No 8-byte magic: a plain payload (show marked as not sealed, or refuse `NOT_SEALED`). */
  | { readonly kind: "not_sealed" }
  /** A (from, id) pair seen before: drop silently, answer `OK <sid>`. */
  | { readonly kind: "replay"; readonly header: Header };

function refuse(reason: BadSealReason, message: string): never {
  throw new E2eError(reason, message);
}

type SenderLeaf =
  | { readonly kind: "found"; readonly chain: readonly Uint8Array[]; readonly viaCert: boolean }
  | CertUnavailableOutcome;

/** Step 3, first part: the leaf `H.fp` names, among FROMUSERID's accepted leaves or via CERT. */
async function findSenderLeaf(
  header: Header,
  fromUserId: string,
  ctx: OpenContext,
): Promise<SenderLeaf> {
  const record = await ctx.pins.get(fromUserId);
  for (const leaf of record.accepted) {
    const chain = leaf.chain;
    if (leaf.fingerprint !== header.fp || !chain || chain.length === 0) continue;
    if (await sha256FingerprintBase64(chain[0]!) === header.fp) {
      return { kind: "found", chain, viaCert: false };
    }
  }
  let answer: CertAnswer;
  try {
    answer = await ctx.certLookup(fromUserId);
  } catch (err) {
    answer = { unreachable: err instanceof Error ? err.message : "the CERT lookup failed" };
  }
  const hold = (detail: string): CertUnavailableOutcome => ({
    kind: "hold",
    why: "cert_unavailable",
    userId: fromUserId,
    fingerprint: header.fp,
    detail,
  });
  if ("unreachable" in answer) return hold(`unreachable: ${answer.unreachable}`);
  if ("failed" in answer) {
    if (TRANSIENT_CERT_FAILURES.includes(answer.failed)) return hold(answer.failed);
    refuse(
      "fp_unknown",
      `CERT ${fromUserId} failed with ${answer.failed}: no certificate with H.fp`,
    );
  }
  const leafDer = answer.chain[0];
  if (leafDer && await sha256FingerprintBase64(leafDer) === header.fp) {
    return { kind: "found", chain: answer.chain, viaCert: true };
  }
  refuse("fp_unknown", `no certificate of ${fromUserId} has the fingerprint H.fp`);
}

/** Step 3, second part: the chain validated with its dates at H.ts and CN = FROMUSERID. */
async function validateSender(
  chain: readonly Uint8Array[],
  header: Header,
  fromUserId: string,
  ctx: OpenContext,
): Promise<ValidatedPeer> {
  let peer: ValidatedPeer;
  try {
    // Validity dates at H.ts. Revocation is "now": validateChain applies the CRLs the trust
    // store holds today to the serials, independent of `at`.
    peer = await (ctx.validate ?? validateChain)(chain, ctx.trust, {
      purpose: "client",
      at: new Date(header.ts),
    });
  } catch (err) {
    const code = err instanceof PkiError ? err.code : "BAD_CERTIFICATE";
    throw new E2eError("certificate", `the sender's certificate chain is not valid (${code})`, {
      cause: err,
    });
  }
  if (peer.identity !== fromUserId) {
    refuse("certificate", `the certificate names ${peer.identity}, not ${fromUserId}`);
  }
  return peer;
}

/**
 * The sender leaf's RSA-PSS key, imported once per validated peer object: a caching
 * validator (lib/pki/validation_cache.ts) hands out the same object for the same chain, so a
 * repeated sender costs no key import.
 */
const verifyKeys = new WeakMap<ValidatedPeer, Promise<CryptoKey>>();
function senderVerifyKey(peer: ValidatedPeer): Promise<CryptoKey> {
  let key = verifyKeys.get(peer);
  if (key === undefined) {
    key = importLeafKeys(peer.leafSpki).then((keys) => keys.verify);
    key.catch(() => verifyKeys.delete(peer));
    verifyKeys.set(peer, key);
  }
  return key;
}

/**
 * Runs section 7 "Receiving" on a delivered payload (`MESSAGE <sid> <fromUserId>
 * <payload>`, the payload base64-decoded) in the spec's order, and tells what to do:
 *
 * - `not_sealed`: no 8-byte magic; a plain payload;
 * - `bad_seal` with `reason` and `step`: refuse with `FAILED <sid> BAD_SEAL`;
 * - `hold` (`cert_unavailable` or `pin_pending`): neither show nor acknowledge nor count as
 *   seen; process again later (after the person's decision, or when `CERT` works);
 * - `replay`: drop silently and answer `OK <sid>`;
 * - `open`: show the plaintext and answer `OK <sid>`.
 *
 * Side effects go only through the context: a leaf is accepted on first use in
 * `ctx.pins`, and an opened (from, id) pair is remembered in `ctx.replay`. Errors of the
 * context's own stores (a file that cannot be written) are thrown, not turned into a refusal.
 *
 * @example
 * ```ts ignore
 * import { openPayload } from "./open.ts";
 * const outcome = await openPayload(Uint8Array.fromBase64(payload), "alice", ctx);
 * if (outcome.kind === "open") show(new TextDecoder().decode(outcome.plaintext));
 * ```
 */
export async function openPayload(
  payload: Uint8Array,
  fromUserId: string,
  ctx: OpenContext,
): Promise<OpenOutcome> {
  if (!isEnvelope(payload)) return { kind: "not_sealed" };
  try {
    return await openEnvelope(payload, fromUserId, ctx);
  } catch (err) {
    if (err instanceof E2eError && isBadSealReason(err.code)) {
      return {
        kind: "bad_seal",
        reason: err.code,
        step: REASON_STEP[err.code],
        message: err.message,
      };
    }
    throw err;
  }
}

async function openEnvelope(
  payload: Uint8Array,
  fromUserId: string,
  ctx: OpenContext,
): Promise<OpenOutcome> {
  // 1. Parse strictly.
  const { frame, header } = decodeEnvelope(payload);

  // 2. The ts window.
  const clock = ctx.now();
  if (header.ts < clock - TS_PAST_MAX_MS) refuse("ts_too_old", "H.ts is more than 30 days old");
  if (header.ts > clock + TS_FUTURE_MAX_MS) {
    refuse("ts_too_new", "H.ts is more than 10 minutes ahead of this clock");
  }

  // 3. The sender's certificate, its chain at H.ts, and SIG.
  const found = await findSenderLeaf(header, fromUserId, ctx);
  if (found.kind === "hold") return found;
  const peer = await validateSender(found.chain, header, fromUserId, ctx);
  let verifyKey: CryptoKey;
  try {
    verifyKey = await senderVerifyKey(peer);
  } catch (err) {
    throw new E2eError("certificate", "the sender's leaf key is not usable", { cause: err });
  }
  if (!await verifyEnvelope(verifyKey, frame.signedPart, frame.signature)) {
    refuse("signature", "SIG does not verify with the sender's leaf key");
  }

  // 4. Sender and addressee.
  if (header.from !== fromUserId) {
    refuse(
      "from_mismatch",
      `H.from is ${header.from}, but the server delivered it from ${fromUserId}`,
    );
  }
  const index = header.to.indexOf(ctx.userId);
  if (index < 0) refuse("not_addressed", "this envelope is not addressed to this user");

  // 5. Pinning.
  const record = await ctx.pins.get(fromUserId);
  const verdict = pinVerdict(record, header.fp);
  if (verdict === "rejected") refuse("pin_rejected", "the sender's certificate was rejected");
  if (verdict === "pending") {
    return {
      kind: "hold",
      why: "pin_pending",
      userId: fromUserId,
      fingerprint: header.fp,
      chain: found.chain,
      accepted: record.accepted.map((leaf) => leaf.fingerprint),
    };
  }
  const known = record.accepted.find((leaf) => leaf.fingerprint === header.fp);
  if (verdict === "first_use" || (found.viaCert && !known?.chain)) {
    await ctx.pins.accept(fromUserId, header.fp, found.chain);
  }

  // 6. Unwrap, key commitment, decrypt.
  const wrapped = frame.wrapped[index]!;
  let cek: Uint8Array | undefined;
  for (const key of ctx.decryptKeys) {
    cek = await unwrapKey(key, wrapped);
    if (cek) break;
  }
  if (!cek) refuse("unwrap", "the wrapped key does not open with this user's private key");
  if (cek.length !== CEK_LENGTH) {
    refuse("unwrap", `the wrapped key holds ${cek.length} bytes, not 32`);
  }
  if (!constantTimeEqual(await keyCommitment(cek), frame.kc)) {
    refuse("kc_mismatch", "the key commitment does not match the unwrapped key");
  }
  const plaintext = await decryptContent(cek, frame.nonce, frame.ciphertext, frame.headerBytes);
  if (!plaintext) refuse("decrypt", "the content does not decrypt (authentication tag)");

  // 7. Replay.
  const seenAt = ctx.now();
  const keepUntil = Math.max(header.ts, seenAt) + REPLAY_MEMORY_MS;
  if (await ctx.replay.remember(header.from, header.id, seenAt, keepUntil)) {
    return { kind: "replay", header };
  }
  return {
    kind: "open",
    plaintext,
    header,
    senderFingerprint: header.fp,
    pinnedOnFirstUse: verdict === "first_use",
  };
}
