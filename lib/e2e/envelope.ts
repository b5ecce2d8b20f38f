// The ASL-E2E/1 envelope (ASL spec section 7, "Envelope" and "Sending"): telling an envelope
// from a plain payload by its 8-byte magic, parsing the framing and the header H strictly
// (receiving step 1), and sealing: H as compact JSON, KC, C, one W per recipient, SIG, and
// the split of a group into several envelopes when one would pass the 11 111-character
// payload limit. Pure: bytes and keys in, values or E2eErrors out.

import { type Bytes, concatBytes } from "../asl/bytes.ts";
import { encodeBase64 } from "../base64.ts";
import { decodeBase64Strict } from "../base64.ts";
import { isMessageId, isUserId, MAX_PAYLOAD_CHARS, MAX_RECIPIENTS } from "../grammar.ts";
import { sha256FingerprintBase64 } from "../pki/fingerprint.ts";
import { E2eError } from "./errors.ts";
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

/** Most bytes of H. */
export const HEADER_MAX = 4096;
/** Most wrapped keys (recipients) in one envelope. */
export const MAX_WRAPPED = MAX_RECIPIENTS;
/** Largest `H.ts`: 2^53 - 1. */
export const MAX_TS = Number.MAX_SAFE_INTEGER;
/** The media type of chat text. */
export const CHAT_TYPE = "text/plain;charset=utf-8";

/** The six members of H, decoded (ASL section 7). */
export interface Header {
  /** The sender's USERID. */
  readonly from: string;
  /** Fingerprint of the signing leaf: SHA-256 of its DER, canonical base64 (44 characters). */
  readonly fp: string;
  /** The recipients, distinct, in the order of the wrapped keys. */
  readonly to: readonly string[];
  /** The sender's replay key (a MESSAGEID with at least 128 random bits). */
  readonly id: string;
  /** Milliseconds since 1970-01-01 UTC when sealed, 0 to 2^53 - 1. */
  readonly ts: number;
  /** The media type of the plaintext. */
  readonly type: string;
}

/** An envelope's fields as framed, before any check of H or of the cryptography. */
export interface EnvelopeFrame {
  /** H, exactly as carried (signed as bytes, never re-serialised). */
  readonly headerBytes: Uint8Array;
  /** W_1 … W_n. */
  readonly wrapped: readonly Uint8Array[];
  /** KC, 32 bytes. */
  readonly kc: Uint8Array;
  /** NONCE, 12 bytes. */
  readonly nonce: Uint8Array;
  /** C: ciphertext, then the 16-byte tag. */
  readonly ciphertext: Uint8Array;
  /** SIG (any length here; step 3 verifies it). */
  readonly signature: Uint8Array;
  /** S: every envelope byte before `u16be(len(SIG))`. */
  readonly signedPart: Uint8Array;
}

/** An envelope that passed receiving step 1: framing and H. */
export interface DecodedEnvelope {
  readonly frame: EnvelopeFrame;
  readonly header: Header;
}

/**
 * True when `payload` (the decoded MESSAGE payload) begins with the 8-byte magic
 * `"ASLE2E1" 00`; anything else, a future version's magic included, is a plain payload.
 *
 * @example
 * ```ts
 * import { isEnvelope } from "./envelope.ts";
 * console.log(isEnvelope(new TextEncoder().encode("hello"))); // false
 * ```
 */
export function isEnvelope(payload: Uint8Array): boolean {
  if (payload.length < MAGIC.length) return false;
  for (let i = 0; i < MAGIC.length; i++) if (payload[i] !== MAGIC[i]) return false;
  return true;
}

function parseFault(message: string): never {
  throw new E2eError("parse", message);
}

/**
 * Parses the envelope framing strictly (receiving step 1, first half): the magic, every
 * length consistent, 1 to 100 wrapped keys, len(H) 1 to 4 096, KC 32 bytes, NONCE 12,
 * len(C) at least 16, nothing left over. H itself is not looked at (see `parseHeader`).
 * Throws `E2eError("parse")`.
 *
 * @example
 * ```ts
 * import { parseEnvelope } from "./envelope.ts";
 * try {
 *   parseEnvelope(new TextEncoder().encode("ASLE2E1\0"));
 * } catch (e) {
 *   console.log((e as { code: string }).code); // "parse"
 * }
 * ```
 */
