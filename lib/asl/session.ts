// The ASL record session (spec section 3, "Records"): a SecureSession over a duplex. Sends
// are serialised, sealed in order and coalesced into one write; a bounded queue makes `send`
// wait when the socket is slow. Received lines are opened in order; any bad record ends the
// connection at once and nothing is sent back. At 2^23 records a direction closes.

import type { ValidatedPeer } from "../pki/types.ts";
import { AslError } from "./errors.ts";
import { type FrameReader, RECORD_LIMITS } from "./framing.ts";
import { encodePlaintext, openLine, type RecordCipher, SequenceCounter } from "./records.ts";
import { closeQuietly, writeAll } from "./transport.ts";
import type { Duplex, SecureSession, SessionCloseInfo, Suite } from "./types.ts";

/** Tuning and limits of a session. */
export interface SessionOptions {
  /** Records per direction before the session closes; default 2^23 (tests lower it). */
  readonly maxRecords?: number;
  /** Sends queued before `send` waits; default 256. */
  readonly maxQueuedSends?: number;
  /** Received lines buffered before reading pauses; default 256. */
  readonly maxInbox?: number;
}

interface PendingSend {
  readonly plaintext: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

const MAX_BATCH_BYTES = 256 * 1024;
const FLUSH_ON_CLOSE_MS = 1_000;
const encoder = new TextEncoder();

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

/** A SecureSession over a duplex stream, after a completed handshake. */
export class Session implements SecureSession {
  readonly suite: Suite;
  readonly peer: ValidatedPeer;
  readonly closed: Promise<SessionCloseInfo>;

  #conn: Duplex;
  #reader: FrameReader;
  #sendCipher: RecordCipher;
  #recvCipher: RecordCipher;
  #sendSeq: SequenceCounter;
  #recvSeq: SequenceCounter;
  #maxQueued: number;
  #maxInbox: number;

  #queue: PendingSend[] = [];
  #writing = false;
  #writerIdle: PromiseWithResolvers<void> | undefined;
  #spaceWaiters: (() => void)[] = [];

  #inbox: string[] = [];
  #inboxWaiter: (() => void) | undefined;
  #drainWaiter: (() => void) | undefined;

  #ended: SessionCloseInfo | undefined;
  #resolveClosed!: (info: SessionCloseInfo) => void;
  #closing: Promise<void> | undefined;

  constructor(init: SessionInit) {
    this.#conn = init.conn;
    this.#reader = init.reader;
    this.suite = init.suite;
    this.peer = init.peer;
    this.#sendCipher = init.sendCipher;
    this.#recvCipher = init.recvCipher;
    const max = init.options?.maxRecords;
    this.#sendSeq = new SequenceCounter(max);
    this.#recvSeq = new SequenceCounter(max);
    this.#maxQueued = init.options?.maxQueuedSends ?? 256;
    this.#maxInbox = init.options?.maxInbox ?? 256;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#reader.parser.limits = RECORD_LIMITS;
    this.#readLoop();
  }

  // --- sending -------------------------------------------------------------------------------

  /** Seals `line` into one record; resolves once it has been written to the socket. */
  async send(line: string): Promise<void> {
    const plaintext = encodePlaintext(line);
    while (!this.#ended && this.#queue.length >= this.#maxQueued) {
      await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
    }
    if (this.#ended || this.#closing) throw new AslError("CLOSED", "the session is closed");
    const done = new Promise<void>((resolve, reject) => {
      this.#queue.push({ plaintext, resolve, reject });
    });
    if (!this.#writing) this.#writeLoop();
    return await done;
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.#ended) {
        const batch: PendingSend[] = [];
        const lines: string[] = [];
        let bytes = 0;
        while (this.#queue.length > 0 && bytes < MAX_BATCH_BYTES) {
          if (this.#sendSeq.exhausted) {
            // Spec section 3: close before sending record 2^23 + 1.
            this.#fail(new AslError("CLOSED", "record limit reached; reconnect for fresh keys"));
            break;
          }
          const item = this.#queue.shift()!;
          const record = await this.#sendCipher.seal(item.plaintext, this.#sendSeq.take());
          const line = record.toBase64();
          lines.push(line, "\n\n");
          bytes += line.length + 2;
          batch.push(item);
        }
        for (const w of this.#spaceWaiters.splice(0)) w();
        if (batch.length === 0) break;
        try {
          await writeAll(this.#conn, encoder.encode(lines.join("")));
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
    } catch (err) {
      this.#fail(new AslError("INTERNAL_ERROR", "sealing a record failed", { cause: err }));
    } finally {
      this.#writing = false;
      this.#writerIdle?.resolve();
      this.#writerIdle = undefined;
    }
  }

  // --- receiving -----------------------------------------------------------------------------

  async #readLoop(): Promise<void> {
    try {
      for (;;) {
        while (this.#inbox.length >= this.#maxInbox && !this.#ended) {
          await new Promise<void>((resolve) => (this.#drainWaiter = resolve));
        }
        if (this.#ended) return;
        const frame = await this.#reader.next();
        if (this.#ended) return;
        if (frame === null) {
          // The peer half-closed or closed: deliver what is queued (bounded), then end.
          await this.#flush();
          this.#end({ reason: "remote" });
          return;
        }
        if (this.#recvSeq.exhausted) {
          throw new AslError("PROTOCOL_ERROR", "peer sent more records than the limit");
        }
        const line = await openLine(this.#recvCipher, frame.lines[0]!, this.#recvSeq.take());
        if (this.#ended) return;
        this.#inbox.push(line);
        const w = this.#inboxWaiter;
        this.#inboxWaiter = undefined;
        w?.();
      }
    } catch (err) {
      if (this.#ended) return; // a read interrupted by our own close
      if (err instanceof AslError) this.#fail(err);
      else this.#end({ reason: "remote", error: err as Error });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<string> {
    return {
      next: async (): Promise<IteratorResult<string>> => {
        for (;;) {
          const line = this.#inbox.shift();
          if (line !== undefined) {
            const w = this.#drainWaiter;
            this.#drainWaiter = undefined;
            w?.();
            return { value: line, done: false };
          }
          if (this.#ended) return { value: undefined, done: true };
          await new Promise<void>((resolve) => (this.#inboxWaiter = resolve));
        }
      },
      return: async (): Promise<IteratorResult<string>> => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  // --- ending --------------------------------------------------------------------------------

  /** Flushes queued sends (for up to a second), then closes the connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#flush();
      this.#end({ reason: "local" });
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
    if (this.#queue.length > 0) {
      // Built only when a send is pending: an Error (and its stack) per session adds up.
      const error = info.error instanceof AslError && info.error.code === "CLOSED"
        ? info.error
        : new AslError("CLOSED", "the session is closed", info.error ? { cause: info.error } : {});
      for (const item of this.#queue.splice(0)) item.reject(error);
    }
    for (const w of this.#spaceWaiters.splice(0)) w();
    this.#inboxWaiter?.();
    this.#drainWaiter?.();
    this.#resolveClosed(info);
  }
}
