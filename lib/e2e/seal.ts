// Sealing an ASL-E2E/1 envelope (ASL spec section 7, "Envelope" and "Sending"): H as compact
// JSON, the key commitment KC, the content C, one wrapped key W per recipient, the sender's
// SIG, and the split of a group into several envelopes when one would pass the 11 111-
// character payload limit. Pure: keys and bytes in, envelopes or E2eErrors out.

import { type Bytes, concatBytes } from "../asl/bytes.ts";
import { encodeBase64 } from "../base64.ts";
import { isMessageId, isUserId, MAX_PAYLOAD_CHARS } from "../grammar.ts";
import { sha256FingerprintBase64 } from "../pki/fingerprint.ts";
import { MAX_WRAPPED } from "./envelope.ts";
import { E2eError } from "./errors.ts";
import { CHAT_TYPE, encodeHeader, type Header, HEADER_MAX } from "./header.ts";
import {
  CEK_LENGTH,
  encryptContent,
  KC_LENGTH,
  keyCommitment,
  MAGIC,
  NONCE_LENGTH,
  signEnvelope,
  TAG_LENGTH,
  wrapKey,
} from "./primitives.ts";

/** Bytes of an envelope with these field sizes. */
function envelopeLength(
  headerLength: number,
  wrappedLengths: readonly number[],
  plaintextLength: number,
  signatureLength: number,
): number {
  let total = MAGIC.length + 2 + headerLength + 1;
  for (const w of wrappedLengths) total += 2 + w;
  return total + KC_LENGTH + NONCE_LENGTH + 4 + plaintextLength + TAG_LENGTH + 2 + signatureLength;
}

/** Characters of padded base64 for `bytes` bytes. */
function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}

/**
 * A fresh envelope id: 128 random bits as 22 base64url characters (a MESSAGEID), the form
 * of the vectors' ids.
 *
 * @example
 * ```ts
 * import { randomEnvelopeId } from "./seal.ts";
 * console.log(randomEnvelopeId().length); // 22
 * ```
 */
export function randomEnvelopeId(): string {
  return crypto.getRandomValues(new Uint8Array(16)).toBase64({
    alphabet: "base64url",
    omitPadding: true,
  });
}

/** A recipient of a sealed payload: its USERID and its validated leaf's public key. */
export interface SealRecipient {
  /** The recipient's USERID (the CN of the leaf `key` comes from). */
  readonly userId: string;
  /** The leaf's RSA public key imported for RSA-OAEP with SHA-256, usage `encrypt`. */
  readonly key: CryptoKey;
}

/** The sender: its USERID, its leaf (for `H.fp`) and the leaf's private key. */
export interface SealSender {
  /** The sender's USERID (`H.from`). */
  readonly userId: string;
  /** The sender's leaf certificate, DER; `H.fp` is its fingerprint. */
  readonly leafDer: Uint8Array;
  /** The leaf's private key imported for RSA-PSS with SHA-256, usage `sign`. */
  readonly signKey: CryptoKey;
}

/** What to seal. */
export interface SealInput {
  readonly sender: SealSender;
  /** The recipients, distinct, in the order of `H.to` (the sender too, for its own copy). */
  readonly recipients: readonly SealRecipient[];
  /** The plaintext bytes. */
  readonly plaintext: Uint8Array;
  /** The plaintext's media type (`H.type`); default `text/plain;charset=utf-8`. */
  readonly type?: string;
}

/** Test hooks and the clock of `seal`; by default every value is fresh. */
export interface SealOptions {
  /** `H.ts`; default `Date.now()`. */
  readonly ts?: number;
  /** `H.id`; default `randomEnvelopeId()`. */
  readonly id?: string;
  /** The content key (32 bytes); default random. Never reuse one. */
  readonly cek?: Uint8Array;
  /** The GCM nonce (12 bytes); default random. */
  readonly nonce?: Uint8Array;
}

/** Options of `sealSplit`: the clock and the id source (CEK and NONCE are always fresh). */
export interface SealSplitOptions {
  /** `H.ts` of every part; default `Date.now()`. */
  readonly ts?: number;
  /** Draws each part's `H.id` (and MESSAGEID); default `randomEnvelopeId`. */
  readonly newId?: () => string;
}

