// Newline-delimited text over a byte stream for the load tool's Deno-TLS baseline and raw
// probes (issue #6): a bounded line splitter (pure) and a writer that coalesces every line
// queued in one tick into one write call.

/** A line longer than the splitter's cap arrived. */
export class LineTooLongError extends Error {
  override name = "LineTooLongError";
}

/**
 * Splits a byte stream into LF-terminated lines (without the LF), never buffering more than
 * `maxLine` bytes of an unfinished line.
 *
 * @example
 * ```ts
 * import { LineSplitter } from "./lines.ts";
 * const s = new LineSplitter();
 * s.push(new TextEncoder().encode("a\nb")); // ["a"]
 * s.push(new TextEncoder().encode("c\n")); // ["bc"]
 * ```
 */
export class LineSplitter {
  #pending = "";
  #decoder = new TextDecoder();
  readonly maxLine: number;

  constructor(maxLine = 70_000) {
    this.maxLine = maxLine;
  }

  /** Feeds bytes; returns the lines they completed. Throws LineTooLongError past the cap. */
  push(bytes: Uint8Array): string[] {
    const text = this.#pending + this.#decoder.decode(bytes, { stream: true });
    const lines = text.split("\n");
    this.#pending = lines.pop() ?? "";
    if (this.#pending.length > this.maxLine) {
      throw new LineTooLongError(`a line passed ${this.maxLine} bytes`);
    }
    for (const line of lines) {
      if (line.length > this.maxLine) {
        throw new LineTooLongError(`a line passed ${this.maxLine} bytes`);
      }
    }
    return lines;
  }
}

/** The writing half of a Deno.Conn (or a pipe shaped like one). */
export interface ByteWriter {
  write(bytes: Uint8Array): Promise<number>;
}

/** Writes all of `bytes`, looping over short writes. */
export async function writeAll(w: ByteWriter, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await w.write(at === 0 ? bytes : bytes.subarray(at));
}

/**
 * Queues lines and writes everything queued within one tick as a single write; the
 * returned promise settles when the batch holding the line has been written.
 */
export class BatchWriter {
  #parts: string[] = [];
  #flushing: Promise<void> | null = null;
  #encoder = new TextEncoder();
  readonly #w: ByteWriter;

  constructor(w: ByteWriter) {
    this.#w = w;
  }

  /** Queues `text` (which already ends in its LF) for the next batched write. */
  write(text: string): Promise<void> {
    this.#parts.push(text);
    this.#flushing ??= this.#flush();
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    try {
      await null; // let the rest of this tick queue its lines
      while (this.#parts.length > 0) {
        const text = this.#parts.length === 1 ? this.#parts[0] as string : this.#parts.join("");
        this.#parts = [];
        await writeAll(this.#w, this.#encoder.encode(text));
      }
    } finally {
      this.#flushing = null;
    }
  }
}
