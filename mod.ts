/**
 * NetSec-MSG: a secure messenger over ASL/1, the project's own SSL-like protocol.
 *
 * This module is the public library API: the messaging client ({@link connect}), the
 * server ({@link serve}), the PKI helpers (load credentials and trust stores, make a
 * development CA and user certificates, validate chains), the ASL session API
 * ({@link aslConnect}, {@link aslAccept}) and the error types with their codes.
 *
 * @example A throwaway CA, a server on a free port, and a message from alice to bob
 * ```ts
 * import assert from "node:assert/strict";
 * import { connect, initPki, issueUser, loadCredentials, loadTrustStore, serve } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * try {
 *   await initPki({ dir });
 *   await issueUser({ dir, userId: "alice" });
 *   await issueUser({ dir, userId: "bob" });
 *   const trust = await loadTrustStore(`${dir}/ca.pem`);
 *   const server = await serve({
 *     port: 0,
 *     credentials: await loadCredentials(`${dir}/server.pem`, `${dir}/server.key`),
 *     trust,
 *     dataPath: `${dir}/messages.db`,
 *   });
 *   const user = async (name: string) =>
 *     connect({
 *       user: name,
 *       port: server.addr.port,
 *       credentials: await loadCredentials(`${dir}/${name}.pem`, `${dir}/${name}.key`),
 *       trust,
 *     });
 *   const bob = await user("bob");
 *   const alice = await user("alice");
 *   await alice.send("bob", "hello bob");
 *   for await (const message of bob) {
 *     assert.equal(message.from, "alice");
 *     assert.equal(message.text, "hello bob");
 *     break;
 *   }
 *   await alice.close();
 *   await bob.close();
 *   await server.close();
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 *
 * @example Messages are sealed end to end by default (ASL spec section 7, docs/E2E.md)
 * ```ts
 * import assert from "node:assert/strict";
 * import { connect, initPki, issueUser, loadCredentials, loadTrustStore, serve } from "@netsec/msg";
 *
 * const dir = await Deno.makeTempDir();
 * await initPki({ dir });
 * for (const user of ["alice", "bob"]) await issueUser({ dir, userId: user });
 * const trust = await loadTrustStore(`${dir}/ca.pem`);
 * const creds = (who: string) => loadCredentials(`${dir}/${who}.pem`, `${dir}/${who}.key`);
 * const server = await serve({
 *   port: 0,
 *   credentials: await creds("server"),
 *   trust,
 *   dataPath: `${dir}/db.sqlite`,
 * });
 * const join = async (user: string) =>
 *   connect({ user, port: server.addr.port, credentials: await creds(user), trust });
 * const bob = await join("bob");
 * const alice = await join("alice");
 * await alice.send("bob", "only bob can read this"); // sealed: the server relays ciphertext
 * const { value: message } = await bob.messages().next();
 * assert.equal(message?.text, "only bob can read this");
 * assert.equal(message?.sealed, true); // opened and verified: alice signed it, nobody changed it
 * assert.equal(message?.senderFingerprint, (await alice.fingerprint()).base64);
 * assert.equal((await bob.whois("alice")).pin, "accepted"); // pinned on first use
 * await alice.close();
 * await bob.close();
 * await server.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { accept as acceptImpl, connect as connectImpl } from "./lib/asl/mod.ts";
import type { AcceptOptions, ConnectOptions, Duplex, SecureSession } from "./lib/asl/types.ts";
import { connect as connectClient, type MessengerClient } from "./lib/client/client.ts";
import type { ClientOptions } from "./lib/client/types.ts";
import {
  type PublicServeOptions,
  serve as serveImpl,
  type ServerHandle,
} from "./lib/server/serve.ts";

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
  PinStatus,
  ReconnectOptions,
  SendOptions,
  SendResult,
  ServerAddress,
  WhoisResult,
} from "./lib/client/types.ts";
export type { OwnFingerprint } from "./lib/client/e2e.ts";
export { earlierKeyPaths, keepPreviousKey, loadEarlierKeys } from "./lib/pki/key_history.ts";
export type { BackoffOptions } from "./lib/client/retry.ts";
export type { CertificateLookup } from "./lib/client/cert_lookup.ts";
export { type EnvLookup, resolveStateDir } from "./lib/client/state.ts";

/**
 * Connects to a NetSec-MSG server, runs the ASL handshake and registers `options.user`.
 * Resolves with a ready {@link MessengerClient}. Rejects with an `AslError`: the spec's code
 * when the handshake fails, or `CLOSED` when the server cannot be reached (the socket error
 * is its `cause`); or with a `ClientError` when the server refuses the REGISTER. After that
 * the client reconnects by itself and resends unanswered messages with the same MESSAGEID.
 *
 * @example A refused connection is an `AslError` with code `CLOSED`
 * ```ts
 * import assert from "node:assert/strict";
 * import { AslError, connect, initPki, issueUser, loadCredentials, loadTrustStore } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * try {
 *   await initPki({ dir });
 *   await issueUser({ dir, userId: "alice" });
 *   const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 *   const port = listener.addr.port;
 *   listener.close(); // nothing listens there any more
 *   await assert.rejects(
 *     connect({
 *       user: "alice",
 *       port,
 *       credentials: await loadCredentials(`${dir}/alice.pem`, `${dir}/alice.key`),
 *       trust: await loadTrustStore(`${dir}/ca.pem`),
 *       reconnect: false,
 *     }),
 *     (err) => err instanceof AslError && err.code === "CLOSED",
 *   );
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export function connect(options: ClientOptions): Promise<MessengerClient> {
  return connectClient(options);
}

// ---------------------------------------------------------------- server

export type {
  PublicServeOptions as ServeOptions,
  ServerHandle,
  ServerStats,
  StoreThread,
} from "./lib/server/serve.ts";
export type { RouterStats } from "./lib/server/router.ts";

/**
 * Starts a NetSec-MSG server; resolves with a handle (`addr`, `close()`, `finished`,
 * `stats()`). Messages are stored durably in `dataPath` before they are acknowledged.
 * Rejects with a `ServerError` (`LISTEN`, `STORE`) when it cannot start.
 *
 * @example A server on a free loopback port, started and stopped
 * ```ts
 * import assert from "node:assert/strict";
 * import { initPki, loadCredentials, loadTrustStore, serve } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * try {
 *   await initPki({ dir });
 *   const server = await serve({
 *     hostname: "127.0.0.1",
 *     port: 0,
 *     credentials: await loadCredentials(`${dir}/server.pem`, `${dir}/server.key`),
 *     trust: await loadTrustStore(`${dir}/ca.pem`),
 *     dataPath: `${dir}/messages.db`,
 *   });
 *   assert.ok(server.addr.port > 0);
 *   assert.equal(server.stats().connections, 0);
 *   await server.close();
 *   await server.finished;
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export function serve(options: PublicServeOptions): Promise<ServerHandle> {
  return serveImpl(options);
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
export { sha256Fingerprint, sha256FingerprintBase64 } from "./lib/pki/fingerprint.ts";
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
 * ```ts
 * import assert from "node:assert/strict";
 * import { aslAccept, aslConnect, initPki, issueUser, loadCredentials, loadTrustStore } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * try {
 *   await initPki({ dir });
 *   await issueUser({ dir, userId: "alice" });
 *   const trust = await loadTrustStore(`${dir}/ca.pem`);
 *   const echo = (async () => {
 *     const session = await aslAccept(await listener.accept(), {
 *       credentials: await loadCredentials(`${dir}/server.pem`, `${dir}/server.key`),
 *       trust,
 *     });
 *     assert.equal(session.peer.identity, "alice");
 *     for await (const line of session) {
 *       await session.send(`OK ${line}`);
 *       break;
 *     }
 *     await session.close();
 *   })();
 *   const session = await aslConnect({ hostname: "127.0.0.1", port: listener.addr.port }, {
 *     credentials: await loadCredentials(`${dir}/alice.pem`, `${dir}/alice.key`),
 *     trust,
 *     serverName: "127.0.0.1",
 *   });
 *   assert.equal(session.suite, "X25519_AES_GCM"); // forward secret by default
 *   await session.send("REGISTER alice");
 *   for await (const line of session) {
 *     assert.equal(line, "OK REGISTER alice");
 *     break;
 *   }
 *   await session.close();
 *   await echo;
 * } finally {
 *   listener.close();
 *   await Deno.remove(dir, { recursive: true });
 * }
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
 * Both sides are shown in the example of {@link aslConnect}.
 */
export function aslAccept(conn: Duplex, options: AcceptOptions): Promise<SecureSession> {
  return acceptImpl(conn, options);
}
