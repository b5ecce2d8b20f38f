// ASL framing (spec section 1): a pure, bounded push parser that splits a byte stream into
// messages of non-empty printable-ASCII lines ended by `LF LF`, plus a thin async reader;
// and the session's record-line splitter, which splits every complete one-line message of a
// chunk in one pass (indexOf on the decoded text instead of a per-byte loop).

import { concatBytes } from "./bytes.ts";
import { AslError } from "./errors.ts";

/** Handshake message limit in bytes, final `LF LF` included (section 1). */
export const MAX_HANDSHAKE_MESSAGE_BYTES = 32_768;
/** Session line (record) limit in characters, its `LF` not included (section 1). */
export const MAX_RECORD_LINE_CHARS = 65_536;

/** How the parser bounds the next message. */
export interface FrameLimits {
  /** Most bytes a whole message may take, final `LF LF` included. */
  readonly maxBytes: number;
  /** Most lines a message may hold. */
  readonly maxLines: number;
  /** Most characters in one line, its `LF` not counted. */
  readonly maxLineChars: number;
}

/** Limits of a handshake message (M1–M7, ASL_ERROR). */
export const HANDSHAKE_LIMITS: FrameLimits = {
  maxBytes: MAX_HANDSHAKE_MESSAGE_BYTES,
  maxLines: MAX_HANDSHAKE_MESSAGE_BYTES,
  maxLineChars: MAX_HANDSHAKE_MESSAGE_BYTES,
};
/** Limits of a session message: exactly one record line. */
export const RECORD_LIMITS: FrameLimits = {
  maxBytes: MAX_RECORD_LINE_CHARS + 2,
  maxLines: 1,
  maxLineChars: MAX_RECORD_LINE_CHARS,
};

/** One complete message: its lines (without `LF`) and its exact bytes on the wire. */
export interface Frame {
  readonly lines: readonly string[];
  /** The exact message bytes, final `LF LF` included (the transcript input). */
  readonly bytes: Uint8Array;
}

const LF = 0x0a;
const SPACE = 0x20;
const decoder = new TextDecoder();

function protocolError(message: string): AslError {
  return new AslError("PROTOCOL_ERROR", message);
}

/**
 * Pure push parser: `push(bytes)` queues input, `next()` returns the next complete message
 * under the current `limits`, or `undefined` when more input is needed. Limits may change
 * between messages (handshake → records); bytes after a message stay queued for the next.
 * Throws `AslError("PROTOCOL_ERROR")` the moment the input breaks a rule, never buffering
 * more than `limits.maxBytes`.
 */
export class FrameParser {
  #limits: FrameLimits;
  #pending: Uint8Array[] = [];
  #parts: Uint8Array[] = [];
  #size = 0;
  #lines: string[] = [];
  #lineStart = 0; // offset of the current line within the message
  #prev = LF; // previous byte of the message; LF at a message start
  #failed: AslError | undefined;

  constructor(limits: FrameLimits = HANDSHAKE_LIMITS) {
    this.#limits = limits;
  }

  /** The limits applied to the message being read. */
  get limits(): FrameLimits {
    return this.#limits;
  }
  set limits(value: FrameLimits) {
    this.#limits = value;
  }

  /** True when input is queued that `next()` has not consumed yet. */
  get hasPending(): boolean {
    return this.#pending.length > 0;
  }

  /** True when a message has started but is not complete. */
  get inMessage(): boolean {
    return this.#size > 0;
  }

  /**
   * Hands over the queued input that `next()` has not consumed (the bytes after the last
   * message) and forgets it: the session's record reader takes over after M7.
   */
  takePending(): Uint8Array[] {
    const pending = this.#pending;
    this.#pending = [];
    return pending;
  }

  /** Queues bytes (not copied: the caller must not reuse `bytes`). */
  push(bytes: Uint8Array): void {
    if (bytes.length > 0) this.#pending.push(bytes);
  }

