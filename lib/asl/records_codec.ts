// The record plaintext and record line codec (spec section 3, "Records"): the line-level
// checks (strict base64, plaintext 1–32 768 bytes of valid UTF-8), with an allocation-free
// decoder for the session's synchronous path, and the one decoder of a record plaintext into
// its command lines (revision 4: several lines joined by LF, none empty). No cipher here:
// records.ts seals and opens lines with one.

import { pooled } from "./bytes.ts";
import { AslError } from "./errors.ts";
import { MAX_RECORD_LINE_CHARS } from "./framing.ts";

/** Largest record plaintext in bytes. */
export const MAX_PLAINTEXT_BYTES = 32_768;

/** The byte that joins the command lines of one record plaintext. */
const LF = 0x0a;

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

/** The error of a record line that is not strict base64. */
export function notStrictBase64(): AslError {
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
 * import { decodeRecordPlaintext } from "./records_codec.ts";
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
