// The public shapes of an ASL secure channel (spec sections 2 and 3): options for both
// roles, the trace hook, and the session object the server and client build on.

import type { Credentials, TrustStore, ValidatedPeer } from "../pki/types.ts";

/**
 * A cipher suite this implementation can negotiate (spec section 3). `X25519_AES_GCM` is
 * forward secret and the default; `DES_CBC` is never chosen.
 *
 * @example
 * ```ts
 * import type { Suite } from "./types.ts";
 * const preference: Suite[] = ["AES_GCM", "AES_CBC"];
 * ```
 */
export type Suite = "X25519_AES_GCM" | "AES_GCM" | "AES_CBC";

/**
 * One step of a handshake, for `--verbose` and the demo; never carries keys, nonces or text.
 *
 * @example
 * ```ts
 * import type { HandshakeTraceEvent } from "./types.ts";
 * const seen: HandshakeTraceEvent[] = [];
 * const trace = (event: HandshakeTraceEvent) => seen.push(event);
 * trace({ step: "M4", direction: "received", bytes: 21, detail: "suite AES_GCM" });
 * ```
 */
export interface HandshakeTraceEvent {
  /** `M1` … `M7`, or `ASL_ERROR`. */
  readonly step: "M1" | "M2" | "M3" | "M4" | "M5" | "M6" | "M7" | "ASL_ERROR";
  /** Whether this side sent or received the message. */
  readonly direction: "sent" | "received";
  /** The message's size on the wire in bytes, final `LF LF` included. */
  readonly bytes: number;
  /** A short, secret-free description (the suite chosen, the peer CN, the error code…). */
  readonly detail: string;
}

/**
 * Options common to both roles.
 *
 * @example
 * ```ts
 * import type { HandshakeOptions } from "./types.ts";
 * import type { Credentials, TrustStore } from "../pki/types.ts";
 * function options(credentials: Credentials, trust: TrustStore): HandshakeOptions {
 *   return { credentials, trust, suites: ["AES_GCM"] };
 * }
 * ```
 */
export interface HandshakeOptions {
  /** Own certificate chain and private key. */
  readonly credentials: Credentials;
  /** CA certificates (and CRLs) the peer's chain must lead to. */
  readonly trust: TrustStore;
  /** Suites in preference order; default `["AES_GCM", "AES_CBC"]`. */
  readonly suites?: readonly Suite[];
  /** Called once per handshake step. */
  readonly trace?: (event: HandshakeTraceEvent) => void;
  /** Aborts the handshake (the connection is closed). */
  readonly signal?: AbortSignal;
}

/**
 * Server-side handshake options.
 *
 * @example
 * ```ts
 * import type { AcceptOptions } from "./types.ts";
 * import type { Credentials, TrustStore } from "../pki/types.ts";
 * function options(credentials: Credentials, trust: TrustStore): AcceptOptions {
 *   return { credentials, trust, handshakeTimeoutMs: 5_000 };
 * }
 * ```
 */
export interface AcceptOptions extends HandshakeOptions {
  /** Milliseconds from accept to a finished handshake before `TIMEOUT`; default 10 000. */
  readonly handshakeTimeoutMs?: number;
  /**
   * A gate around each stretch of the server's expensive work (M3: chain validation; M5:
   * the RSA checks and M6): resolves with a release function once the work may start. No
   * network wait happens inside a stretch, so a stalled peer holds no slot. The server uses
   * it to bound concurrent handshake work.
   */
  readonly admit?: () => Promise<() => void>;
  /**
   * When the client half-closes (ends its writing side), end only the session's input: the
   * iterator finishes after the lines received, `send` keeps working, and the session ends
   * when `close()` is called. A server sets it to answer every command it read (spec section
   * 5) before it closes. Default false: end of input ends the session.
   */
  readonly answerAfterHalfClose?: boolean;
}

/**
 * Client-side handshake options.
 *
 * @example
 * ```ts
 * import type { ConnectOptions } from "./types.ts";
 * import type { Credentials, TrustStore } from "../pki/types.ts";
 * function options(credentials: Credentials, trust: TrustStore): ConnectOptions {
 *   return { credentials, trust, serverName: "localhost" };
 * }
 * ```
 */
export interface ConnectOptions extends HandshakeOptions {
  /** The host name or IP literal the certificate must name (`BAD_IDENTITY` otherwise). */
  readonly serverName: string;
  /** Milliseconds for the whole handshake before giving up; default 10 000. */
  readonly handshakeTimeoutMs?: number;
}

/**
 * Why a session ended.
 *
 * @example
 * ```ts
 * import type { SessionCloseInfo } from "./types.ts";
 * const describe = (info: SessionCloseInfo) =>
 *   info.reason === "error" ? `failed: ${info.error?.message}` : `closed (${info.reason})`;
 * console.log(describe({ reason: "remote" })); // "closed (remote)"
 * ```
 */
export interface SessionCloseInfo {
  /** `local` when this side called close(); `remote` when the peer closed; `error` on a protocol fault. */
  readonly reason: "local" | "remote" | "error";
  /** The error that ended the session, when `reason` is `error`. */
  readonly error?: Error;
}

/**
 * An established ASL session: one record per `send`, an async iterator of received
 * command lines (plaintexts), and the peer's validated identity.
 *
 * @example
 * ```ts
 * import type { SecureSession } from "./types.ts";
 * async function echo(session: SecureSession): Promise<void> {
 *   for await (const line of session) await session.send(`OK ${line}`);
 *   console.log(await session.closed);
 * }
 * ```
 */
export interface SecureSession extends AsyncIterable<string> {
  /** The negotiated record suite. */
  readonly suite: Suite;
  /** The peer's validated certificate chain (identity = CN for clients, dialled host for servers). */
  readonly peer: ValidatedPeer;
  /** Seals `line` (one command line, 1–32 768 UTF-8 bytes) into a record and writes it; waits when the socket is slow. */
  send(line: string): Promise<void>;
  /** Closes the connection; pending sends are flushed first when possible. Idempotent. */
  close(): Promise<void>;
  /** Resolves once the session has ended, with the reason. */
  readonly closed: Promise<SessionCloseInfo>;
}

/**
 * A byte stream both roles can run over: a `Deno.Conn` or an in-memory pipe end.
 * `write` may write fewer bytes than given (like `Deno.Conn`); `closeWrite` half-closes.
 *
 * @example
 * ```ts
 * import type { Duplex } from "./types.ts";
 * import { createPipe } from "./pipe.ts";
 * const [a, b]: Duplex[] = createPipe();
 * await a.write(new TextEncoder().encode("SALAAM_ASL\n\n"));
 * const buf = new Uint8Array(64);
 * console.log(await b.read(buf)); // 12
 * a.close();
 * b.close();
 * ```
 */
export interface Duplex {
  /** Reads into `p`; resolves with the number of bytes read, or `null` at end of input. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes from `p`; resolves with the number of bytes written (possibly fewer than all). */
  write(p: Uint8Array): Promise<number>;
  /** Closes both directions at once; pending reads and writes fail. */
  close(): void;
  /** Half-closes: no more writes, the peer reads end of input; reading goes on. */
  closeWrite(): Promise<void>;
}
