// The ASL record session (spec section 3, "Records"): a SecureSession over a duplex.
// Sends are queued in call order, sealed together (synchronously on the node:crypto path)
// and written in ONE write per batch; a send resolves once its batch is written, so callers
// that await are held back by a slow socket. With X25519_AES_GCM (`batchesLines`) the lines of
// a batch share records: joined by LF, as many as fit in 32 768 bytes of plaintext per record
// (one seal for a burst); with AES_GCM and AES_CBC every line is a record of its own. Reads
// use a small buffer while the peer is quiet and grow while data keeps coming; every complete
// record line of a chunk is split, opened and queued in one synchronous pass (on the
// node:crypto path each line is decoded into a shared scratch buffer, not a new array), a
// record's plaintext is split into its command lines (several with any suite; an empty one
// refuses the record), and the iterator yields queued lines without waiting. Any bad record
// ends the connection at once, nothing is sent back. At 2^23 records a direction closes.

import type { ValidatedPeer } from "../pki/types.ts";
import { AslError } from "./errors.ts";
import { type FrameReader, RecordLineSplitter } from "./framing.ts";
import type { RecordCipher } from "./records_cipher.ts";
import {
  decodeRecordLine,
  decodeRecordLineTransient,
  decodeRecordPlaintext,
  encodePlaintext,
  MAX_PLAINTEXT_BYTES,
} from "./records_codec.ts";
import { SequenceCounter } from "./records_sequence.ts";
import { batchesLines } from "./suites.ts";
import { closeQuietly, writeAll } from "./transport.ts";
import type { Duplex, SecureSession, SessionCloseInfo, Suite } from "./types.ts";

/** Tuning and limits of a session. */
export interface SessionOptions {
  /** Records per direction before the session closes; default 2^23 (tests lower it). */
  readonly maxRecords?: number;
  /** Lines (sends) sealed into one write at most; default 256. */
  readonly maxQueuedSends?: number;
  /** Received lines buffered before reading pauses; default 256. */
  readonly maxInbox?: number;
  /** Characters of received lines buffered before reading pauses; default 256 KiB. */
  readonly maxInboxChars?: number;
  /**
   * When the peer half-closes, end only the input: the iterator finishes after the lines
   * received, sends keep working, and the session ends (reason `remote`) when its owner calls
   * `close()`. A server sets it so that every command read is answered (spec section 5).
   * Default false: end of input ends the session once queued sends are flushed.
   */
  readonly answerAfterInputEnds?: boolean;
}

/** A cipher's synchronous seal or open. */
type SyncCipherOp = (data: Uint8Array, seq: number) => Uint8Array;

interface PendingSend {
  readonly plaintext: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** Most bytes (base64 lines and their `LF LF`) put into one write. */
const MAX_BATCH_BYTES = 256 * 1024;
const FLUSH_ON_CLOSE_MS = 1_000;
/** Read buffer while the peer is quiet: what an idle connection keeps parked in its read. */
export const MIN_READ_BYTES = 512;
/** Read buffer at most, reached after a few reads that filled the buffer. */
export const MAX_READ_BYTES = 65_536;
/** Consecutive small reads before the buffer shrinks back to MIN_READ_BYTES. */
const SHRINK_AFTER_SMALL_READS = 8;
/** Taken inbox slots after which the inbox array is compacted. */
const INBOX_COMPACT_AT = 256;
const encoder = new TextEncoder();
/**
 * Where a batching session joins the lines of one record before its synchronous seal reads
 * them: one per process, made on first use (sealSync consumes it before returning, and nothing
 * awaits in between, so sessions can share it).
 */
let joinScratch: Uint8Array | undefined;

/** Everything a session needs once the handshake is done. */
export interface SessionInit {
  readonly conn: Duplex;
  /** The reader the handshake used: bytes after M7 may already be queued in it. */
  readonly reader: FrameReader;
  readonly suite: Suite;
  readonly peer: ValidatedPeer;
  readonly sendCipher: RecordCipher;
  readonly recvCipher: RecordCipher;
  readonly options?: SessionOptions;
}

const DONE: IteratorResult<string> = Object.freeze({ value: undefined, done: true });

/**
 * A SecureSession over a duplex stream, after a completed handshake. What an idle session
 * keeps is kept small (a server holds thousands): promises and iterator objects are made on
 * demand, and its methods live on prototypes rather than in per-session closures.
 */
export class Session implements SecureSession {
  readonly suite: Suite;
  readonly peer: ValidatedPeer;

