// The server's network edge (ASL spec sections 2 and 5): listens on TCP, bounds concurrent
// connections and handshakes (pending ones per source address and in total), runs the ASL
// handshake on each connection against the trust store of the moment (a CRL may change:
// sessions it revokes are closed), feeds the decrypted command lines to the router and pauses
// reading from a session whose output is not read.
// Graceful shutdown: stop accepting, finish commits in flight, close sessions, close the store.

import { deadline } from "../deadline.ts";
import { AslError, type SecureSession } from "../asl/mod.ts";
// endpoint.ts rather than mod.ts: the server passes its own chain validator (revocation.ts).
import { accept } from "../asl/endpoint.ts";
import { listen } from "../asl/transport.ts";
import { DEFAULT_PORT } from "../limits.ts";
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";
import type { TrustSource } from "../pki/crl_watch.ts";
import { addressKey, type AdmissionTicket, PendingHandshakes } from "./admission.ts";
import { ServerError } from "./errors.ts";
import {
  DEFAULT_MAX_PENDING_HANDSHAKES,
  DEFAULT_MAX_PENDING_PER_ADDRESS,
  type ServeOptions,
  type ServerHandle,
} from "./serve_options.ts";
import { ClientValidator, closeRevoked, fixedTrust } from "./revocation.ts";
import { PortOf } from "./port.ts";
import { Refusals } from "./refusal.ts";
import { type ClientSession, Router } from "./router.ts";
import { SqliteStore } from "./store_sqlite.ts";
import { WorkerStore } from "./store_threaded.ts";
import { WorkSlots } from "./work_slots.ts";

export type {
  PublicServeOptions,
  ServeOptions,
  ServerHandle,
  ServerStats,
  StoreThread,
} from "./serve_options.ts";
export {
  DEFAULT_MAX_PENDING_HANDSHAKES,
  DEFAULT_MAX_PENDING_PER_ADDRESS,
} from "./serve_options.ts";

/** How long a connection whose input ended may take to answer what it read. */
const REPLY_FLUSH_MS = 5_000;

/**
 * Starts the messenger server. Throws `ServerError("LISTEN")` when the address cannot be
 * bound and `ServerError("STORE")` when the database cannot be opened.
 *
 * @example
 * ```ts ignore
 * import { serve } from "./serve.ts";
 * const server = await serve({ port: 0, credentials, trust, dataPath: "data/test.db" });
 * console.log(server.addr.port);
 * await server.close();
 * ```
 */
