// The ASL secure channel (spec sections 1–3) as the server and client use it: accept and
// connect, the in-memory pipe for tests, the error class, the shapes, and trace formatting.
// Internal knobs (EndpointInternals: validators, primitives, record implementation) are
// reachable through endpoint.ts only, never through this module.

import { accept as acceptImpl, connect as connectImpl } from "./endpoint.ts";
import type { AcceptOptions, ConnectOptions, Duplex, SecureSession } from "./types.ts";

export { DEFAULT_HANDSHAKE_TIMEOUT_MS } from "./endpoint.ts";
export { createPipe } from "./pipe.ts";
export { AslError, type AslErrorCode } from "./errors.ts";
export type {
  AcceptOptions,
  ConnectOptions,
  Duplex,
  HandshakeOptions,
  HandshakeTraceEvent,
  SecureSession,
  SessionCloseInfo,
  Suite,
} from "./types.ts";
export type { Credentials, TrustStore, ValidatedPeer } from "../pki/types.ts";
export { formatTraceEvent, type TraceLogger, traceToLogger } from "./trace.ts";

/**
 * Server side: runs the ASL handshake (spec section 2) on an accepted connection and
 * returns the session. Fails with `AslError` (the spec code; `remote` when the client sent
 * `ASL_ERROR`), after sending `ASL_ERROR <code>` where the spec asks for it. Peer chains
 * are validated through a shared cache (lib/pki/validation_cache.ts).
 *
 * @example
 * ```ts ignore
 * import { accept } from "./mod.ts";
 * const session = await accept(conn, { credentials, trust });
 * for await (const line of session) await session.send(`OK ${line}`);
 * ```
 */
export function accept(conn: Duplex, options: AcceptOptions): Promise<SecureSession> {
  return acceptImpl(conn, options);
}

/**
 * Client side: dials (or uses the given connection), runs the ASL handshake and returns
 * the session. `ASYMCRYPOOK NONE` fails with `AslError("NO_SHARED_SUITE")`.
 *
 * @example
 * ```ts ignore
 * import { connect } from "./mod.ts";
 * const session = await connect({ hostname: "127.0.0.1", port: 7000 }, {
 *   credentials, trust, serverName: "127.0.0.1",
 * });
 * await session.send("REGISTER alice");
 * ```
 */
export function connect(
  target: Duplex | { hostname: string; port: number },
  options: ConnectOptions,
): Promise<SecureSession> {
  return connectImpl(target, options);
}