  #conn: Duplex;
  // With a synchronous path only the two functions are kept, not the cipher objects (and
  // their promise wrappers): they live as long as the session, idle ones included.
  #sealSync: SyncCipherOp | undefined;
  #openSync: SyncCipherOp | undefined;
  #sendCipher: RecordCipher | undefined;
  #recvCipher: RecordCipher | undefined;
  #sendSeq: SequenceCounter;
  #recvSeq: SequenceCounter;
  #maxBatch: number;
  /** Whether queued lines share records (X25519_AES_GCM). */
  #batchLines: boolean;
  #maxInbox: number;
  #maxInboxChars: number;
  #answerAfterInputEnds: boolean;
  /** The peer half-closed and `answerAfterInputEnds` is set: no more input, sends go on. */
  #inputEnded = false;
  /** Characters held in `#inbox[#inHead..]`. */
  #inboxChars = 0;

  /** Sends not yet handed to the socket, in call order. */
  #queue: PendingSend[] = [];
  #writing = false;
  #writerIdle: PromiseWithResolvers<void> | undefined;

  #splitter = new RecordLineSplitter();
  #readSize = MIN_READ_BYTES;
  #readBuf: Uint8Array | undefined;
  #smallReads = 0;
  /** Received lines not yet taken by the iterator: `#inbox[#inHead..]`. */
  #inbox: string[] = [];
  #inHead = 0;
  /** The iterator's pending `next()`, waiting for a line or the end. */
  #inboxWaiter: ((result: IteratorResult<string>) => void) | undefined;
  #drainWaiter: (() => void) | undefined;

