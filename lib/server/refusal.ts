// Refusing a connection past a pending-handshake bound (ASL spec section 2: an error before
// the handshake is sent as `ASL_ERROR INTERNAL_ERROR`), with rate-limited logging. One object
// per server; serve.ts calls `refuse` when admission.ts refuses a connection.

import { serializeAslError } from "../asl/messages.ts";
import { closeQuietly } from "../asl/transport.ts";
import type { Logger } from "../log.ts";
import type { AdmissionRefusal } from "./admission.ts";

/** What a connection refused before its handshake is sent (spec section 2). */
const REFUSED = serializeAslError("INTERNAL_ERROR");
/** At most one `connection_refused` line per this many ms for the pending bounds. */
const REFUSAL_LOG_MS = 1_000;

/** Refuses connections and counts them; logs at most once a second, with a count. */
export class Refusals {
  readonly #log: Logger;
  #count = 0;
  #unlogged = 0;
  #lastLog = -Infinity;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Connections refused so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * Refuses a connection past a pending-handshake bound: `ASL_ERROR INTERNAL_ERROR` (a new
   * socket's send buffer is empty, so the write does not wait), then close; no drain, so a
   * flood costs no more than its own sockets. Logged at most once a second, with a count.
   */
  refuse(conn: Deno.TcpConn, connId: number, from: string, reason: AdmissionRefusal): void {
    this.#count++;
    this.#unlogged++;
    const now = Date.now();
    if (now - this.#lastLog >= REFUSAL_LOG_MS) {
      this.#log.warn("connection_refused", {
        conn: connId,
        from,
        reason,
        refused: this.#unlogged,
      });
      this.#unlogged = 0;
      this.#lastLog = now;
    } else {
      this.#log.debug("connection_refused", { conn: connId, from, reason });
    }
    conn.write(REFUSED)
      .then(() => conn.closeWrite())
      .catch(() => {
        // the peer is gone already
      })
      .finally(() => closeQuietly(conn));
  }
}