export async function serve(options: ServeOptions): Promise<ServerHandle> {
  const log = options.logger ?? silentLogger;
  let listener: Deno.TcpListener;
  try {
    listener = listen({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? DEFAULT_PORT,
    });
  } catch (err) {
    const what = `${options.hostname ?? "127.0.0.1"}:${options.port ?? DEFAULT_PORT}`;
    const why = err instanceof Deno.errors.AddrInUse
      ? "the address is already in use"
      : (err as Error).message;
    throw new ServerError("LISTEN", `cannot listen on ${what}: ${why}`, { cause: err });
  }
  let store = options.store;
  let router: Router;
  try {
    if (store === undefined) {
      const path = options.dataPath ?? "data/netsec-msg.db";
      try {
        store = options.storeThread === "worker"
          ? await WorkerStore.open(path)
          : new SqliteStore(path);
      } catch (err) {
        throw new ServerError(
          "STORE",
          `cannot open the database ${path}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
    }
    router = await Router.create(store, options);
  } catch (err) {
    listener.close();
    await store?.close().catch(() => {});
    throw err;
  }
  return new Server(listener, router, options, log).handle;
}

class Server {
  readonly handle: ServerHandle;
  readonly #listener: Deno.TcpListener;
  readonly #router: Router;
  readonly #options: ServeOptions;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  readonly #sessions = new Map<SecureSession, ClientSession>();
  readonly #source: TrustSource;
  readonly #validator: ClientValidator;
  readonly #stopWatching: () => void;
  readonly #pending: PendingHandshakes;
  readonly #refusals: Refusals;
  /** Resolved when the last connection has closed (set by shutdown while some are open). */
  #allClosed: PromiseWithResolvers<void> | undefined;
  readonly #maxConnections: number;
  readonly #slots: WorkSlots;
  readonly #handshakeTimeoutMs: number;
  #connections = 0;
  #stopping = false;
  #closing: Promise<void> | undefined;
  /** The accept loop; it ends once the listener is closed and its pending accept is over. */
  #accepting: Promise<void> = Promise.resolve();
  #nextConn = 1;
  readonly #finished = Promise.withResolvers<void>();

  constructor(listener: Deno.TcpListener, router: Router, options: ServeOptions, log: Logger) {
    this.#listener = listener;
    this.#router = router;
    this.#options = options;
    this.#log = log;
    this.#maxConnections = options.maxConnections ?? 20_000;
    this.#slots = new WorkSlots(options.maxHandshakes ?? 64);
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.#pending = new PendingHandshakes({
      maxPending: options.maxPendingHandshakes ?? DEFAULT_MAX_PENDING_HANDSHAKES,
      maxPendingPerAddress: options.maxPendingPerAddress ?? DEFAULT_MAX_PENDING_PER_ADDRESS,
    });
    this.#refusals = new Refusals(log);
    this.#source = options.trustSource ?? fixedTrust(options.trust);
    this.#validator = new ClientValidator(this.#source);
    this.#stopWatching = this.#source.onChange((trust) => {
      if (trust === undefined) return; // fail closed: new handshakes are refused meanwhile
      this.#validator.clear(); // entries of the old store would only miss from now on
      void closeRevoked(this.#sessions, this.#validator, trust, this.#log);
    });
    const addr = listener.addr;
    this.handle = {
      addr,
      close: () => this.close(),
      finished: this.#finished.promise,
      stats: () => ({
        ...this.#router.stats,
        connections: this.#connections,
        handshakes: this.#slots.busy,
        pendingHandshakes: this.#pending.total,
        pendingAddresses: this.#pending.addresses,
        refusedPending: this.#refusals.count,
      }),
    };
    options.signal?.addEventListener("abort", () => void this.close(), { once: true });
    if (options.signal?.aborted) void this.close();
    log.info("listening", { addr: `${addr.hostname}:${addr.port}` });
    this.#accepting = this.#acceptLoop();
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (err) {
        if (this.#stopping) return;
        if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) {
          return;
        }
        // Transient (e.g. out of file descriptors): log, back off a little, go on.
        this.#log.error("accept_failed", { error: (err as Error).message });
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if (this.#stopping) {
        conn.close();
        return;
      }
      const connId = this.#nextConn++;
      const remote = conn.remoteAddr;
      const from = `${remote.hostname}:${remote.port}`;
      if (this.#connections >= this.#maxConnections) {
        this.#log.warn("connection_refused", { conn: connId, from, reason: "max-connections" });
        try {
          conn.close();
        } catch {
          // already closed
        }
        continue;
      }
      const ticket = this.#pending.admit(addressKey(remote.hostname));
      if (typeof ticket === "string") {
        this.#refusals.refuse(conn, connId, from, ticket);
        continue;
      }
      this.#connections++;
      this.#log.info("connect", { conn: connId, from });
      void this.#serveConn(conn, connId, ticket);
    }
  }

  /**
   * One connection from accept to close, feeding the session's lines to the router; never
   * rejects. Its frame lives as long as the connection, so it holds only what the session
   * needs (the handshake runs in its own call) and there is no promise chain per connection:
   * shutdown waits on the connection count instead.
   */
  async #serveConn(conn: Deno.TcpConn, connId: number, ticket: AdmissionTicket): Promise<void> {
    try {
      const session = await this.#handshake(conn, connId, ticket);
      if (session === undefined) return;
      const client = this.#router.open(new PortOf(session), connId);
      this.#sessions.set(session, client);
      try {
        for await (const line of session) {
          if (this.#stopping) break;
          // Past the unread-output bound, nothing more is handled (or read: the session's own
          // inbox is bounded) until the client has taken enough of its output.
          if (client.mustPause) {
            this.#log.debug("read_paused", { conn: connId, user: client.userId });
            await client.drained();
            this.#log.debug("read_resumed", { conn: connId, user: client.userId });
            if (this.#stopping) break;
          }
          client.receive(line);
        }
        // The input ended (a half-close, or the peer went away): every command read still
        // gets its reply, in order, before the connection closes (bounded).
        if (!this.#stopping) await deadline(client.settled(), REPLY_FLUSH_MS, () => undefined);
      } finally {
        client.end();
        this.#sessions.delete(session);
        await session.close();
        const info = await session.closed;
        this.#log.info("disconnect", {
          conn: connId,
          user: client.userId,
          reason: info.reason,
          error: info.error instanceof AslError ? info.error.code : info.error?.message,
        });
      }
    } catch (err) {
      this.#log.error("connection_failed", { conn: connId, error: (err as Error).message });
    } finally {
      ticket.release(); // already released when the handshake ended; idempotent
      if (--this.#connections === 0) this.#allClosed?.resolve();
    }
  }

  /**
   * Runs the ASL handshake; undefined when it failed (logged) or the server is stopping.
   * The pending-handshake ticket is released when it ends, whichever way.
   */
  async #handshake(
    conn: Deno.TcpConn,
    connId: number,
    ticket: AdmissionTicket,
  ): Promise<SecureSession | undefined> {
    try {
      return await this.#runHandshake(conn, connId);
    } finally {
      ticket.release();
    }
  }

  async #runHandshake(conn: Deno.TcpConn, connId: number): Promise<SecureSession | undefined> {
    const started = Date.now();
    let session: SecureSession;
    try {
      const log = this.#log;
      // Handshake slots bound the expensive work only (validating M3, the RSA of M5/M6): a
      // connection that merely waits for bytes holds none, so stalled peers cannot starve
      // others. Waiting for a slot counts against the handshake timeout (spec section 2).
      session = await accept(conn, {
        credentials: this.#options.credentials,
        trust: this.#options.trust, // not used: the validator takes the source's current one
        handshakeTimeoutMs: this.#handshakeTimeoutMs,
        admit: () => this.#slots.take(),
        signal: this.#abort.signal,
        answerAfterHalfClose: true,
        ...(this.#options.suites ? { suites: this.#options.suites } : {}),
        ...(this.#options.traceHandshakes
          ? {
            trace: (e) =>
              log.debug("handshake_step", {
                conn: connId,
                step: e.step,
                dir: e.direction,
                bytes: e.bytes,
                detail: e.detail,
              }),
          }
          : {}),
      }, { validate: this.#validator });
    } catch (err) {
      const code = err instanceof AslError ? err.code : "INTERNAL_ERROR";
      this.#log.info("handshake_failed", {
        conn: connId,
        code,
        remote: err instanceof AslError ? err.remote : undefined,
      });
      return undefined;
    }
    this.#log.info("handshake", {
      conn: connId,
      cn: session.peer.identity,
      suite: session.suite,
      ms: Date.now() - started,
    });
    if (this.#stopping) {
      await session.close();
      return undefined;
    }
    // The CRL may have changed between M3's validation and the end of the handshake.
    const code = await this.#validator.recheck(session.peer);
    if (code !== undefined) {
      this.#log.warn("session_revoked", { conn: connId, cn: session.peer.identity, code });
      await session.close();
      return undefined;
    }
    return session;
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#stopping = true;
    this.#stopWatching();
    this.#log.info("shutdown", { sessions: this.#sessions.size });
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    this.#abort.abort(new Error("server shutting down"));
    this.#slots.open();
    try {
      // The listening socket is released only when its pending accept has ended: wait for
      // it, so that the port can be bound again as soon as close() resolves.
      await this.#accepting;
      // Commands already read get their replies; then sessions flush and close.
      await this.#router.idle();
      await Promise.all([...this.#sessions.keys()].map((s) => s.close()));
      for (const client of this.#sessions.values()) client.end(); // wakes paused readers
      if (this.#connections > 0) {
        this.#allClosed = Promise.withResolvers<void>();
        await this.#allClosed.promise;
      }
      await this.#router.close();
      const stats = this.#router.stats;
      this.#log.info("stopped", {
        accepted: stats.accepted,
        delivered: stats.delivered,
        acked: stats.acked,
        batches: stats.batches,
      });
    } catch (err) {
      this.#log.error("shutdown_failed", { error: (err as Error).message });
    } finally {
      this.#finished.resolve();
    }
  }
}
