// ASL records (spec section 3, "Cipher suites" and "Records"): one RecordCipher per suite and
// direction (seal/open at an implicit seq), the sequence counter with its 2^23 limit, and
// the line-level checks (strict base64, plaintext 1–32 768 bytes of valid UTF-8), with an
// allocation-free decoder for the session's synchronous path, and the one decoder of a record
// plaintext into its command lines (revision 4: several lines joined by LF, none empty).
// Two implementations pass every vector: WebCrypto (portable reference) and node:crypto
// (the fast path the session uses by default; it reuses its nonce buffer and builds records
// in node:buffer's pooled memory, so its results may be views into a shared pool).

import { Buffer } from "node:buffer";
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from "node:crypto";
import { decodeBase64Strict, encodeBase64 } from "../base64.ts";
import { buf, type Bytes, concatBytes } from "./bytes.ts";
import { AslError } from "./errors.ts";
import { MAX_RECORD_LINE_CHARS } from "./framing.ts";
import type { DirectionKeys } from "./key_schedule.ts";

/** Most records one side sends (or accepts) per direction in one connection: 2^23. */
export const MAX_RECORDS = 2 ** 23;
/** Largest record plaintext in bytes. */
export const MAX_PLAINTEXT_BYTES = 32_768;

/** The byte that joins the command lines of one record plaintext. */
const LF = 0x0a;
const TAG_BYTES = 16;
const BLOCK = 16;
const MAC_BYTES = 32;

/**
 * Seals and opens the records of one direction; `seq` is the record's sequence number.
 *
 * Results of the node:crypto implementation (sync and promise forms) may be views into a
 * shared pool (node:buffer's): each stays valid and is never handed out again, but its
 * `.buffer` also holds unrelated bytes. Read the returned bytes through the view only (its
 * `byteOffset`/`length`); never transfer, detach or expose its whole `.buffer`.
 */
export interface RecordCipher {
  /** Encrypts and authenticates `plaintext` as record number `seq`; returns the record bytes. */
  seal(plaintext: Uint8Array, seq: number): Promise<Uint8Array>;
  /** Authenticates and decrypts record number `seq`; throws `AslError("DECRYPT_ERROR")`. */
  open(record: Uint8Array, seq: number): Promise<Uint8Array>;
  /**
   * Synchronous `seal`, where the implementation has one (node:crypto): the session's hot
   * path seals a whole batch without a promise per record.
   */
  sealSync?(plaintext: Uint8Array, seq: number): Uint8Array;
  /** Synchronous `open` (node:crypto); throws `AslError("DECRYPT_ERROR")`. */
  openSync?(record: Uint8Array, seq: number): Uint8Array;
}

/** Which implementation backs a RecordCipher. */
export type RecordImpl = "node" | "webcrypto";

/** Options of `createRecordCipher`. */
export interface RecordCipherOptions {
  /** Default `node` (fast path). */
  readonly impl?: RecordImpl;
  /** Source of AES_CBC IVs; default `crypto.getRandomValues`. Tests inject recorded IVs. */
  readonly random?: (length: number) => Uint8Array;
}

/**
 * Owns one direction's sequence number: starts at 0, `take()` returns the next and refuses to
 * go past `limit` (2^23 by default) with `AslError("CLOSED")`.
 */
export class SequenceCounter {
  #next = 0;
  constructor(readonly limit: number = MAX_RECORDS) {}
  /** The number the next record will get. */
  get value(): number {
    return this.#next;
  }
  /** True when no further record may pass. */
  get exhausted(): boolean {
    return this.#next >= this.limit;
  }
  /** Returns the next sequence number and advances. */
  take(): number {
    if (this.#next >= this.limit) {
      throw new AslError("CLOSED", `record limit of ${this.limit} per direction reached`);
    }
    return this.#next++;
  }
}

function decryptError(cause?: unknown): AslError {
  return new AslError("DECRYPT_ERROR", "record failed authentication", { cause });
}

/** u64be(seq) for a safe integer seq (no BigInt: this runs once per record). */
function u64be(seq: number): Uint8Array {
  const out = new Uint8Array(8);
  writeU64be(out, 0, seq);
  return out;
}

function writeU64be(out: Uint8Array, at: number, seq: number): void {
  const hi = Math.floor(seq / 0x1_0000_0000);
  const lo = seq >>> 0;
  out[at] = hi >>> 24;
  out[at + 1] = (hi >>> 16) & 0xff;
  out[at + 2] = (hi >>> 8) & 0xff;
  out[at + 3] = hi & 0xff;
  out[at + 4] = lo >>> 24;
  out[at + 5] = (lo >>> 16) & 0xff;
  out[at + 6] = (lo >>> 8) & 0xff;
  out[at + 7] = lo & 0xff;
}

