// The record cipher's contract (spec section 3, "Records"): what one direction's cipher does
// (seal and open at an implicit seq; synchronous forms on the node:crypto path), and what the
// ciphers of both suites share: the DECRYPT_ERROR they throw, u64be(seq) and the promise forms
// of a synchronous cipher. The ciphers: records_gcm.ts (AES_GCM, X25519_AES_GCM) and
// records_cbc.ts (AES_CBC); records.ts picks one.

import { concatBytes } from "./bytes.ts";
import { AslError } from "./errors.ts";

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

/** A cipher's synchronous seal or open (what a session keeps of a node:crypto cipher). */
export type SyncCipherOp = (data: Uint8Array, seq: number) => Uint8Array;

/** Which implementation backs a RecordCipher. */
export type RecordImpl = "node" | "webcrypto";

/** The error of a record that fails authentication (or has a shape no record has). */
export function decryptError(cause?: unknown): AslError {
  return new AslError("DECRYPT_ERROR", "record failed authentication", { cause });
}

/** u64be(seq) for a safe integer seq (no BigInt: this runs once per record). */
export function u64be(seq: number): Uint8Array {
  const out = new Uint8Array(8);
  writeU64be(out, 0, seq);
  return out;
}

/** Writes u64be(seq) into `out` at `at`. */
export function writeU64be(out: Uint8Array, at: number, seq: number): void {
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

/** Concatenates byte arrays into one new array (see `concatBytes`). */
export function cat(...parts: Uint8Array[]) {
  return concatBytes(parts);
}

/** A RecordCipher from synchronous seal and open: the promise forms wrap the sync ones. */
export function withPromises(
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
