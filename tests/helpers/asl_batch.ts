// Test helper for the record side of the revision 4 vector file
// (tests/fixtures/asl-vectors/asl-session-X25519_AES_GCM.json, README section on that file):
// its per-direction keys, its records (with `lines`, several per record) and the authentic
// records a receiver must refuse for an empty line (only the fields the record tests use);
// and a Session built straight from record keys over the in-memory pipe.

import { FrameReader, RECORD_LIMITS } from "../../lib/asl/framing.ts";
import type { DirectionKeys } from "../../lib/asl/key_schedule.ts";
import { createPipe } from "../../lib/asl/pipe.ts";
import { createRecordCipher } from "../../lib/asl/records.ts";
import type { RecordImpl } from "../../lib/asl/records_cipher.ts";
import { Session, type SessionOptions } from "../../lib/asl/session.ts";
import type { Duplex, Suite } from "../../lib/asl/types.ts";
import type { ValidatedPeer } from "../../lib/pki/types.ts";
import { hex, readVectorText } from "./asl.ts";

/** One recorded record of the X25519_AES_GCM session: its plaintext and its command lines. */
export interface BatchVectorRecord {
  readonly seq: number;
  readonly plaintext: string;
  readonly lines: readonly string[];
  readonly record_hex: string;
  readonly line: string;
}

/** An authentic record whose plaintext breaks the line rule (`records_rejected`). */
export interface RejectedVectorRecord {
  readonly direction: "c2s" | "s2c";
  readonly recv_seq: number;
  readonly plaintext: string;
  readonly line: string;
  readonly reason: string;
}

/** The record part of the X25519_AES_GCM session vector. */
export interface BatchSessionVector {
  readonly suite: "X25519_AES_GCM";
  readonly revision: number;
  readonly keys: Record<"c2s" | "s2c", { readonly key: string; readonly iv: string }>;
  readonly records: Record<"c2s" | "s2c", readonly BatchVectorRecord[]>;
  readonly records_rejected: readonly RejectedVectorRecord[];
}

/** Loads the X25519_AES_GCM session vector (its record fields). */
export async function loadBatchSession(): Promise<BatchSessionVector> {
  return JSON.parse(await readVectorText("asl-session-X25519_AES_GCM.json"));
}

/** The recorded keys of one direction as record-cipher keys. */
export function batchKeys(v: BatchSessionVector, direction: "c2s" | "s2c"): DirectionKeys {
  const k = v.keys[direction];
  return { suite: "X25519_AES_GCM", key: hex(k.key), iv: hex(k.iv) };
}

/** A Session built straight from record keys (no handshake) and the raw end of its pipe. */
export interface KeyedSession {
  readonly session: Session;
  /** The other end of the pipe: write record lines into it, read what the session sends. */
  readonly peer: Duplex;
}

/** Options of `keyedSession`. */
export interface KeyedSessionOptions {
  /** Record implementation of both ciphers; default `node` (the fast path). */
  readonly impl?: RecordImpl;
  /** The session's tuning. */
  readonly session?: SessionOptions;
  /** Bytes the pipe buffers per direction; default 1 MiB. */
  readonly capacity?: number;
}

/**
 * A Session with `suite` over an in-memory pipe, sealing with `send` and opening with `recv`,
 * as the endpoint builds one after a handshake.
 */
export async function keyedSession(
  suite: Suite,
  send: DirectionKeys,
  recv: DirectionKeys,
  options: KeyedSessionOptions = {},
): Promise<KeyedSession> {
  const [a, b] = createPipe(options.capacity ?? 1 << 20);
  const impl = options.impl ?? "node";
  const session = new Session({
    conn: a,
    reader: new FrameReader(a, RECORD_LIMITS),
    suite,
    peer: {} as ValidatedPeer,
    sendCipher: await createRecordCipher(send, { impl }),
    recvCipher: await createRecordCipher(recv, { impl }),
    ...(options.session ? { options: options.session } : {}),
  });
  return { session, peer: b };
}

/** Splits raw session output (`b64 LF LF` per record) into its record lines. */
export function wireRecordLines(text: string): string[] {
  if (text === "") return [];
  if (!text.endsWith("\n\n")) throw new Error("output does not end in LF LF");
  return text.slice(0, -2).split("\n\n");
}
