// The options, handle and counters of the server's network edge (lib/server/serve.ts): what
// `serve` takes, the public subset mod.ts offers, and the defaults of the pending-handshake
// bounds (issue 13).

import type { Suite } from "../asl/types.ts";
import type { TrustSource } from "../pki/crl_watch.ts";
import type { Credentials, TrustStore } from "../pki/types.ts";
import type { RouterOptions, RouterStats } from "./router.ts";
import type { Store } from "./store.ts";

/**
 * Where the SQLite store runs: `main` on the network thread (each group commit, disk flush
 * included, pauses the event loop; cheapest per message), `worker` in its own thread (the
 * network thread keeps going during a flush; each batch pays a message round trip).
 */
export type StoreThread = "main" | "worker";

/**
 * The options of `serve` that the public API (mod.ts) offers: where to listen, the
 * server's credentials and trust store, the SQLite file, suites and the handshake timeout.
 *
 * @example
 * ```ts
 * import type { PublicServeOptions } from "./serve.ts";
 * import type { Credentials, TrustStore } from "../pki/types.ts";
 * const options = (credentials: Credentials, trust: TrustStore): PublicServeOptions => ({
 *   port: 0,
 *   credentials,
 *   trust,
 *   suites: ["X25519_AES_GCM"],
 * });
 * ```
 */
export interface PublicServeOptions {
  /** Address to listen on; default 127.0.0.1. */
  readonly hostname?: string;
  /** TCP port; default 4287, 0 picks a free port (see `ServerHandle.addr`). */
  readonly port?: number;
  /** The server's certificate chain and key (see `loadCredentials`). */
  readonly credentials: Credentials;
  /** CA certificates (and CRLs) client chains must lead to (see `loadTrustStore`). */
  readonly trust: TrustStore;
  /** SQLite file; default `data/netsec-msg.db`. */
  readonly dataPath?: string;
  /**
   * Where the SQLite file's transactions run: `main` (default) on the network thread, the
   * cheapest per message on a local disk, each disk flush pausing the event loop; `worker`
   * in a thread of their own, for disks whose flushes take milliseconds.
   */
  readonly storeThread?: StoreThread;
  /** Cipher suites in preference order; default `X25519_AES_GCM`, `AES_GCM`, `AES_CBC`. */
  readonly suites?: readonly Suite[];
  /** Milliseconds from accept to a finished handshake (default 10 000). */
  readonly handshakeTimeoutMs?: number;
  /** Aborting it shuts the server down like `close()`. */
  readonly signal?: AbortSignal;
}

/** Options of `serve`: the public ones, router limits (inflight, queues, rate, timeouts) and the rest. */
export interface ServeOptions extends PublicServeOptions, RouterOptions {
  /**
   * A trust store that may change (a watched CRL, lib/pki/crl_watch.ts); when given it is
   * used instead of `trust`: while it has none, handshakes fail with `INTERNAL_ERROR`, and
   * when it changes, open sessions whose chain it revokes are closed.
   */
  readonly trustSource?: TrustSource;
  /** A store to use (e.g. a MemoryStore in tests); otherwise `dataPath` is opened. */
  readonly store?: Store;
  /** Concurrent connections; more are closed at once (default 20 000). */
  readonly maxConnections?: number;
  /** Concurrent handshakes; more wait for a slot within their handshake time (default 64). */
  readonly maxHandshakes?: number;
  /**
   * Connections whose handshake has not finished, all sources together; more are refused
   * at once (default DEFAULT_MAX_PENDING_HANDSHAKES).
   */
  readonly maxPendingHandshakes?: number;
  /**
   * Connections whose handshake has not finished, per source address (an IPv6 /64 counts as
   * one); more are refused at once (default DEFAULT_MAX_PENDING_PER_ADDRESS).
   */
  readonly maxPendingPerAddress?: number;
  /** Log each handshake step at debug level (`--verbose`). */
  readonly traceHandshakes?: boolean;
}

/** A running server's counters (`ServerHandle.stats()`). */
export interface ServerStats extends RouterStats {
  /** Open connections. */
  readonly connections: number;
  /** Handshakes under way. */
  readonly handshakes: number;
  /** Connections whose handshake has not finished. */
  readonly pendingHandshakes: number;
  /** Source addresses (keys of `addressKey`) with a pending handshake. */
  readonly pendingAddresses: number;
  /** Connections refused by the pending-handshake bounds since start. */
  readonly refusedPending: number;
}

/**
 * A running server.
 *
 * @example
 * ```ts
 * import type { ServerHandle } from "./serve.ts";
 * const describe = (server: ServerHandle) =>
 *   `port ${server.addr.port}, ${server.stats().connections} connection(s)`;
 * ```
 */
export interface ServerHandle {
  /** The address it listens on (the real port when 0 was asked). */
  readonly addr: Deno.NetAddr;
  /** Graceful shutdown; resolves when everything is closed. Idempotent. */
  close(): Promise<void>;
  /** Resolves once the server has shut down (by `close()` or the signal). */
  readonly finished: Promise<void>;
  /** Live counters. */
  stats(): ServerStats;
}

/**
 * Default bound on pending handshakes, all sources. The server completes about 200–250
 * handshakes per CPU-second (bench/README.md), so 1 024 pending is several times what it
 * can keep busy while legitimate handshakes take a few round trips; each one holds a small
 * read buffer and the handshake state, at most one 32 KiB message when a peer sends slowly,
 * so 1 024 bound that memory to some 40 MiB in the worst case.
 */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 1_024;
/** Default bound on pending handshakes from one source address. */
export const DEFAULT_MAX_PENDING_PER_ADDRESS = 64;
