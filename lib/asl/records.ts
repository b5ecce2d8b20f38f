// ASL records (spec section 3, "Cipher suites" and "Records"): the RecordCipher of one suite
// and direction from its HKDF keys, and sealing and opening whole record lines with it. The
// parts: records_cipher.ts (the cipher contract), records_gcm.ts and records_cbc.ts (the
// ciphers, node:crypto fast path and WebCrypto reference), records_codec.ts (record lines and
// plaintexts, the multi-line rule) and records_sequence.ts (seq and its 2^23 limit).

import { decodeBase64Strict, encodeBase64 } from "../base64.ts";
import type { DirectionKeys } from "./key_schedule.ts";
import { nodeCbc, webCbc } from "./records_cbc.ts";
import type { RecordCipher, RecordImpl } from "./records_cipher.ts";
import {
  decodePlaintext,
  decodeRecordLine,
  decodeRecordPlaintext,
  encodePlaintext,
  encodeRecordPlaintext,
  notStrictBase64,
} from "./records_codec.ts";
import { nodeGcm, webGcm } from "./records_gcm.ts";

/** Options of `createRecordCipher`. */
export interface RecordCipherOptions {
  /** Default `node` (fast path). */
  readonly impl?: RecordImpl;
  /** Source of AES_CBC IVs; default `crypto.getRandomValues`. Tests inject recorded IVs. */
  readonly random?: (length: number) => Uint8Array;
}

const defaultRandom = (length: number) => crypto.getRandomValues(new Uint8Array(length));

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
