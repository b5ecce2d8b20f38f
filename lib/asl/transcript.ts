// ASL transcript (spec section 2): the exact bytes of M1..Mn as sent or received, and
// TH_n = SHA-256(M1 || ... || Mn), hashed incrementally (each message is hashed once).

import type { Bytes } from "./bytes.ts";
import { type Primitives, primitives, type RunningHash } from "./primitives.ts";

/** Accumulates handshake messages and hashes them. */
export class Transcript {
  #hash: RunningHash;
  #count = 0;

  /** `impl` selects SHA-256 from node:crypto (default) or WebCrypto. */
  constructor(impl: Primitives = primitives()) {
    this.#hash = impl.runningHash();
  }

  /** Appends one message's exact bytes (final `LF LF` included; not copied). */
  add(message: Uint8Array): void {
    this.#hash.update(message);
    this.#count++;
  }

  /** Number of messages added so far. */
  get length(): number {
    return this.#count;
  }

  /** SHA-256 of everything added so far (TH_n after n messages). */
  hash(): Promise<Bytes> {
    return this.#hash.digest();
  }
}
