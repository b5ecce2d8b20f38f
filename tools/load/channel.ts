// The line channel the load tool's workloads drive (issue #6): one command line per send,
// received lines by async iteration, close(). An ASL SecureSession already has this shape;
// `TextLineChannel` gives a plain (TLS) connection the same shape for the baseline.

import { BatchWriter, LineSplitter } from "./lines.ts";

/** What a workload needs from a connection: SecureSession's shape. */
export interface LineChannel extends AsyncIterable<string> {
  send(line: string): Promise<void>;
  close(): Promise<void>;
}

/** A connection the channel reads from and writes to (Deno.Conn, Deno.TlsConn). */
export interface ByteConn {
  read(buf: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}

/** Turns on TCP_NODELAY where the connection supports it. */
export function noDelay(conn: unknown): void {
  const c = conn as { setNoDelay?: (on: boolean) => void };
  try {
    c.setNoDelay?.(true);
  } catch {
    // not a TCP socket (an in-memory pipe): nothing to do
  }
}

/** Newline-delimited lines over a byte connection, writes batched per tick. */
export class TextLineChannel implements LineChannel {
  readonly #conn: ByteConn;
  readonly #writer: BatchWriter;
  #closed = false;

  constructor(conn: ByteConn) {
    this.#conn = conn;
    this.#writer = new BatchWriter(conn);
    noDelay(conn);
  }

  send(line: string): Promise<void> {
    return this.#writer.write(line + "\n");
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#conn.close();
      } catch {
        // already closed by the peer
      }
    }
    return Promise.resolve();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    const splitter = new LineSplitter();
    const buf = new Uint8Array(65_536);
    while (!this.#closed) {
      let n: number | null;
      try {
        n = await this.#conn.read(buf);
      } catch {
        return;
      }
      if (n === null) return;
      yield* splitter.push(buf.subarray(0, n));
    }
  }
}
