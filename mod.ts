/**
 * NetSec-MSG: a secure messenger over ASL/1, the project's own SSL-like protocol.
 *
 * This module is the public library API: the messaging client ({@link connect}), the
 * server ({@link serve}), the PKI helpers (load credentials and trust stores, make a
 * development CA and user certificates, validate chains), the ASL session API
 * ({@link aslConnect}, {@link aslAccept}) and the error types with their codes.
 *
 * @example Send a message and read replies
 * ```ts ignore
 * import { connect, loadCredentials, loadTrustStore } from "@netsec/msg";
 *
 * const client = await connect({
 *   user: "alice",
 *   credentials: await loadCredentials("certs/alice.pem", "certs/alice.key"),
 *   trust: await loadTrustStore("certs/ca.pem"),
 * });
 * await client.send("bob", "hello");
 * for await (const message of client) console.log(message.from, message.text);
 * ```
 *
 * @module
 */

import { accept as acceptImpl, connect as connectImpl } from "./lib/asl/mod.ts";
import type {
  AcceptOptions,
  ConnectOptions,
  Duplex,
  SecureSession,
  Suite,
} from "./lib/asl/types.ts";
import type { Credentials, TrustStore } from "./lib/pki/types.ts";
import { connect as connectClient, type MessengerClient } from "./lib/client/client.ts";
import type { ClientOptions } from "./lib/client/types.ts";
import { serve as serveImpl } from "./lib/server/serve.ts";

// ---------------------------------------------------------------- client

export { MessengerClient } from "./lib/client/client.ts";
export { ClientError, type ClientErrorCode, type FailedReason } from "./lib/client/errors.ts";
export type {
  ClientCloseInfo,
  ClientEvent,
  ClientInfo,
  ClientLogger,
  ClientOptions,
  ClientState,
  IncomingMessage,
  ReconnectOptions,
  SendOptions,
  SendResult,
  ServerAddress,
} from "./lib/client/types.ts";
export type { BackoffOptions } from "./lib/client/retry.ts";
export type { CertificateLookup } from "./lib/client/cert_lookup.ts";
export { resolveStateDir } from "./lib/client/state.ts";

/**
 * Connects to a NetSec-MSG server, runs the ASL handshake and registers `options.user`.
 * Resolves with a ready {@link MessengerClient}; rejects with an `AslError` (handshake),
 * a `ClientError` (refused REGISTER) or a network error. After that the client reconnects
 * by itself and resends unanswered messages with the same MESSAGEID.
 *
 * @example
 * ```ts ignore
 * import { connect, loadCredentials, loadTrustStore } from "@netsec/msg";
 * const client = await connect({
 *   user: "alice",
 *   hostname: "localhost",
 *   port: 4287,
 *   credentials: await loadCredentials("certs/alice.pem", "certs/alice.key"),
 *   trust: await loadTrustStore("certs/ca.pem"),
 *   onEvent: (event) => console.log(event.type),
 * });
 * await client.send(["bob", "carol"], "hi both");
 * await client.close();
 * ```
 */
export function connect(options: ClientOptions): Promise<MessengerClient> {
  return connectClient(options);
}

// ---------------------------------------------------------------- server

/**
 * Options of {@link serve}: the public subset of the server's settings (the `server` CLI
 * exposes the rest).
 *
 * @example
 * ```ts ignore
 * import type { ServeOptions } from "@netsec/msg";
 * const options: ServeOptions = { hostname: "127.0.0.1", port: 0, credentials, trust };
 * ```
 */
export interface ServeOptions {
  /** Address to listen on; default 127.0.0.1. */
  readonly hostname?: string;
  /** TCP port; default 4287, 0 picks a free port (see `addr`). */
  readonly port?: number;
  /** The server's certificate chain and key (see `loadCredentials`). */
  readonly credentials: Credentials;
  /** CA certificates (and CRLs) client chains must lead to (see `loadTrustStore`). */
  readonly trust: TrustStore;
  /** SQLite file for the message store; default `data/netsec-msg.db`. */
  readonly dataPath?: string;
  /**
   * Where the store's transactions run: `main` (default) on the network thread, the
   * cheapest per message on a local disk, each disk flush pausing the event loop; `worker`
   * in a thread of their own, for disks whose flushes take milliseconds.
   */
  readonly storeThread?: "main" | "worker";
  /** Cipher suites in preference order; default `X25519_AES_GCM`, `AES_GCM`, `AES_CBC`. */
  readonly suites?: readonly Suite[];
  /** Milliseconds from accept to a finished handshake; default 10 000. */
  readonly handshakeTimeoutMs?: number;
  /** Aborting it shuts the server down like `close()`. */
  readonly signal?: AbortSignal;
}