export function parseEnvelope(bytes: Uint8Array): EnvelopeFrame {
  if (!isEnvelope(bytes)) parseFault("the envelope does not begin with the ASL-E2E/1 magic");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = MAGIC.length;
  const need = (count: number, what: string) => {
    if (bytes.length - at < count) parseFault(`the envelope ends inside ${what}`);
  };
  const take = (count: number, what: string): Uint8Array => {
    need(count, what);
    const out = bytes.slice(at, at + count);
    at += count;
    return out;
  };
  const u8 = (what: string) => {
    need(1, what);
    return view.getUint8(at++);
  };
  const u16 = (what: string) => {
    need(2, what);
    const v = view.getUint16(at);
    at += 2;
    return v;
  };
  const u32 = (what: string) => {
    need(4, what);
    const v = view.getUint32(at);
    at += 4;
    return v;
  };

  const headerLength = u16("len(H)");
  if (headerLength < 1 || headerLength > HEADER_MAX) {
    parseFault(`len(H) is ${headerLength} (1 to ${HEADER_MAX})`);
  }
  const headerBytes = take(headerLength, "H");
  const n = u8("n");
  if (n < 1 || n > MAX_WRAPPED) parseFault(`n is ${n} (1 to ${MAX_WRAPPED} wrapped keys)`);
  const wrapped: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const length = u16(`len(W_${i + 1})`);
    wrapped.push(take(length, `W_${i + 1}`));
  }
  const kc = take(KC_LENGTH, "KC");
  const nonce = take(NONCE_LENGTH, "NONCE");
  const cLength = u32("len(C)");
  if (cLength < TAG_LENGTH) {
    parseFault(`len(C) is ${cLength} (at least the ${TAG_LENGTH}-byte tag)`);
  }
  const ciphertext = take(cLength, "C");
  const signedEnd = at;
  const sigLength = u16("len(SIG)");
  const signature = take(sigLength, "SIG");
  if (at !== bytes.length) parseFault(`${bytes.length - at} bytes follow SIG`);
  return {
    headerBytes,
    wrapped,
    kc,
    nonce,
    ciphertext,
    signature,
    signedPart: bytes.slice(0, signedEnd),
  };
}

function headerFault(message: string): never {
  throw new E2eError("header", `H ${message}`);
}

const MEMBERS = ["from", "fp", "to", "id", "ts", "type"] as const;
const TS_TEXT = /^(?:0|[1-9][0-9]*)$/;
const FP_TEXT = /^[A-Za-z0-9+/]{43}=$/;
const JSON_SPACE = " \t\n\r";

/**
 * The top-level members of a JSON object, by name and raw value text, in order and with
 * duplicates kept. `text` must already be known to be one valid JSON object (JSON.parse
 * accepted it), so the scan only has to skip strings and nested values.
 */
function topLevelMembers(text: string): { name: string; raw: string }[] {
  let i = 0;
  const space = () => {
    while (i < text.length && JSON_SPACE.includes(text.charAt(i))) i++;
  };
  const skipString = () => {
    i++; // opening quote
    while (i < text.length && text.charAt(i) !== '"') i += text.charAt(i) === "\\" ? 2 : 1;
    i++;
  };
  const skipValue = () => {
    const c = text.charAt(i);
    if (c === '"') return skipString();
    if (c === "{" || c === "[") {
      let depth = 0;
      do {
        const d = text.charAt(i);
        if (d === '"') {
          skipString();
          continue;
        }
        if (d === "{" || d === "[") depth++;
        else if (d === "}" || d === "]") depth--;
        i++;
      } while (depth > 0 && i < text.length);
      return;
    }
    while (
      i < text.length && !",}]".includes(text.charAt(i)) && !JSON_SPACE.includes(text.charAt(i))
    ) i++;
  };
  const members: { name: string; raw: string }[] = [];
  space();
  i++; // "{"
  space();
  if (text.charAt(i) === "}") return members;
  while (i < text.length) {
    space();
    const nameStart = i;
    skipString();
    const name = JSON.parse(text.slice(nameStart, i)) as string;
    space();
    i++; // ":"
    space();
    const valueStart = i;
    skipValue();
    members.push({ name, raw: text.slice(valueStart, i) });
    space();
    if (text.charAt(i) !== ",") break;
    i++;
  }
  return members;
}

/** True when `fp` is canonical padded base64 of 32 bytes (44 characters). */
export function isFingerprint(fp: string): boolean {
  if (!FP_TEXT.test(fp)) return false;
  return decodeBase64Strict(fp)?.length === 32;
}

