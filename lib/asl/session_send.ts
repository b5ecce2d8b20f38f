// The send side of an ASL session (spec section 3, "Records"). Sends are queued in call order,
// sealed together (synchronously on the node:crypto path) and written in ONE write per batch;
// a send resolves once its batch is written, so callers that await are held back by a slow
// socket. With X25519_AES_GCM (`batchesLines`) the lines of a batch share records: joined by
// LF, as many as fit in 32 768 bytes of plaintext per record (one seal for a burst); with
// AES_GCM and AES_CBC every line is a record of its own. At 2^23 records the session closes.

import { deadline } from "../deadline.ts";
import { AslError } from "./errors.ts";
import type { RecordCipher, SyncCipherOp } from "./records_cipher.ts";
import { MAX_PLAINTEXT_BYTES } from "./records_codec.ts";
import { SequenceCounter } from "./records_sequence.ts";
import { writeAll } from "./transport.ts";
import type { Duplex, SessionCloseInfo } from "./types.ts";

/** What the send side needs of the session that owns it (session.ts). */
export interface SendOwner {
  /** Whether the session has ended. */
  readonly ended: boolean;
  /** Ends the session at once (idempotent). */
  end(info: SessionCloseInfo): void;
}

interface PendingSend {
  readonly plaintext: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** Most bytes (base64 lines and their `LF LF`) put into one write. */
const MAX_BATCH_BYTES = 256 * 1024;
const FLUSH_ON_CLOSE_MS = 1_000;
const encoder = new TextEncoder();
/**
 * Where a batching session joins the lines of one record before its synchronous seal reads
 * them: one per process, made on first use (sealSync consumes it before returning, and nothing
 * awaits in between, so sessions can share it).
 */
let joinScratch: Uint8Array | undefined;

/**
 * The queue of a session's sends and the loop that seals and writes them. One per session,
 * made with it; its methods live on the prototype (no per-session closures).
 */
export class SessionSender {
  #owner: SendOwner;
  #conn: Duplex;
  // With a synchronous path only the function is kept, not the cipher object (and its
  // promise wrappers): it lives as long as the session, idle ones included.
  #sealSync: SyncCipherOp | undefined;
  #sendCipher: RecordCipher | undefined;
  #sendSeq: SequenceCounter;
  #maxBatch: number;
  /** Whether queued lines share records (X25519_AES_GCM). */
  #batchLines: boolean;

  /** Sends not yet handed to the socket, in call order. */
  #queue: PendingSend[] = [];
  #writing = false;
  #writerIdle: PromiseWithResolvers<void> | undefined;

  constructor(
    owner: SendOwner,
    conn: Duplex,
    cipher: RecordCipher,
    batchLines: boolean,
    maxBatch: number,
    maxRecords: number | undefined,
  ) {
    this.#owner = owner;
    this.#conn = conn;
    this.#sealSync = cipher.sealSync;
    if (this.#sealSync === undefined) this.#sendCipher = cipher;
    this.#sendSeq = new SequenceCounter(maxRecords);
    this.#maxBatch = maxBatch;
    this.#batchLines = batchLines;
  }

  /**
   * Queues an encoded line (see `encodePlaintext`); resolves once the write holding it has
   * completed. The session checks the line and that it is open first.
   */
  enqueue(plaintext: Uint8Array): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#queue.push({ plaintext, resolve, reject });
    if (!this.#writing) {
      this.#writing = true;
      // A microtask: every send of the current burst of work joins the first write.
      queueMicrotask(() => void this.#writeLoop());
    }
    return promise;
  }

  async #writeLoop(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#owner.ended) {
        const queue = this.#queue;
        const parts: string[] = [];
        let bytes = 0;
        let taken = 0;
        let limitHit = false;
        const sync = this.#sealSync;
        while (taken < queue.length && taken < this.#maxBatch && bytes < MAX_BATCH_BYTES) {
          if (this.#sendSeq.exhausted) {
            limitHit = true;
            break;
          }
          let plaintext = queue[taken]!.plaintext;
          let end = taken + 1;
          if (this.#batchLines) {
            const limit = Math.min(queue.length, this.#maxBatch);
            // The lines that fit with this one, joined by LF, in at most 32 768 bytes; the
            // first that does not starts the next record.
            let size = plaintext.length;
            while (end < limit) {
              const next = size + 1 + queue[end]!.plaintext.length;
              if (next > MAX_PLAINTEXT_BYTES) break;
              size = next;
              end++;
            }
            if (end > taken + 1) {
              // A copy for the async path: the scratch is only safe across no await.
              const out = sync
                ? (joinScratch ??= new Uint8Array(MAX_PLAINTEXT_BYTES))
                : new Uint8Array(size);
              out.set(plaintext);
              let at = plaintext.length;
              for (let i = taken + 1; i < end; i++) {
                const p = queue[i]!.plaintext;
                out[at] = 0x0a;
                out.set(p, at + 1);
                at += 1 + p.length;
              }
              plaintext = out.subarray(0, size);
            }
          }
          const seq = this.#sendSeq.take();
          const record = sync ? sync(plaintext, seq) : await this.#sendCipher!.seal(plaintext, seq);
          const text = record.toBase64();
          parts.push(text);
          bytes += text.length + 2;
          taken = end;
        }
        if (this.#owner.ended) break;
        const batch = taken === queue.length ? queue : queue.slice(0, taken);
        this.#queue = taken === queue.length ? [] : queue.slice(taken);
        if (taken > 0) {
          parts.push("");
          try {
            await writeAll(this.#conn, encoder.encode(parts.join("\n\n")));
          } catch (err) {
            const error = new AslError("CLOSED", "the connection failed while sending", {
              cause: err,
            });
            for (const item of batch) item.reject(error);
            this.#owner.end({ reason: "remote", error });
            break;
          }
          for (const item of batch) item.resolve();
        }
        if (limitHit) {
          // Spec section 3: close before sending record 2^23 + 1 (what was sealed is out).
          this.#fail(new AslError("CLOSED", "record limit reached; reconnect for fresh keys"));
          break;
        }
      }
    } catch (err) {
      this.#fail(new AslError("INTERNAL_ERROR", "sealing a record failed", { cause: err }));
    } finally {
      this.#writing = false;
      this.#writerIdle?.resolve();
      this.#writerIdle = undefined;
    }
  }

  /** Waits (at most FLUSH_ON_CLOSE_MS) until queued sends are written. */
  async flush(): Promise<void> {
    if (this.#owner.ended || (!this.#writing && this.#queue.length === 0)) return;
    this.#writerIdle ??= Promise.withResolvers<void>();
    await deadline(this.#writerIdle.promise, FLUSH_ON_CLOSE_MS, () => undefined);
  }

  /** Ends the session on a fault: close at once, send nothing more (section 3). */
  #fail(error: AslError): void {
    this.#owner.end({ reason: "error", error });
  }

  /** Rejects every queued send: the session has ended (`info` says why). */
  rejectAll(info: SessionCloseInfo): void {
    if (this.#queue.length > 0) {
      // Built only when a send is pending: an Error (and its stack) per session adds up.
      const error = info.error instanceof AslError && info.error.code === "CLOSED"
        ? info.error
        : new AslError("CLOSED", "the session is closed", info.error ? { cause: info.error } : {});
      const queue = this.#queue;
      this.#queue = [];
      for (const item of queue) item.reject(error);
    }
  }
}