/** One sealed envelope, ready to send as `MESSAGE <header.id> <to> <payload>`. */
export interface SealedEnvelope {
  /** The envelope bytes. */
  readonly envelope: Uint8Array;
  /** `b64(envelope)`: the MESSAGE payload (at most 11 111 characters). */
  readonly payload: string;
  /** H as sealed. */
  readonly header: Header;
  /** H's exact bytes. */
  readonly headerBytes: Uint8Array;
}

function invalid(message: string): never {
  throw new E2eError("invalid_input", message);
}

function modulusBytes(key: CryptoKey, name: string, usage: KeyUsage, role: string): number {
  const alg = key.algorithm as Partial<RsaHashedKeyAlgorithm>;
  const hash = (alg.hash as { name?: string } | undefined)?.name;
  if (alg.name !== name || hash !== "SHA-256" || !key.usages.includes(usage)) {
    invalid(`${role} must be an ${name} SHA-256 key with usage ${usage}`);
  }
  return Math.ceil((alg.modulusLength ?? 0) / 8);
}

interface Prepared {
  readonly from: string;
  readonly fp: string;
  readonly type: string;
  readonly sigLength: number;
  readonly wrapLengths: ReadonlyMap<string, number>;
}

async function prepare(input: SealInput): Promise<Prepared> {
  const { sender, recipients, type = CHAT_TYPE } = input;
  if (!isUserId(sender.userId)) invalid("the sender's id is not a USERID");
  const sigLength = modulusBytes(sender.signKey, "RSA-PSS", "sign", "the sender's key");
  if (recipients.length === 0) invalid("there is no recipient");
  const wrapLengths = new Map<string, number>();
  for (const r of recipients) {
    if (!isUserId(r.userId)) invalid(`${JSON.stringify(r.userId)} is not a USERID`);
    if (wrapLengths.has(r.userId)) invalid(`${r.userId} is named twice among the recipients`);
    wrapLengths.set(r.userId, modulusBytes(r.key, "RSA-OAEP", "encrypt", `${r.userId}'s key`));
  }
  return {
    from: sender.userId,
    fp: await sha256FingerprintBase64(sender.leafDer),
    type,
    sigLength,
    wrapLengths,
  };
}

function checkTs(ts: number): void {
  if (!Number.isSafeInteger(ts) || ts < 0) invalid("ts is not an integer from 0 to 2^53 - 1");
}

/** H for `to`, and whether an envelope with it fits (H at most 4 096 bytes, payload ≤ 11 111). */
function layout(
  p: Prepared,
  to: readonly string[],
  id: string,
  ts: number,
  plaintextLength: number,
): { header: Header; headerBytes: Bytes; fits: boolean } {
  const header: Header = Object.freeze({
    from: p.from,
    fp: p.fp,
    to: Object.freeze([...to]),
    id,
    ts,
    type: p.type,
  });
  const headerBytes = encodeHeader(header);
  const length = envelopeLength(
    headerBytes.length,
    to.map((u) => p.wrapLengths.get(u)!),
    plaintextLength,
    p.sigLength,
  );
  const fits = to.length <= MAX_WRAPPED && headerBytes.length <= HEADER_MAX &&
    base64Length(length) <= MAX_PAYLOAD_CHARS;
  return { header, headerBytes, fits };
}

async function sealLaidOut(
  input: SealInput,
  header: Header,
  headerBytes: Bytes,
  cek: Uint8Array,
  nonce: Uint8Array,
): Promise<SealedEnvelope> {
  const keys = new Map(input.recipients.map((r) => [r.userId, r.key]));
  const [kc, ciphertext, wrapped] = await Promise.all([
    keyCommitment(cek),
    encryptContent(cek, nonce, input.plaintext, headerBytes),
    Promise.all(header.to.map((u) => wrapKey(keys.get(u)!, cek))),
  ]);
  const u16 = (n: number) => new Uint8Array([n >> 8, n & 0xff]);
  const u32 = (n: number) => {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, n);
    return out;
  };
  const signedPart = concatBytes([
    MAGIC,
    u16(headerBytes.length),
    headerBytes,
    new Uint8Array([wrapped.length]),
    ...wrapped.flatMap((w) => [u16(w.length), w]),
    kc,
    nonce,
    u32(ciphertext.length),
    ciphertext,
  ]);
  const signature = await signEnvelope(input.sender.signKey, signedPart);
  const envelope = concatBytes([signedPart, u16(signature.length), signature]);
  return { envelope, payload: encodeBase64(envelope), header, headerBytes };
}

