// The ASL-E2E/1 envelope's framing (ASL spec section 7, "Envelope", receiving step 1): telling
// an envelope from a plain payload by its 8-byte magic, and parsing the framing (every length
// consistent, nothing left over) and then H (header.ts) strictly. Sealing is in seal.ts. Pure:
// bytes in, values or E2eErrors out.

import { MAX_RECIPIENTS } from "../grammar.ts";
import { E2eError } from "./errors.ts";
import { type Header, HEADER_MAX, headerFault, parseHeader } from "./header.ts";
import { KC_LENGTH, MAGIC, NONCE_LENGTH, TAG_LENGTH } from "./primitives.ts";

/** Most wrapped keys (recipients) in one envelope. */
export const MAX_WRAPPED = MAX_RECIPIENTS;

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