/**
 * Parses H strictly (receiving step 1, second half): UTF-8 without a byte order mark, one
 * JSON object with exactly the six members `from`, `fp`, `to`, `id`, `ts`, `type`, each
 * once; `from` a USERID, `fp` canonical base64 of 32 bytes, `to` a list of distinct USERIDs,
 * `id` a MESSAGEID, `ts` an integer written without sign, fraction or exponent, 0 to
 * 2^53 - 1, `type` a string. Throws `E2eError("header")`. (`len(to) = n` is checked by
 * `decodeEnvelope`, which knows n.)
 *
 * @example
 * ```ts
 * import { parseHeader } from "./envelope.ts";
 * try {
 *   parseHeader(new TextEncoder().encode('{"from":"alice"}'));
 * } catch (e) {
 *   console.log((e as { code: string }).code); // "header"
 * }
 * ```
 */
export function parseHeader(bytes: Uint8Array): Header {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    headerFault("begins with a byte order mark");
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    headerFault("is not UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    headerFault("is not one JSON value");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    headerFault("is not a JSON object");
  }
  const members = topLevelMembers(text);
  const seen = new Set<string>();
  for (const { name } of members) {
    if (seen.has(name)) headerFault(`has the member ${JSON.stringify(name)} twice`);
    seen.add(name);
  }
  for (const name of MEMBERS) {
    if (!seen.has(name)) headerFault(`lacks the member ${JSON.stringify(name)}`);
  }
  if (members.length !== MEMBERS.length) {
    headerFault(`has ${members.length} members (exactly ${MEMBERS.length})`);
  }
  const h = value as Record<string, unknown>;
  const { from, fp, to, id, type } = h;
  if (typeof from !== "string" || !isUserId(from)) headerFault("member from is not a USERID");
  if (typeof fp !== "string" || !isFingerprint(fp)) {
    headerFault("member fp is not a canonical base64 SHA-256 fingerprint");
  }
  if (!Array.isArray(to)) headerFault("member to is not a list");
  const recipients: string[] = [];
  const distinct = new Set<string>();
  for (const entry of to as unknown[]) {
    if (typeof entry !== "string" || !isUserId(entry)) {
      headerFault("member to holds something that is not a USERID");
    }
    if (distinct.has(entry)) headerFault("member to names a recipient twice");
    distinct.add(entry);
    recipients.push(entry);
  }
  if (typeof id !== "string" || !isMessageId(id)) headerFault("member id is not a MESSAGEID");
  const tsRaw = members.find((m) => m.name === "ts")!.raw;
  if (!TS_TEXT.test(tsRaw) || Number(tsRaw) > MAX_TS) {
    headerFault(
      "member ts is not an integer from 0 to 2^53 - 1 without sign, fraction or exponent",
    );
  }
  if (typeof type !== "string") headerFault("member type is not a string");
  return Object.freeze({
    from,
    fp,
    to: Object.freeze(recipients),
    id,
    ts: Number(tsRaw),
    type,
  });
}

/**
 * Receiving step 1 whole: `parseEnvelope` (the framing is parsed in full first), then
 * `parseHeader`, then `len(H.to) = n`. Throws `E2eError` with `parse` or `header`.
 *
 * @example
 * ```ts
 * import { decodeEnvelope } from "./envelope.ts";
 * try {
 *   decodeEnvelope(new Uint8Array(8));
 * } catch (e) {
 *   console.log((e as { code: string }).code); // "parse"
 * }
 * ```
 */
export function decodeEnvelope(bytes: Uint8Array): DecodedEnvelope {
  const frame = parseEnvelope(bytes);
  const header = parseHeader(frame.headerBytes);
  if (header.to.length !== frame.wrapped.length) {
    headerFault(
      `lists ${header.to.length} recipients but the envelope has ${frame.wrapped.length} wrapped keys`,
    );
  }
  return { frame, header };
}

/** H as sealed: compact JSON with the members in the order from, fp, to, id, ts, type. */
export function encodeHeader(header: Header): Bytes {
  const { from, fp, to, id, ts, type } = header;
  return new TextEncoder().encode(JSON.stringify({ from, fp, to, id, ts, type }));
}

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
 * import { randomEnvelopeId } from "./envelope.ts";
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
 * import { seal } from "./envelope.ts";
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
 * import { sealSplit } from "./envelope.ts";
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