  /** Returns the next complete message, or `undefined` when the queued input ends first. */
  next(): Frame | undefined {
    if (this.#failed) throw this.#failed;
    try {
      return this.#next();
    } catch (err) {
      this.#failed = err as AslError;
      this.#pending = [];
      this.#parts = [];
      throw err;
    }
  }

  #next(): Frame | undefined {
    while (this.#pending.length > 0) {
      const chunk = this.#pending[0]!;
      const { maxBytes, maxLines, maxLineChars } = this.#limits;
      let prev = this.#prev;
      let i = 0;
      let done = false;
      for (; i < chunk.length; i++) {
        const b = chunk[i]!;
        const offset = this.#size + i;
        if (offset >= maxBytes) {
          throw protocolError(`message exceeds the ${maxBytes}-byte limit`);
        }
        if (b === LF) {
          if (prev === LF) {
            if (offset === 0) throw protocolError("empty message (a lone empty line)");
            done = true;
            i++;
            break;
          }
          if (prev === SPACE) throw protocolError("trailing space in a line");
          if (this.#lines.length >= maxLines) throw protocolError("too many lines in a message");
          // Line complete: decode it (from the parts gathered so far plus this chunk).
          this.#lines.push(this.#decodeLine(chunk, i));
          this.#lineStart = offset + 1;
        } else if (offset - this.#lineStart >= maxLineChars) {
          throw protocolError(`line exceeds the ${maxLineChars}-character limit`);
        } else if (b === SPACE) {
          if (prev === LF) throw protocolError("leading space in a line");
          if (prev === SPACE) throw protocolError("two spaces in a row");
        } else if (b < 0x20 || b > 0x7e) {
          throw protocolError(`byte 0x${b.toString(16).padStart(2, "0")} is not printable ASCII`);
        } else if (prev === LF && this.#lines.length >= maxLines) {
          throw protocolError("too many lines in a message");
        }
        prev = b;
      }
      this.#prev = prev;
      const used = chunk.subarray(0, i);
      if (i === chunk.length) this.#pending.shift();
      else this.#pending[0] = chunk.subarray(i);
      this.#parts.push(used);
      this.#size += used.length;
      if (done) return this.#finish();
    }
    return undefined;
  }

  #decodeLine(chunk: Uint8Array, lfIndex: number): string {
    const startInMessage = this.#lineStart;
    const chunkStart = this.#size; // message offset of chunk[0]
    if (startInMessage >= chunkStart) {
      return decoder.decode(chunk.subarray(startInMessage - chunkStart, lfIndex));
    }
    // The line began in earlier parts: gather it.
    const length = chunkStart + lfIndex - startInMessage;
    const out = new Uint8Array(length);
    let written = 0;
    let pos = 0;
    for (const part of this.#parts) {
      const end = pos + part.length;
      if (end > startInMessage) {
        const from = Math.max(0, startInMessage - pos);
        out.set(part.subarray(from), written);
        written += part.length - from;
      }
      pos = end;
    }
    out.set(chunk.subarray(0, lfIndex), written);
    return decoder.decode(out);
  }

  #finish(): Frame {
    const bytes = this.#parts.length === 1 ? this.#parts[0]! : concatBytes(this.#parts);
    const frame: Frame = { lines: this.#lines, bytes };
    this.#parts = [];
    this.#size = 0;
    this.#lines = [];
    this.#lineStart = 0;
    this.#prev = LF;
    return frame;
  }
}

/** Anything bytes can be read from like a `Deno.Conn`. */
export interface ByteSource {
  read(p: Uint8Array): Promise<number | null>;
}

/** Largest read from the socket. */
export const READ_CHUNK_BYTES = 16_384;
/**
 * First read size of a `FrameReader`: what a connection that has sent nothing (or only M1)
 * keeps parked in its pending read. A read that fills the buffer makes the next one 4×
 * larger, up to READ_CHUNK_BYTES, so a client's M3 (a few KiB) takes a few reads.
 */
export const FIRST_READ_BYTES = 512;

/**
 * Thin async edge over `FrameParser`: reads chunks from `source` only when the parser needs
 * more input. One read is in flight at most; `readChunk` is shared with the error drain.
 */
export class FrameReader {
  readonly parser: FrameParser;
  #source: ByteSource;
  #inflight: Promise<Uint8Array | null> | undefined;
  #eof = false;
  /** Reused for every read; what was read is copied out (small) so it is never aliased. */
  #buffer: Uint8Array | undefined;
  /** Size of the next buffer: starts small, grows while reads fill it. */
  #size = FIRST_READ_BYTES;

  constructor(source: ByteSource, limits: FrameLimits = HANDSHAKE_LIMITS) {
    this.#source = source;
    this.parser = new FrameParser(limits);
  }

