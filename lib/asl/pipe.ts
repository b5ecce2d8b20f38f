// An in-memory duplex pair (for tests and benchmarks) shaped like Deno.Conn: read(buf),
// write(bytes) with a bounded buffer (so back-pressure is real), close(), closeWrite().
// Not part of the spec; it stands in for a TCP connection (spec section 1).

import type { Duplex } from "./types.ts";

/** Default bytes buffered per direction before `write` waits. */
export const PIPE_CAPACITY = 65_536;

class Channel {
  #chunks: Uint8Array[] = [];
  #size = 0;
  #ended = false; // writer finished: reader sees EOF after the buffered bytes
  #broken = false; // reader gone: writes fail
  #readWaiter: (() => void) | undefined;
  #writeWaiter: (() => void) | undefined;

  constructor(readonly capacity: number) {}

  #wakeReader() {
    const w = this.#readWaiter;
    this.#readWaiter = undefined;
    w?.();
  }
  #wakeWriter() {
    const w = this.#writeWaiter;
    this.#writeWaiter = undefined;
    w?.();
  }

  async write(p: Uint8Array): Promise<number> {
    for (;;) {
      if (this.#broken || this.#ended) throw new Deno.errors.BrokenPipe("pipe is closed");
      const room = this.capacity - this.#size;
      if (room > 0) {
        const n = Math.min(room, p.length);
        this.#chunks.push(p.slice(0, n));
        this.#size += n;
        this.#wakeReader();
        return n;
      }
      await new Promise<void>((resolve) => (this.#writeWaiter = resolve));
    }
  }

  async read(p: Uint8Array, isClosed: () => boolean): Promise<number | null> {
    for (;;) {
      if (isClosed()) throw new Deno.errors.BadResource("pipe end is closed");
      const first = this.#chunks[0];
      if (first !== undefined) {
        const n = Math.min(first.length, p.length);
        p.set(first.subarray(0, n));
        if (n === first.length) this.#chunks.shift();
        else this.#chunks[0] = first.subarray(n);
        this.#size -= n;
        this.#wakeWriter();
        return n;
      }
      if (this.#ended || this.#broken) return null;
      await new Promise<void>((resolve) => (this.#readWaiter = resolve));
    }
  }

  /** The writing side is done (half-close or close). */
  end() {
    this.#ended = true;
    this.#wakeReader();
    this.#wakeWriter();
  }
  /** The reading side is gone. */
  break() {
    this.#broken = true;
    this.#chunks = [];
    this.#size = 0;
    this.#wakeReader();
    this.#wakeWriter();
  }
}

class PipeEnd implements Duplex {
  #closed = false;
  constructor(readonly incoming: Channel, readonly outgoing: Channel) {}

  read(p: Uint8Array): Promise<number | null> {
    return this.incoming.read(p, () => this.#closed);
  }
  write(p: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("pipe end is closed"));
    return this.outgoing.write(p);
  }
  closeWrite(): Promise<void> {
    this.outgoing.end();
    return Promise.resolve();
  }
  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("pipe end is already closed");
    this.#closed = true;
    this.outgoing.end();
    this.incoming.break();
  }
}

/**
 * Creates two connected in-memory duplex ends: what one writes, the other reads.
 * Each direction buffers at most `capacity` bytes; `write` waits for room beyond that.
 *
 * @example
 * ```ts
 * import { createPipe } from "./pipe.ts";
 * const [a, b] = createPipe();
 * await a.write(new TextEncoder().encode("hi"));
 * const buf = new Uint8Array(8);
 * console.log(await b.read(buf)); // 2
 * a.close();
 * b.close();
 * ```
 */
export function createPipe(capacity: number = PIPE_CAPACITY): [Duplex, Duplex] {
  const ab = new Channel(capacity);
  const ba = new Channel(capacity);
  return [new PipeEnd(ba, ab), new PipeEnd(ab, ba)];
}
