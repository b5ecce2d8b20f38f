// The receive side of an ASL session (spec section 3, "Records"). Reads use a small buffer
// while the peer is quiet and grow while data keeps coming; every complete record line of a
// chunk is split, opened and queued in one synchronous pass (on the node:crypto path each line
// is decoded into a shared scratch buffer, not a new array), a record's plaintext is split
// into its command lines (several with any suite; an empty one refuses the record), and the
// inbox hands out queued lines without waiting; reading pauses while the inbox is full. Any
// bad record ends the connection at once, nothing is sent back. A receiver that sees more
// than 2^23 records closes.

import { AslError } from "./errors.ts";
import { RecordLineSplitter } from "./framing.ts";
import type { RecordCipher, SyncCipherOp } from "./records_cipher.ts";
import {
  decodeRecordLine,
  decodeRecordLineTransient,
  decodeRecordPlaintext,
} from "./records_codec.ts";
import { SequenceCounter } from "./records_sequence.ts";
import type { Duplex, SessionCloseInfo } from "./types.ts";

/** What the receive side needs of the session that owns it (session.ts). */
export interface ReceiveOwner {
  /** Whether the session has ended. */
  readonly ended: boolean;
  /** Ends the session at once (idempotent). */
  end(info: SessionCloseInfo): void;
  /** Waits (at most a second) until queued sends are written. */
  flush(): Promise<void>;
}

/** Read buffer while the peer is quiet: what an idle connection keeps parked in its read. */
export const MIN_READ_BYTES = 512;
/** Read buffer at most, reached after a few reads that filled the buffer. */
export const MAX_READ_BYTES = 65_536;
/** Consecutive small reads before the buffer shrinks back to MIN_READ_BYTES. */
const SHRINK_AFTER_SMALL_READS = 8;
/** Taken inbox slots after which the inbox array is compacted. */
const INBOX_COMPACT_AT = 256;

/** The iterator's result once the session has ended and its lines are taken. */
export const DONE: IteratorResult<string> = Object.freeze({ value: undefined, done: true });

/**
 * The read loop of a session and the inbox of its received lines. One per session, made with
 * it; its methods live on the prototype (no per-session closures).
 */
export class SessionReceiver {
  #owner: ReceiveOwner;
  #conn: Duplex;
  // With a synchronous path only the function is kept, not the cipher object (and its
  // promise wrappers): it lives as long as the session, idle ones included.
  #openSync: SyncCipherOp | undefined;
  #recvCipher: RecordCipher | undefined;
  #recvSeq: SequenceCounter;
  #maxInbox: number;
  #maxInboxChars: number;
  #answerAfterInputEnds: boolean;
  /** The peer half-closed and `answerAfterInputEnds` is set: no more input, sends go on. */
  #inputEnded = false;
  /** Characters held in `#inbox[#inHead..]`. */
  #inboxChars = 0;

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

  constructor(
    owner: ReceiveOwner,
    conn: Duplex,
    cipher: RecordCipher,
    maxRecords: number | undefined,
    maxInbox: number,
    maxInboxChars: number,
    answerAfterInputEnds: boolean,
  ) {
    this.#owner = owner;
    this.#conn = conn;
    this.#openSync = cipher.openSync;
    if (this.#openSync === undefined) this.#recvCipher = cipher;
    this.#recvSeq = new SequenceCounter(maxRecords);
    this.#maxInbox = maxInbox;
    this.#maxInboxChars = maxInboxChars;
    this.#answerAfterInputEnds = answerAfterInputEnds;
  }

  /**
   * Starts reading: first the chunks the handshake reader already held (`early`, records sent
   * right after M7), then the connection, unless `eof` says its input has ended.
   */
  start(early: Uint8Array[], eof: boolean): void {
    this.#readLoop(early, eof);
  }

  /** Whether the peer's input has ended with `answerAfterInputEnds` set (sends go on). */
  get inputEnded(): boolean {
    return this.#inputEnded;
  }

  async #readLoop(early: Uint8Array[], eof: boolean): Promise<void> {
    try {
      // Taken out one by one: this frame lives as long as the session, and the early chunks
      // must not stay reachable from it.
      for (let chunk = early.shift(); chunk !== undefined; chunk = early.shift()) {
        await this.#consume(chunk);
      }
      if (eof) return await this.#endOfInput();
      for (;;) {
        while (this.#inboxFull() && !this.#owner.ended) {
          await new Promise<void>((resolve) => (this.#drainWaiter = resolve));
        }
        if (this.#owner.ended) return;
        const buf = this.#readBuf ??= new Uint8Array(this.#readSize);
        const n = await this.#conn.read(buf);
        if (this.#owner.ended) return;
        if (n === null) return await this.#endOfInput();
        // Decoded to text at once, so the buffer is reused without a copy.
        await this.#consume(buf.subarray(0, n));
        this.#adaptReadSize(n);
      }
    } catch (err) {
      if (this.#owner.ended) return; // a read interrupted by our own close
      if (err instanceof AslError) this.#fail(err);
      else this.#owner.end({ reason: "remote", error: err as Error });
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
      if (this.#owner.ended) return;
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
    await this.#owner.flush();
    this.#owner.end({ reason: "remote" });
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
  get slots(): number {
    return this.#inbox.length;
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
    return this.#owner.ended || this.#inputEnded ? DONE : undefined;
  }

  /** Ends the session on a protocol fault: close at once, send nothing (section 3). */
  #fail(error: AslError): void {
    this.#owner.end({ reason: "error", error });
  }

  /** The session has ended: drop the read buffer, end a waiting `next()`, wake the read loop. */
  sessionEnded(): void {
    this.#readBuf = undefined;
    const w = this.#inboxWaiter;
    this.#inboxWaiter = undefined;
    w?.(this.#take() ?? DONE);
    this.#drainWaiter?.();
    this.#drainWaiter = undefined;
  }
}
