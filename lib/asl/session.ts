// The ASL record session (spec section 3, "Records"): a SecureSession over a duplex, made
// once the handshake is done. This shell holds the session's life (open, closing, ended and
// why) and the iterator; the two directions are session_send.ts (the queue of sends, batching
// of lines into records, one write per batch, back-pressure) and session_receive.ts (the read
// loop, the record line splitter, the inbox and its bounds). Any bad record ends the
// connection at once, nothing is sent back. At 2^23 records a direction closes.

import type { ValidatedPeer } from "../pki/types.ts";
import { AslError } from "./errors.ts";
import type { FrameReader } from "./framing.ts";
import type { RecordCipher } from "./records_cipher.ts";
import { encodePlaintext } from "./records_codec.ts";
import { DONE, type ReceiveOwner, SessionReceiver } from "./session_receive.ts";
import { type SendOwner, SessionSender } from "./session_send.ts";
import { batchesLines } from "./suites.ts";
import { closeQuietly } from "./transport.ts";
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

/**
 * A SecureSession over a duplex stream, after a completed handshake. What an idle session
 * keeps is kept small (a server holds thousands): promises and iterator objects are made on
 * demand, and its methods live on prototypes rather than in per-session closures.
 */
export class Session implements SecureSession, SendOwner, ReceiveOwner {
  readonly suite: Suite;
  readonly peer: ValidatedPeer;

  #conn: Duplex;
  #sender: SessionSender;
  #receiver: SessionReceiver;

  #ended: SessionCloseInfo | undefined;
  /** `closed`, made when first asked for. */
  #closed: Promise<SessionCloseInfo> | undefined;
  #resolveClosed: ((info: SessionCloseInfo) => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(init: SessionInit) {
    this.#conn = init.conn;
    this.suite = init.suite;
    this.peer = init.peer;
    const max = init.options?.maxRecords;
    this.#sender = new SessionSender(
      this,
      init.conn,
      init.sendCipher,
      batchesLines(init.suite),
      Math.max(1, init.options?.maxQueuedSends ?? 256),
      max,
    );
    this.#receiver = new SessionReceiver(
      this,
      init.conn,
      init.recvCipher,
      max,
      Math.max(1, init.options?.maxInbox ?? 256),
      Math.max(1, init.options?.maxInboxChars ?? 256 * 1024),
      init.options?.answerAfterInputEnds ?? false,
    );
    // Bytes the handshake reader already holds (records sent right after M7) come first;
    // the reader itself (and its 16 KiB buffer) is not kept.
    const early = init.reader.parser.takePending();
    this.#receiver.start(early, init.reader.eof);
  }

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
    return this.#sender.enqueue(plaintext);
  }

  /**
   * Slots the inbox array holds, taken or not (a diagnostic for tests of its memory bound:
   * it stays near the inbox bound however long a reader keeps pace without ever emptying it).
   */
  get inboxSlots(): number {
    return this.#receiver.slots;
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
    return this.#receiver.next();
  }

  [Symbol.asyncIterator](): AsyncIterator<string> {
    return new SessionLines(this);
  }

  // --- ending --------------------------------------------------------------------------------

  /** Flushes queued sends (for up to a second), then closes the connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#sender.flush();
      this.end({ reason: this.#receiver.inputEnded ? "remote" : "local" });
    })();
    return this.#closing;
  }

  /** Waits (at most a second) until queued sends are written. */
  flush(): Promise<void> {
    return this.#sender.flush();
  }

  /** Whether the session has ended. */
  get ended(): boolean {
    return this.#ended !== undefined;
  }

  /**
   * Ends the session at once, for its send and receive sides (a fault, the peer's close):
   * closes the connection without flushing, rejects queued sends, ends the iterator; `closed`
   * resolves with `info`. Idempotent. Owners of a session call `close()`.
   */
  end(info: SessionCloseInfo): void {
    if (this.#ended) return;
    this.#ended = info;
    closeQuietly(this.#conn);
    this.#sender.rejectAll(info);
    this.#receiver.sessionEnded();
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