/** GCM nonce = iv XOR (0x00000000 || u64be(seq)). */
export function gcmNonce(iv: Uint8Array, seq: number): Bytes {
  return gcmNonceInto(new Uint8Array(12), iv, seq);
}

/** Writes the GCM nonce of record `seq` into `out` (12 bytes) and returns `out`. */
function gcmNonceInto<T extends Uint8Array>(out: T, iv: Uint8Array, seq: number): T {
  out[0] = 0;
  out[1] = 0;
  out[2] = 0;
  out[3] = 0;
  writeU64be(out, 4, seq);
  for (let i = 0; i < 12; i++) out[i]! ^= iv[i]!;
  return out;
}

/**
 * `n` bytes of pooled memory as a plain Uint8Array (not a Buffer, whose `slice` does not copy):
 * a view into node:buffer's shared pool (its `.buffer` holds other data), no new ArrayBuffer.
 * Pooled slices are never handed out twice, so the view stays valid; its bytes are not zeroed.
 */
function pooled(n: number): Bytes {
  const b = Buffer.allocUnsafe(n);
  return new Uint8Array(b.buffer as ArrayBuffer, b.byteOffset, n);
}

function cat(...parts: Uint8Array[]) {
  return concatBytes(parts);
}

const defaultRandom = (length: number) => crypto.getRandomValues(new Uint8Array(length));

function cbcShapeOk(record: Uint8Array): boolean {
  const c = record.length - BLOCK - MAC_BYTES;
  return c >= BLOCK && c % BLOCK === 0;
}

// --- node:crypto fast path ---------------------------------------------------------------

// Keys as Buffers (private copies): node:crypto converts anything else to a Buffer on every
// createCipheriv, once per record. seal/open are synchronous underneath; the promise forms
// wrap the sync ones. Per record, our own code allocates no ArrayBuffer: the nonce buffer is
// reused (createCipheriv/createDecipheriv copy the IV before returning) and records are built
// in pooled memory (see `pooled`); what remains is inside node:crypto.
function nodeGcm(rawKey: Uint8Array, iv: Uint8Array): RecordCipher {
  const key = Buffer.from(rawKey);
  const nonce = Buffer.alloc(12);
  const sealSync = (plaintext: Uint8Array, seq: number): Uint8Array => {
    const c = createCipheriv("aes-256-gcm", key, gcmNonceInto(nonce, iv, seq));
    const body = c.update(plaintext);
    c.final(); // GCM: no output
    const tag = c.getAuthTag();
    const out = pooled(body.length + TAG_BYTES);
    out.set(body);
    out.set(tag, body.length);
    return out;
  };
  const openSync = (record: Uint8Array, seq: number): Uint8Array => {
    if (record.length < TAG_BYTES) throw decryptError();
    try {
      const d = createDecipheriv("aes-256-gcm", key, gcmNonceInto(nonce, iv, seq), {
        authTagLength: TAG_BYTES,
      });
      d.setAuthTag(record.subarray(record.length - TAG_BYTES));
      const head = d.update(record.subarray(0, record.length - TAG_BYTES));
      const tail = d.final(); // GCM: empty
      return tail.length === 0 ? head : cat(head, tail);
    } catch (err) {
      throw decryptError(err);
    }
  };
  return withPromises(sealSync, openSync);
}

function nodeCbc(
  rawEnc: Uint8Array,
  rawMac: Uint8Array,
  random: (n: number) => Uint8Array,
): RecordCipher {
  const enc = Buffer.from(rawEnc);
  const mac = Buffer.from(rawMac);
  const seqBytes = Buffer.alloc(8); // reused: createHmac's update consumes it at once
  const tag = (seq: number, ivAndC: Uint8Array) => {
    writeU64be(seqBytes, 0, seq);
    return createHmac("sha256", mac).update(seqBytes).update(ivAndC).digest();
  };
  const sealSync = (plaintext: Uint8Array, seq: number): Uint8Array => {
    const iv = random(BLOCK);
    const c = createCipheriv("aes-256-cbc", enc, iv);
    const body = c.update(plaintext);
    const last = c.final();
    const cLength = body.length + last.length;
    const out = pooled(BLOCK + cLength + MAC_BYTES);
    out.set(iv);
    out.set(body, BLOCK);
    out.set(last, BLOCK + body.length);
    out.set(tag(seq, out.subarray(0, BLOCK + cLength)), BLOCK + cLength);
    return out;
  };
  const openSync = (record: Uint8Array, seq: number): Uint8Array => {
    if (!cbcShapeOk(record)) throw decryptError();
    const ivAndC = record.subarray(0, record.length - MAC_BYTES);
    const expected = tag(seq, ivAndC);
    if (!timingSafeEqual(expected, record.subarray(record.length - MAC_BYTES))) {
      throw decryptError();
    }
    try {
      const d = createDecipheriv("aes-256-cbc", enc, ivAndC.subarray(0, BLOCK));
      const head = d.update(ivAndC.subarray(BLOCK));
      const last = d.final();
      const out = pooled(head.length + last.length);
      out.set(head);
      out.set(last, head.length);
      return out;
    } catch (err) {
      throw decryptError(err);
    }
  };
  return withPromises(sealSync, openSync);
}