  /** True once the source reported end of input. */
  get eof(): boolean {
    return this.#eof;
  }

  /** Reads one chunk (shares an in-flight read); `null` at end of input. */
  readChunk(): Promise<Uint8Array | null> {
    if (this.#eof) return Promise.resolve(null);
    this.#inflight ??= (async () => {
      try {
        const buf = this.#buffer ??= new Uint8Array(this.#size);
        const n = await this.#source.read(buf);
        if (n === null) {
          this.#eof = true;
          this.#buffer = undefined;
          return null;
        }
        const chunk = buf.slice(0, n);
        if (n === buf.length && this.#size < READ_CHUNK_BYTES) {
          this.#size = Math.min(this.#size * 4, READ_CHUNK_BYTES);
          this.#buffer = undefined; // the next read gets the larger buffer
        }
        return chunk;
      } finally {
        this.#inflight = undefined;
      }
    })();
    return this.#inflight;
  }

  /**
   * Returns the next message, or `null` at a clean end of input (no partial message).
   * Throws `AslError("PROTOCOL_ERROR")` on a framing fault, `AslError("CLOSED")` when the
   * input ends inside a message.
   */
  async next(): Promise<Frame | null> {
    for (;;) {
      const frame = this.parser.next();
      if (frame) return frame;
      const chunk = await this.readChunk();
      if (chunk === null) {
        if (this.parser.inMessage) {
          throw new AslError("CLOSED", "connection closed inside a message");
        }
        return null;
      }
      this.parser.push(chunk);
    }
  }
}

/**
 * Pure splitter of session messages (section 1 after the handshake: one record line, then the
 * empty line). `push(bytes, out)` appends to `out` every record line that the bytes complete
 * and keeps the unfinished rest, never more than one line of `MAX_RECORD_LINE_CHARS`.
 * Throws `AslError("PROTOCOL_ERROR")` on an empty message, a message of more than one line,
 * a line over the limit (as soon as it is passed) or a non-ASCII byte. Other non-base64
 * bytes (CR, NUL, spaces…) are left to the record decoder, which rejects them with the same
 * code, so a line is scanned by native code only.
 */
export class RecordLineSplitter {
  /** The text of the unfinished message: a partial line, or a line and its first LF. */
  #carry = "";
  #failed: AslError | undefined;

  constructor(readonly maxLineChars: number = MAX_RECORD_LINE_CHARS) {}

  /** True when a message has started but is not complete. */
  get inMessage(): boolean {
    return this.#carry.length > 0;
  }

  /** Splits `bytes` (not kept) into complete record lines, appended to `out` in order. */
  push(bytes: Uint8Array, out: string[]): void {
    if (this.#failed) throw this.#failed;
    try {
      this.#push(bytes, out);
    } catch (err) {
      this.#failed = err as AslError;
      this.#carry = "";
      throw err;
    }
  }

  #push(bytes: Uint8Array, out: string[]): void {
    if (bytes.length === 0) return;
    const chunk = decoder.decode(bytes);
    // ASCII decodes to one character per byte; any other byte changes the length or turns
    // into U+FFFD (both checked natively, no per-byte loop in JS).
    if (chunk.length !== bytes.length || chunk.includes("\uFFFD")) {
      throw protocolError("a session line holds non-ASCII bytes");
    }
    const text = this.#carry.length === 0 ? chunk : this.#carry + chunk;
    const max = this.maxLineChars;
    let pos = 0;
    for (;;) {
      const lf = text.indexOf("\n", pos);
      if (lf === -1) break;
      if (lf === pos) throw protocolError("empty message (a lone empty line)");
      if (lf - pos > max) throw protocolError(`line exceeds the ${max}-character limit`);
      if (lf + 1 === text.length) break; // the line is complete; its message is not yet
      if (text.charCodeAt(lf + 1) !== LF) {
        throw protocolError("a session message holds exactly one line");
      }
      out.push(text.slice(pos, lf));
      pos = lf + 2;
    }
    const rest = pos === 0 ? text : text.slice(pos);
    const restLine = rest.length > 0 && rest.charCodeAt(rest.length - 1) === LF
      ? rest.length - 1
      : rest.length;
    if (restLine > max) throw protocolError(`line exceeds the ${max}-character limit`);
    this.#carry = rest;
  }
}