/**
 * Seals `input.plaintext` in one envelope to all of `input.recipients` (section 7,
 * "Sending", step 2): H as compact JSON (from, fp, to, id, ts, type), KC, C, one W per
 * recipient in order, SIG. Throws `E2eError("too_large")` when the envelope would not fit
 * (payload over 11 111 characters, H over 4 096 bytes, more than 100 recipients; see
 * `sealSplit` for groups) and `E2eError("invalid_input")` for bad arguments. The
 * recipients' leaves must have been validated and accepted (pinning) by the caller.
 *
 * @example
 * ```ts ignore
 * import { seal } from "./seal.ts";
 * const sealed = await seal({
 *   sender: { userId: "alice", leafDer: aliceLeaf, signKey: alice.signKey },
 *   recipients: [{ userId: "bob", key: bobEncryptKey }],
 *   plaintext: new TextEncoder().encode("hello"),
 * });
 * console.log(sealed.payload.length <= 11_111); // true
 * ```
 */
export async function seal(input: SealInput, options: SealOptions = {}): Promise<SealedEnvelope> {
  const p = await prepare(input);
  const ts = options.ts ?? Date.now();
  checkTs(ts);
  const id = options.id ?? randomEnvelopeId();
  if (!isMessageId(id)) invalid("id is not a MESSAGEID");
  const cek = options.cek ?? crypto.getRandomValues(new Uint8Array(CEK_LENGTH));
  const nonce = options.nonce ?? crypto.getRandomValues(new Uint8Array(NONCE_LENGTH));
  if (cek.length !== CEK_LENGTH) invalid(`the CEK must have ${CEK_LENGTH} bytes`);
  if (nonce.length !== NONCE_LENGTH) invalid(`the NONCE must have ${NONCE_LENGTH} bytes`);
  const to = input.recipients.map((r) => r.userId);
  const { header, headerBytes, fits } = layout(p, to, id, ts, input.plaintext.length);
  if (!fits) {
    throw new E2eError(
      "too_large",
      `the sealed message to ${to.length} recipient(s) would exceed the payload limit`,
    );
  }
  return sealLaidOut(input, header, headerBytes, cek, nonce);
}

/**
 * Seals to a group (section 7, "Sending", step 3): one envelope when it fits, otherwise
 * several, each with as many of the recipients (in order) as fit, its own H whose `to`
 * lists only that part, its own random id (to be used as the MESSAGEID) and its own fresh
 * CEK and NONCE. When even one recipient alone does not fit, nothing is sealed and
 * `E2eError("too_large")` is thrown. The parts' `to` lists partition the recipients.
 *
 * @example
 * ```ts ignore
 * import { sealSplit } from "./seal.ts";
 * const parts = await sealSplit({ sender, recipients: members, plaintext });
 * for (const part of parts) send(part.header.id, part.header.to, part.payload);
 * ```
 */
export async function sealSplit(
  input: SealInput,
  options: SealSplitOptions = {},
): Promise<SealedEnvelope[]> {
  const p = await prepare(input);
  const ts = options.ts ?? Date.now();
  checkTs(ts);
  const newId = options.newId ?? randomEnvelopeId;
  const plan: { header: Header; headerBytes: Bytes }[] = [];
  let part: string[] = [];
  let id = "";
  let current: { header: Header; headerBytes: Bytes } | undefined;
  const tooLarge = (user: string): never => {
    throw new E2eError(
      "too_large",
      `the sealed message would exceed the payload limit even for ${user} alone`,
    );
  };
  for (const r of input.recipients) {
    if (part.length === 0) {
      id = newId();
      if (!isMessageId(id)) invalid("a drawn id is not a MESSAGEID");
    }
    const tryPart = [...part, r.userId];
    const laid = layout(p, tryPart, id, ts, input.plaintext.length);
    if (laid.fits) {
      part = tryPart;
      current = laid;
      continue;
    }
    if (part.length === 0) tooLarge(r.userId);
    plan.push(current!);
    id = newId();
    if (!isMessageId(id)) invalid("a drawn id is not a MESSAGEID");
    const alone = layout(p, [r.userId], id, ts, input.plaintext.length);
    if (!alone.fits) tooLarge(r.userId);
    part = [r.userId];
    current = alone;
  }
  if (current) plan.push(current);
  const out: SealedEnvelope[] = [];
  for (const { header, headerBytes } of plan) {
    const cek = crypto.getRandomValues(new Uint8Array(CEK_LENGTH));
    const nonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH));
    out.push(await sealLaidOut(input, header, headerBytes, cek, nonce));
  }
  return out;
}