function withPromises(
  sealSync: (plaintext: Uint8Array, seq: number) => Uint8Array,
  openSync: (record: Uint8Array, seq: number) => Uint8Array,
): RecordCipher {
  return {
    sealSync,
    openSync,
    seal(plaintext, seq) {
      try {
        return Promise.resolve(sealSync(plaintext, seq));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    open(record, seq) {
      try {
        return Promise.resolve(openSync(record, seq));
      } catch (err) {
        return Promise.reject(err);
      }
    },
  };
}

// --- WebCrypto reference ------------------------------------------------------------------

async function webGcm(rawKey: Uint8Array, iv: Uint8Array): Promise<RecordCipher> {
  const key = await crypto.subtle.importKey("raw", buf(rawKey), "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
  return {
    async seal(plaintext, seq) {
      const params = { name: "AES-GCM", iv: gcmNonce(iv, seq), tagLength: 128 };
      return new Uint8Array(await crypto.subtle.encrypt(params, key, buf(plaintext)));
    },
    async open(record, seq) {
      if (record.length < TAG_BYTES) throw decryptError();
      const params = { name: "AES-GCM", iv: gcmNonce(iv, seq), tagLength: 128 };
      try {
        return new Uint8Array(await crypto.subtle.decrypt(params, key, buf(record)));
      } catch (err) {
        throw decryptError(err);
      }
    },
  };
}

async function webCbc(
  rawEnc: Uint8Array,
  rawMac: Uint8Array,
  random: (n: number) => Uint8Array,
): Promise<RecordCipher> {
  const enc = await crypto.subtle.importKey("raw", buf(rawEnc), "AES-CBC", false, [
    "encrypt",
    "decrypt",
  ]);
  const mac = await crypto.subtle.importKey(
    "raw",
    buf(rawMac),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  return {
    async seal(plaintext, seq) {
      const iv = random(BLOCK);
      const c = new Uint8Array(
        await crypto.subtle.encrypt({ name: "AES-CBC", iv: buf(iv) }, enc, buf(plaintext)),
      );
      const ivAndC = cat(iv, c);
      const t = await crypto.subtle.sign("HMAC", mac, cat(u64be(seq), ivAndC));
      return cat(ivAndC, new Uint8Array(t));
    },
    async open(record, seq) {
      if (!cbcShapeOk(record)) throw decryptError();
      const ivAndC = record.subarray(0, record.length - MAC_BYTES);
      const t = record.subarray(record.length - MAC_BYTES);
      // HMAC verify compares in constant time.
      if (!await crypto.subtle.verify("HMAC", mac, buf(t), cat(u64be(seq), ivAndC))) {
        throw decryptError();
      }
      try {
        const params = { name: "AES-CBC", iv: buf(ivAndC.subarray(0, BLOCK)) };
        return new Uint8Array(
          await crypto.subtle.decrypt(params, enc, buf(ivAndC.subarray(BLOCK))),
        );
      } catch (err) {
        throw decryptError(err);
      }
    },
  };
}

/**
 * Creates the RecordCipher of one direction from its HKDF keys.
 *
 * @example
 * ```ts
 * import { createRecordCipher } from "./records.ts";
 * const keys = { suite: "AES_GCM" as const, key: new Uint8Array(32), iv: new Uint8Array(12) };
 * const cipher = await createRecordCipher(keys);
 * const record = await cipher.seal(new TextEncoder().encode("OK alice"), 0);
 * console.log(new TextDecoder().decode(await cipher.open(record, 0))); // "OK alice"
 * ```
 */
export function createRecordCipher(
  keys: DirectionKeys,
  options: RecordCipherOptions = {},
): Promise<RecordCipher> {
  const random = options.random ?? defaultRandom;
  if ((options.impl ?? "node") === "node") {
    if (keys.suite !== "AES_CBC") {
      return Promise.resolve(nodeGcm(keys.key.slice(), keys.iv.slice()));
    }
    return Promise.resolve(nodeCbc(keys.enc.slice(), keys.mac.slice(), random));
  }
  return keys.suite !== "AES_CBC"
    ? webGcm(keys.key, keys.iv.slice())
    : webCbc(keys.enc, keys.mac, random);
}

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Encodes and checks a plaintext line: 1 to 32 768 UTF-8 bytes, no CR or LF. The result may be
 * a view into node:buffer's shared pool (see RecordCipher): read it through the view only.
 */
export function encodePlaintext(line: string): Uint8Array {
  if (line.includes("\n") || line.includes("\r")) {
    throw new AslError("PROTOCOL_ERROR", "a record line holds no CR or LF");
  }
  // Every UTF-16 code unit encodes to at least one byte: a longer line is over the limit.
  if (line.length === 0 || line.length > MAX_PLAINTEXT_BYTES) throw plaintextSizeError();
  // One byte per code unit (ASCII, the usual line) fits pooled memory of line.length bytes;
  // anything else takes the allocating encoder.
  const out = pooled(line.length);
  if (encoder.encodeInto(line, out).read === line.length) return out;
  const bytes = encoder.encode(line);
  if (bytes.length > MAX_PLAINTEXT_BYTES) throw plaintextSizeError();
  return bytes;
}

function plaintextSizeError(): AslError {
  return new AslError(
    "PROTOCOL_ERROR",
    `a record plaintext must be 1 to ${MAX_PLAINTEXT_BYTES} bytes`,
  );
}

/**
 * Encodes several command lines as ONE record plaintext (spec section 3, "Records"): each line
 * as `encodePlaintext` checks it (1 or more bytes, no CR or LF), joined by single LF bytes, at
 * most 32 768 bytes in all. What a batching sender puts in a record. Throws
 * `AslError("PROTOCOL_ERROR")` for no line, a bad line or a plaintext over the limit.
 */
export function encodeRecordPlaintext(lines: readonly string[]): Uint8Array {
  if (lines.length === 0) throw plaintextSizeError();
  if (lines.length === 1) return encodePlaintext(lines[0]!);
  const parts = lines.map(encodePlaintext);
  let size = parts.length - 1;
  for (const part of parts) size += part.length;
  if (size > MAX_PLAINTEXT_BYTES) throw plaintextSizeError();
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    if (at > 0) out[at++] = LF;
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Seals one plaintext line as record `seq` and returns the base64 session line (no `LF`). */
export async function sealLine(cipher: RecordCipher, line: string, seq: number): Promise<string> {
  return encodeBase64(await cipher.seal(encodePlaintext(line), seq));
}

/**
 * Seals command lines as ONE record `seq` (joined by LF, see `encodeRecordPlaintext`) and
 * returns the base64 session line (no `LF`).
 */
export async function sealLines(
  cipher: RecordCipher,
  lines: readonly string[],
  seq: number,
): Promise<string> {
  return encodeBase64(await cipher.seal(encodeRecordPlaintext(lines), seq));
}

function notStrictBase64(): AslError {
  return new AslError("PROTOCOL_ERROR", "record line is not strict base64");
}

/** A strict encoding of `bytes` (> 0) bytes is exactly 4*ceil(bytes/3) characters long. */
function strictLength(line: string, bytes: number): boolean {
  return bytes > 0 && line.length === 4 * Math.ceil(bytes / 3);
}

/**
 * Decodes one record line as strict base64 (the line holds no LF: the framing split it).
 * Same verdicts as `decodeBase64Strict` without its regular expression: the runtime decoder
 * in strict mode checks alphabet, padding and padding bits; it skips ASCII whitespace, which
 * the length check then catches (a strict encoding of n bytes is exactly 4*ceil(n/3) long).
 * Throws `AslError("PROTOCOL_ERROR")`.
 */
export function decodeRecordLine(line: string): Uint8Array {
  let record: Uint8Array;
  try {
    record = Uint8Array.fromBase64(line, { lastChunkHandling: "strict" });
  } catch {
    throw notStrictBase64();
  }
  if (!strictLength(line, record.length)) throw notStrictBase64();
  return record;
}

/** Bytes of the decode scratch: what a record line of MAX_RECORD_LINE_CHARS can hold (49 152). */
const SCRATCH_BYTES = 3 * Math.ceil(MAX_RECORD_LINE_CHARS / 4);
/** The scratch `decodeRecordLineTransient` decodes into: one per process, made on first use. */
let scratch: Uint8Array | undefined;

/**
 * `decodeRecordLine` without a new ArrayBuffer: decodes into one scratch buffer shared by every
 * caller and returns a view of it, which the next call overwrites. Use the result synchronously
 * (no `await` before it has been read and copied, as a synchronous `openSync` does). Same
 * verdicts as `decodeRecordLine`: the same strict runtime decoder, the whole line must be read
 * and the same length check rejects skipped whitespace. Throws `AslError("PROTOCOL_ERROR")`.
 */
export function decodeRecordLineTransient(line: string): Uint8Array {
  // 4 characters hold at most 3 bytes: longer lines (the framing never passes one) could
  // overflow the scratch; they take the allocating decoder.
  if (3 * Math.ceil(line.length / 4) > SCRATCH_BYTES) return decodeRecordLine(line);
  const into = scratch ??= new Uint8Array(SCRATCH_BYTES);
  let read: number;
  let written: number;
  try {
    ({ read, written } = into.setFromBase64(line, { lastChunkHandling: "strict" }));
  } catch {
    throw notStrictBase64();
  }
  // The decoder stops early only when the scratch is full, which a line within the bound
  // reaches with its last chunk at the earliest; a line not read to its end is rejected.
  if (read !== line.length || !strictLength(line, written)) throw notStrictBase64();
  return into.subarray(0, written);
}

/** Checks an opened plaintext (1 to 32 768 bytes of valid UTF-8) and decodes it. */
export function decodePlaintext(plaintext: Uint8Array): string {
  if (plaintext.length === 0 || plaintext.length > MAX_PLAINTEXT_BYTES) {
    throw new AslError("PROTOCOL_ERROR", "record plaintext length out of range");
  }
  try {
    return strictUtf8.decode(plaintext);
  } catch (err) {
    throw new AslError("PROTOCOL_ERROR", "record plaintext is not valid UTF-8", { cause: err });
  }
}

/**
 * THE record decoder (spec section 3, "Records"), shared by the session's receive path and the
 * vector tests: an opened record plaintext in, its command lines out, in order. Checks the
 * plaintext (1 to 32 768 bytes of valid UTF-8) and the line rule: the lines are joined by single
 * LF bytes, so a leading or trailing LF, two LFs in a row or a lone LF (an empty line) refuses
 * the whole record. Lines are appended to `into` (a new array by default) all or none: on a
 * refusal nothing has been appended. Nothing else is judged here: a line with a CR or other
 * non-printable characters is a line like any other, for the command layer to answer
 * (`FAILED * MALFORMED`). Throws `AslError("PROTOCOL_ERROR")`.
 *
 * @example
 * ```ts
 * import { decodeRecordPlaintext } from "./records.ts";
 * const bytes = new TextEncoder().encode("OK m1\nOK m2");
 * console.log(decodeRecordPlaintext(bytes)); // ["OK m1", "OK m2"]
 * ```
 */
export function decodeRecordPlaintext(plaintext: Uint8Array, into: string[] = []): string[] {
  const text = decodePlaintext(plaintext);
  let at = text.indexOf("\n");
  if (at === -1) {
    // The usual record (and every record of a revision 3 sender): one line.
    into.push(text);
    return into;
  }
  // Every check before the first push: a refused record hands over none of its lines.
  if (at === 0 || text.charCodeAt(text.length - 1) === LF || text.includes("\n\n")) {
    throw new AslError("PROTOCOL_ERROR", "record plaintext holds an empty line");
  }
  let start = 0;
  do {
    into.push(text.slice(start, at));
    start = at + 1;
    at = text.indexOf("\n", start);
  } while (at !== -1);
  into.push(text.slice(start));
  return into;
}

/**
 * Opens one received session line as record `seq` and returns its command lines (see
 * `decodeRecordPlaintext`). Throws `AslError` like `openLine`, and `PROTOCOL_ERROR` for a
 * plaintext with an empty line.
 */
export async function openLines(
  cipher: RecordCipher,
  line: string,
  seq: number,
): Promise<string[]> {
  return decodeRecordPlaintext(await cipher.open(decodeRecordLine(line), seq));
}

/**
 * Opens one received session line as record `seq` and returns its plaintext as one string
 * (revision 3's view: LFs included, the line rule not applied; see `openLines`). Throws `AslError`: `PROTOCOL_ERROR` for
 * bad base64 or a plaintext that is empty, over 32 768 bytes or not UTF-8; `DECRYPT_ERROR`
 * for a record that fails authentication (tampered, replayed, reordered, reflected, cut).
 */
export async function openLine(cipher: RecordCipher, line: string, seq: number): Promise<string> {
  const record = decodeBase64Strict(line);
  if (record === undefined || record.length === 0) {
    throw notStrictBase64();
  }
  return decodePlaintext(await cipher.open(record, seq));
}