/**
 * A running server.
 *
 * @example
 * ```ts ignore
 * import type { ServerHandle } from "@netsec/msg";
 * const describe = (server: ServerHandle) => `listening on port ${server.addr.port}`;
 * ```
 */
export interface ServerHandle {
  /** The address it listens on (the real port when 0 was asked). */
  readonly addr: Deno.NetAddr;
  /** Graceful shutdown; resolves when everything is closed. Idempotent. */
  close(): Promise<void>;
  /** Resolves once the server has shut down (by `close()` or the signal). */
  readonly finished: Promise<void>;
}

/**
 * Starts a NetSec-MSG server; resolves with a handle (`addr`, `close()`, `finished`).
 * Messages are stored durably in `dataPath` before they are acknowledged.
 *
 * @example
 * ```ts ignore
 * import { loadCredentials, loadTrustStore, serve } from "@netsec/msg";
 * const server = await serve({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   credentials: await loadCredentials("certs/server.pem", "certs/server.key"),
 *   trust: await loadTrustStore("certs/ca.pem"),
 *   dataPath: "data/demo.db",
 * });
 * console.log(server.addr.port);
 * await server.close();
 * ```
 */
export async function serve(options: ServeOptions): Promise<ServerHandle> {
  const handle = await serveImpl(options);
  return { addr: handle.addr, close: () => handle.close(), finished: handle.finished };
}

// ---------------------------------------------------------------- PKI

export {
  loadCredentials,
  loadTrustStore,
  parseCredentials,
  parseTrustStore,
} from "./lib/pki/credentials.ts";
export { initPki, issueUser } from "./lib/pki/pki_files.ts";
export type {
  CaAlg,
  InitPkiOptions,
  InitPkiResult,
  IssuedPaths,
  IssueUserOptions,
} from "./lib/pki/pki_files.ts";
export { validateChain } from "./lib/pki/validate.ts";
export { sha256Fingerprint } from "./lib/pki/fingerprint.ts";
export { decodePemCertificates, encodePemCertificate } from "./lib/pki/pem.ts";
export { type CertErrorCode, PkiError, PkiInputError } from "./lib/pki/errors.ts";
export type { Credentials, TrustStore, ValidatedPeer, ValidateOptions } from "./lib/pki/types.ts";

// ---------------------------------------------------------------- ASL sessions

export { AslError, type AslErrorCode } from "./lib/asl/errors.ts";
export type {
  AcceptOptions as AslAcceptOptions,
  ConnectOptions as AslConnectOptions,
  Duplex,
  HandshakeOptions as AslHandshakeOptions,
  HandshakeTraceEvent,
  SecureSession,
  SessionCloseInfo,
  Suite,
} from "./lib/asl/types.ts";

/**
 * Client side of ASL: dials (or uses a given duplex), runs the seven-message handshake
 * and returns the encrypted session. Fails with an `AslError` carrying the spec's code.
 *
 * @example
 * ```ts ignore
 * import { aslConnect } from "@netsec/msg";
 * const session = await aslConnect({ hostname: "localhost", port: 4287 }, {
 *   credentials, trust, serverName: "localhost",
 * });
 * await session.send("REGISTER alice");
 * for await (const line of session) console.log(line);
 * ```
 */
export function aslConnect(
  target: Duplex | { hostname: string; port: number },
  options: ConnectOptions,
): Promise<SecureSession> {
  return connectImpl(target, options);
}

/**
 * Server side of ASL: runs the handshake on an accepted connection and returns the session.
 *
 * @example
 * ```ts ignore
 * import { aslAccept } from "@netsec/msg";
 * for await (const conn of Deno.listen({ hostname: "127.0.0.1", port: 0 })) {
 *   const session = await aslAccept(conn, { credentials, trust });
 *   console.log(session.peer.identity);
 * }
 * ```
 */
export function aslAccept(conn: Duplex, options: AcceptOptions): Promise<SecureSession> {
  return acceptImpl(conn, options);
}
