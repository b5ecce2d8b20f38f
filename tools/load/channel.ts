// The line channel the load tool's workloads drive (issue #6): one command line per send,
// received lines by async iteration, close(). An ASL SecureSession already has this shape;
// `TextLineChannel` gives a plain (TLS) connection the same shape for the Deno-TLS baseline,
// framed like ASL's session messages (spec section 1: one line, then the empty line) with
// lib/asl's RecordLineSplitter, writes batched per tick.

import { RecordLineSplitter } from "../../lib/asl/framing.ts";
import { closeQuietly, prepareConn, writeAll } from "../../lib/asl/transport.ts";
import type { Duplex } from "../../lib/asl/types.ts";

/** What a workload needs from a connection: SecureSession's shape. */
export interface LineChannel extends AsyncIterable<string> {
  send(line: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Queues lines and writes everything queued within one tick as a single write of
 * `line\n\n` messages; the returned promise settles when that write is done.
 */
export class BatchWriter {
  #parts: string[] = [];
  #flushing: Promise<void> | null = null;
  readonly #conn: Duplex;

  constructor(conn: Duplex) {
    this.#conn = conn;
  }

  /** Queues one line (without its LFs) for the next batched write. */
  write(line: string): Promise<void> {
    this.#parts.push(line, "\n\n");
    this.#flushing ??= this.#flush();
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    try {
      await null; // let the rest of this tick queue its lines
      while (this.#parts.length > 0) {
        const text = this.#parts.join("");
        this.#parts = [];
        await writeAll(this.#conn, new TextEncoder().encode(text));
      }
    } finally {
      this.#flushing = null;
    }
  }
}

/** Reads `conn` to its end (or an error), yielding each session line. */
export async function* readLines(conn: Duplex): AsyncGenerator<string> {
  const splitter = new RecordLineSplitter();
  const buf = new Uint8Array(65_536);
  const lines: string[] = [];
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch {
      return;
    }
    if (n === null) return;
    splitter.push(buf.subarray(0, n), lines);
    yield* lines.splice(0);
  }
}

/** ASL-framed lines over a byte connection (TCP_NODELAY where it applies). */
export class TextLineChannel implements LineChannel {
  readonly #conn: Duplex;
  readonly #writer: BatchWriter;
  #closed = false;

  constructor(conn: Duplex) {
    this.#conn = conn;
    this.#writer = new BatchWriter(conn);
    prepareConn(conn);
  }

  send(line: string): Promise<void> {
    return this.#writer.write(line);
  }

  close(): Promise<void> {
    if (!this.#closed) closeQuietly(this.#conn);
    this.#closed = true;
    return Promise.resolve();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for await (const line of readLines(this.#conn)) {
      if (this.#closed) return;
      yield line;
    }
  }
}
