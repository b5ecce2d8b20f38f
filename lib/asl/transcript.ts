// ASL transcript (spec section 2): the exact bytes of M1..Mn as sent or received, and
// TH_n = SHA-256(M1 || ... || Mn).

import { type Bytes, concatBytes } from "./bytes.ts";

/** Accumulates handshake messages and hashes them. */
export class Transcript {
  #parts: Uint8Array[] = [];

  /** Appends one message's exact bytes (final `LF LF` included). */
  add(message: Uint8Array): void {
    this.#parts.push(message);
  }

  /** Number of messages added so far. */
  get length(): number {
    return this.#parts.length;
  }

  /** SHA-256 of everything added so far (TH_n after n messages). */
  async hash(): Promise<Bytes> {
    const digest = await crypto.subtle.digest("SHA-256", concatBytes(this.#parts));
    return new Uint8Array(digest);
  }
}