  #ended: SessionCloseInfo | undefined;
  /** `closed`, made when first asked for. */
  #closed: Promise<SessionCloseInfo> | undefined;
  #resolveClosed: ((info: SessionCloseInfo) => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(init: SessionInit) {
    this.#conn = init.conn;
    this.suite = init.suite;
    this.peer = init.peer;
    this.#sealSync = init.sendCipher.sealSync;
    if (this.#sealSync === undefined) this.#sendCipher = init.sendCipher;
    this.#openSync = init.recvCipher.openSync;
    if (this.#openSync === undefined) this.#recvCipher = init.recvCipher;
    const max = init.options?.maxRecords;
    this.#sendSeq = new SequenceCounter(max);
    this.#recvSeq = new SequenceCounter(max);
    this.#maxBatch = Math.max(1, init.options?.maxQueuedSends ?? 256);
    this.#batchLines = batchesLines(init.suite);
    this.#maxInbox = Math.max(1, init.options?.maxInbox ?? 256);
    this.#maxInboxChars = Math.max(1, init.options?.maxInboxChars ?? 256 * 1024);
    this.#answerAfterInputEnds = init.options?.answerAfterInputEnds ?? false;
    // Bytes the handshake reader already holds (records sent right after M7) come first;
    // the reader itself (and its 16 KiB buffer) is not kept.
    const early = init.reader.parser.takePending();
    this.#readLoop(early, init.reader.eof);
  }

  // --- sending -------------------------------------------------------------------------------

  /**
   * Queues `line` (one command line: no CR or LF); resolves once the write holding it has
   * completed. Lines leave in call order; all sends of one tick share one write, and with
   * X25519_AES_GCM as few records as 32 768 bytes of plaintext each allow.
   */
  send(line: string): Promise<void> {
    let plaintext: Uint8Array;
    try {
      plaintext = encodePlaintext(line);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#ended || this.#closing) {
      return Promise.reject(new AslError("CLOSED", "the session is closed"));
    }
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
      while (this.#queue.length > 0 && !this.#ended) {
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
        if (this.#ended) break;
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
            this.#end({ reason: "remote", error });
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

  // --- receiving -----------------------------------------------------------------------------

  async #readLoop(early: Uint8Array[], eof: boolean): Promise<void> {
    try {
      // Taken out one by one: this frame lives as long as the session, and the early chunks
      // must not stay reachable from it.
      for (let chunk = early.shift(); chunk !== undefined; chunk = early.shift()) {
        await this.#consume(chunk);
      }
      if (eof) return await this.#endOfInput();
      for (;;) {
        while (this.#inboxFull() && !this.#ended) {
          await new Promise<void>((resolve) => (this.#drainWaiter = resolve));
        }
        if (this.#ended) return;
        const buf = this.#readBuf ??= new Uint8Array(this.#readSize);
        const n = await this.#conn.read(buf);
        if (this.#ended) return;
        if (n === null) return await this.#endOfInput();
        // Decoded to text at once, so the buffer is reused without a copy.
        await this.#consume(buf.subarray(0, n));
        this.#adaptReadSize(n);
      }
    } catch (err) {
      if (this.#ended) return; // a read interrupted by our own close
      if (err instanceof AslError) this.#fail(err);
      else this.#end({ reason: "remote", error: err as Error });
    }
  }

  /** Grows the read buffer while reads fill it; back to the minimum after quiet reads. */
  #adaptReadSize(n: number): void {
    const size = this.#readSize;
    if (n === size && size < MAX_READ_BYTES) {
      this.#readSize = Math.min(MAX_READ_BYTES, size * 4);
      this.#readBuf = undefined;
      this.#smallReads = 0;
    } else if (size > MIN_READ_BYTES && n <= MIN_READ_BYTES) {
      if (++this.#smallReads >= SHRINK_AFTER_SMALL_READS) {
        this.#readSize = MIN_READ_BYTES;
        this.#readBuf = undefined;
        this.#smallReads = 0;
      }
    } else {
      this.#smallReads = 0;
    }
  }

  /**
   * Splits, opens and queues every record line `bytes` completes, in order; a record's
   * command lines are queued one by one, all or none (decodeRecordPlaintext).
   */
  async #consume(bytes: Uint8Array): Promise<void> {
    const lines: string[] = [];
    this.#splitter.push(bytes, lines);
    if (lines.length === 0) return;
    const open = this.#openSync;
    for (const line of lines) {
      if (this.#recvSeq.exhausted) {
        throw new AslError("PROTOCOL_ERROR", "peer sent more records than the limit");
      }
      let plaintext: Uint8Array;
      if (open) {
        // The shared scratch is safe here: nothing awaits between decoding and opening, and
        // openSync reads the record before returning.
        const record = decodeRecordLineTransient(line);
        plaintext = open(record, this.#recvSeq.take());
      } else {
        const record = decodeRecordLine(line);
        plaintext = await this.#recvCipher!.open(record, this.#recvSeq.take());
      }
      if (this.#ended) return;
      const inbox = this.#inbox;
      const from = inbox.length;
      decodeRecordPlaintext(plaintext, inbox);
      for (let i = from; i < inbox.length; i++) this.#inboxChars += inbox[i]!.length;
    }
    const w = this.#inboxWaiter;
    if (w !== undefined) {
      this.#inboxWaiter = undefined;
      w(this.#take() ?? DONE);
    }
  }

  /**
   * The peer half-closed or closed: deliver what is queued (bounded), then end; or, with
   * `answerAfterInputEnds`, end only the input and leave the ending to `close()`.
   */
  async #endOfInput(): Promise<void> {
    if (this.#splitter.inMessage) {
      throw new AslError("CLOSED", "connection closed inside a message");
    }
    if (this.#answerAfterInputEnds) {
      this.#inputEnded = true;
      this.#readBuf = undefined;
      const w = this.#inboxWaiter;
      this.#inboxWaiter = undefined;
      w?.(this.#take() ?? DONE);
      return;
    }
    await this.#flush();
    this.#end({ reason: "remote" });
  }

  /**
   * Whether reading must pause: the lines not yet taken reach the line or character bound.
   * One read may overshoot by what its chunk completes (at most 64 KiB of input).
   */
  #inboxFull(): boolean {
    return this.#inbox.length - this.#inHead >= this.#maxInbox ||
      this.#inboxChars >= this.#maxInboxChars;
  }

  /**
   * Slots the inbox array holds, taken or not (a diagnostic for tests of its memory bound:
   * it stays near the inbox bound however long a reader keeps pace without ever emptying it).
   */
  get inboxSlots(): number {
    return this.#inbox.length;
  }

  /** Resolves once the session has ended, with why. */
  get closed(): Promise<SessionCloseInfo> {
    if (this.#closed === undefined) {
      const ended = this.#ended;
      this.#closed = ended !== undefined
        ? Promise.resolve(ended)
        : new Promise((resolve) => (this.#resolveClosed = resolve));
    }
    return this.#closed;
  }

  /** The next received line: at once when one is queued, else when one arrives or at the end. */
  next(): Promise<IteratorResult<string>> {
    const result = this.#take();
    if (result !== undefined) return Promise.resolve(result);
    return new Promise((resolve) => (this.#inboxWaiter = resolve));
  }

  /** Takes the next queued line; DONE once ended and empty; undefined when one must wait. */
  #take(): IteratorResult<string> | undefined {
    if (this.#inHead < this.#inbox.length) {
      const value = this.#inbox[this.#inHead]!;
      // Taken lines must not stay reachable: a reader that keeps pace never empties the
      // inbox completely, so the array is compacted instead of only reset when empty.
      this.#inbox[this.#inHead++] = "";
      this.#inboxChars -= value.length;
      if (this.#inHead === this.#inbox.length) {
        this.#inbox = [];
        this.#inHead = 0;
      } else if (this.#inHead >= INBOX_COMPACT_AT) {
        this.#inbox = this.#inbox.slice(this.#inHead);
        this.#inHead = 0;
      }
      if (this.#drainWaiter && !this.#inboxFull()) {
        const w = this.#drainWaiter;
        this.#drainWaiter = undefined;
        w();
      }
      return { value, done: false };
    }
    return this.#ended || this.#inputEnded ? DONE : undefined;
  }

  [Symbol.asyncIterator](): AsyncIterator<string> {
    return new SessionLines(this);
  }

  // --- ending --------------------------------------------------------------------------------

  /** Flushes queued sends (for up to a second), then closes the connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#flush();
      this.#end({ reason: this.#inputEnded ? "remote" : "local" });
    })();
    return this.#closing;
  }

  /** Waits (at most FLUSH_ON_CLOSE_MS) until queued sends are written. */
  async #flush(): Promise<void> {
    if (this.#ended || (!this.#writing && this.#queue.length === 0)) return;
    this.#writerIdle ??= Promise.withResolvers<void>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#writerIdle.promise,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, FLUSH_ON_CLOSE_MS))),
    ]);
    clearTimeout(timer);
  }

  /** Ends the session on a protocol fault: close at once, send nothing (section 3). */
  #fail(error: AslError): void {
    this.#end({ reason: "error", error });
  }

  #end(info: SessionCloseInfo): void {
    if (this.#ended) return;
    this.#ended = info;
    closeQuietly(this.#conn);
    this.#readBuf = undefined;
    if (this.#queue.length > 0) {
      // Built only when a send is pending: an Error (and its stack) per session adds up.
      const error = info.error instanceof AslError && info.error.code === "CLOSED"
        ? info.error
        : new AslError("CLOSED", "the session is closed", info.error ? { cause: info.error } : {});
      const queue = this.#queue;
      this.#queue = [];
      for (const item of queue) item.reject(error);
    }
    const w = this.#inboxWaiter;
    this.#inboxWaiter = undefined;
    w?.(this.#take() ?? DONE);
    this.#drainWaiter?.();
    this.#drainWaiter = undefined;
    this.#resolveClosed?.(info);
    this.#resolveClosed = undefined;
  }
}

/** The iterator of a session's received lines (methods on the prototype, not closures). */
class SessionLines implements AsyncIterator<string> {
  readonly #session: Session;

  constructor(session: Session) {
    this.#session = session;
  }

  next(): Promise<IteratorResult<string>> {
    return this.#session.next();
  }

  /** Leaving a `for await` early closes the session. */
  async return(): Promise<IteratorResult<string>> {
    await this.#session.close();
    return DONE;
  }
}
