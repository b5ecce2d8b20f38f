// The I/O side of the ASL handshake (spec section 2): runs a role's state machine over a
// duplex, one write per message, with the handshake timeout and the ASL_ERROR procedure
// (send the code, half-close, discard input for at most 1 s, close), then starts the session.

import "reflect-metadata"; // @peculiar/x509 (used by the validator) needs it loaded first.
import { deadline } from "../deadline.ts";
import { ValidationCache } from "../pki/validation_cache.ts";
import { AslError } from "./errors.ts";
import { type Frame, FrameReader, HANDSHAKE_LIMITS } from "./framing.ts";
import type { ChainValidator, HandshakeResult } from "./handshake.ts";
import { ClientHandshake } from "./handshake_client.ts";
import { ServerHandshake } from "./handshake_server.ts";
import { serializeAslError } from "./messages.ts";
import type { Primitives } from "./primitives.ts";
import type { EphemeralKeyPair } from "./kx_x25519.ts";
import { createRecordCipher } from "./records.ts";
import type { RecordCipher, RecordImpl } from "./records_cipher.ts";
import { Session, type SessionOptions } from "./session.ts";
import { closeQuietly, dial, prepareConn, writeAll } from "./transport.ts";
import type { AcceptOptions, ConnectOptions, Duplex, SecureSession } from "./types.ts";

/** Default time a handshake may take, in milliseconds. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long a side that sent ASL_ERROR keeps discarding input before it closes. */
export const ERROR_DRAIN_MS = 1_000;

/** Codes that may be sent in `ASL_ERROR` (spec section 2). */
const SENDABLE = new Set([
  "PROTOCOL_ERROR",
  "BAD_CERTIFICATE",
  "UNKNOWN_CA",
  "CERT_EXPIRED",
  "CERT_REVOKED",
  "BAD_IDENTITY",
  "DECRYPT_ERROR",
  "BAD_SIGNATURE",
  "TIMEOUT",
  "INTERNAL_ERROR",
]);

/**
 * The validation cache every endpoint shares unless told otherwise: `validateChain` of
 * lib/pki behind an LRU of at most 10 000 chains and about 8 MiB (see
 * lib/pki/validation_cache.ts).
 */
export const defaultValidationCache: ValidationCache = new ValidationCache();

/** Internal knobs for tests and benchmarks (not part of the public options). */
export interface EndpointInternals {
  /**
   * Chain validator: a plain validator (e.g. `validateChain`, run in full every time) or a
   * ValidationCache; default `defaultValidationCache`.
   */
  readonly validate?: ChainValidator | ValidationCache;
  /** SHA-256 / HMAC / HKDF implementation; default node:crypto. */
  readonly primitives?: Primitives;
  /** Forced random source (vector replay). */
  readonly random?: (length: number) => Uint8Array;
  /** Record implementation; default `node`. */
  readonly recordImpl?: RecordImpl;
  /** Session limits (e.g. a lower record limit in tests). */
  readonly session?: SessionOptions;
  /** Raw M3 offer (client), e.g. `["DES_CBC"]`. */
  readonly offer?: readonly string[];
  /** Ephemeral X25519 key source (vector replay); default a fresh WebCrypto key. */
  readonly ephemeral?: () => Promise<EphemeralKeyPair>;
  /**
   * Wraps this side's sending RecordCipher (tests: a peer that seals what no honest sender
   * would, such as a plaintext with an empty line).
   */
  readonly wrapSendCipher?: (cipher: RecordCipher) => RecordCipher;
  /** How long the ASL_ERROR procedure may drain input (tests); default ERROR_DRAIN_MS. */
  readonly errorDrainMs?: number;
}

interface Role {
  receive: ServerHandshake["receive"];
}

/** Socket failures (reset, broken pipe) mean the peer is gone: CLOSED. */
function ioError(err: unknown): never {
  if (err instanceof AslError) throw err;
  throw new AslError("CLOSED", "the connection failed during the handshake", { cause: err });
}

/** One exchange: read a message, feed it to the role, write its reply (if any). */
async function exchange(
  conn: Duplex,
  reader: FrameReader,
  role: Role,
): Promise<HandshakeResult | undefined> {
  let frame: Frame | null;
  try {
    frame = await reader.next();
  } catch (err) {
    ioError(err);
  }
  if (frame === null) throw new AslError("CLOSED", "peer closed the connection mid-handshake");
  const out = await role.receive(frame);
  if (out.reply) {
    try {
      await writeAll(conn, out.reply);
    } catch (err) {
      ioError(err);
    }
  }
  if (out.noSharedSuite) {
    throw new AslError("NO_SHARED_SUITE", "the client offered no suite this server accepts");
  }
  return out.result;
}

/**
 * Runs `role` until it yields a result; `first` is written before reading (client M1). Each
 * exchange is raced once against `aborted` (timeout or signal).
 */
async function drive(
  conn: Duplex,
  reader: FrameReader,
  role: Role,
  first: Uint8Array | undefined,
  aborted: Promise<never>,
): Promise<HandshakeResult> {
  if (first) await Promise.race([writeAll(conn, first).catch(ioError), aborted]);
  for (;;) {
    const result = await Promise.race([exchange(conn, reader, role), aborted]);
    if (result) return result;
  }
}

/** Discards input until the peer's end of input (or an error). */
async function drain(reader: FrameReader): Promise<void> {
  try {
    while (await reader.readChunk() !== null) {
      // discard
    }
  } catch {
    // Reset by the peer: nothing more to read.
  }
}

/**
 * The failure procedure of spec section 2: send `ASL_ERROR <code>` (when the code may be
 * sent), half-close, discard input until the peer closes, all within ERROR_DRAIN_MS (a peer
 * that reads nothing cannot hold us; `drainMs` in tests), then close. Returns the error to raise.
 */
async function failHandshake(
  conn: Duplex,
  reader: FrameReader,
  err: unknown,
  trace: AcceptOptions["trace"],
  alreadySent: boolean,
  drainMs = ERROR_DRAIN_MS,
): Promise<AslError> {
  const error = err instanceof AslError
    ? err
    : new AslError("INTERNAL_ERROR", "handshake failed", { cause: err });
  if (error.remote) {
    const bytes = `ASL_ERROR ${error.code}\n\n`.length;
    trace?.({ step: "ASL_ERROR", direction: "received", bytes, detail: error.code });
  }
  const send = !error.remote && SENDABLE.has(error.code);
  if (send || alreadySent) {
    const procedure = (async () => {
      if (send) {
        const bytes = serializeAslError(error.code);
        await writeAll(conn, bytes);
        trace?.({ step: "ASL_ERROR", direction: "sent", bytes: bytes.length, detail: error.code });
      }
      await conn.closeWrite();
      await drain(reader);
    })().catch(() => {
      // The peer is gone; closing is all that is left.
    });
    await deadline(procedure, drainMs, () => undefined);
  }
  closeQuietly(conn);
  return error;
}

async function run(
  conn: Duplex,
  reader: FrameReader,
  role: Role,
  first: Uint8Array | undefined,
  options: AcceptOptions | ConnectOptions,
  internals: EndpointInternals,
): Promise<SecureSession> {
  const abort = Promise.withResolvers<never>();
  abort.promise.catch(() => {});
  const timeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const timer = setTimeout(
    () => abort.reject(new AslError("TIMEOUT", `handshake not finished within ${timeoutMs} ms`)),
    timeoutMs,
  );
  const onAbort = () =>
    abort.reject(new AslError("CLOSED", "handshake aborted", { cause: options.signal?.reason }));
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (options.signal?.aborted) onAbort();
    const result = await drive(conn, reader, role, first, abort.promise);
    const isServer = role instanceof ServerHandshake;
    const impl = { impl: internals.recordImpl ?? "node" } as const;
    const [ownCipher, recvCipher] = await Promise.all([
      createRecordCipher(isServer ? result.keys.s2c : result.keys.c2s, impl),
      createRecordCipher(isServer ? result.keys.c2s : result.keys.s2c, impl),
    ]);
    const sendCipher = internals.wrapSendCipher?.(ownCipher) ?? ownCipher;
    return new Session({
      conn,
      reader,
      suite: result.suite,
      peer: result.peer,
      sendCipher,
      recvCipher,
      ...(internals.session ? { options: internals.session } : {}),
    });
  } catch (err) {
    const noneSent = err instanceof AslError && err.code === "NO_SHARED_SUITE" &&
      role instanceof ServerHandshake;
    throw await failHandshake(
      conn,
      reader,
      err,
      options.trace,
      noneSent,
      internals.errorDrainMs,
    );
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Server side: runs the ASL handshake on an accepted connection and returns the session.
 * Fails with `AslError` (the spec code; `remote` when the client sent ASL_ERROR), after
 * sending `ASL_ERROR <code>` where the spec asks for it.
 *
 * @example
 * ```ts ignore
 * const session = await accept(conn, { credentials, trust });
 * for await (const line of session) await session.send(`OK ${line}`);
 * ```
 */
export function accept(
  conn: Duplex,
  options: AcceptOptions,
  internals: EndpointInternals = {},
): Promise<SecureSession> {
  prepareConn(conn);
  const reader = new FrameReader(conn, HANDSHAKE_LIMITS);
  const role = new ServerHandshake({
    credentials: options.credentials,
    trust: options.trust,
    validate: internals.validate ?? defaultValidationCache,
    ...(internals.primitives ? { primitives: internals.primitives } : {}),
    ...(options.suites ? { suites: options.suites } : {}),
    ...(options.trace ? { trace: options.trace } : {}),
    ...(options.admit ? { admit: options.admit } : {}),
    ...(internals.random ? { random: internals.random } : {}),
    ...(internals.ephemeral ? { ephemeral: internals.ephemeral } : {}),
  });
  const sessionInternals = options.answerAfterHalfClose
    ? { ...internals, session: { ...internals.session, answerAfterInputEnds: true } }
    : internals;
  return run(conn, reader, role, undefined, options, sessionInternals);
}

/**
 * Client side: dials (or uses the given connection), runs the ASL handshake and returns
 * the session. `ASYMCRYPOOK NONE` fails with `AslError("NO_SHARED_SUITE")`.
 *
 * @example
 * ```ts ignore
 * const session = await connect({ hostname: "127.0.0.1", port: 7000 }, {
 *   credentials, trust, serverName: "127.0.0.1",
 * });
 * await session.send("REGISTER alice");
 * ```
 */
export async function connect(
  target: Duplex | { hostname: string; port: number },
  options: ConnectOptions,
  internals: EndpointInternals = {},
): Promise<SecureSession> {
  let conn: Duplex;
  try {
    conn = "read" in target ? target : await dial(target);
  } catch (err) {
    const where = `${(target as { hostname: string }).hostname}:${
      (target as { port: number }).port
    }`;
    throw new AslError("CLOSED", `cannot connect to ${where}`, { cause: err });
  }
  prepareConn(conn);
  const reader = new FrameReader(conn, HANDSHAKE_LIMITS);
  const role = new ClientHandshake({
    credentials: options.credentials,
    trust: options.trust,
    validate: internals.validate ?? defaultValidationCache,
    ...(internals.primitives ? { primitives: internals.primitives } : {}),
    serverName: options.serverName,
    ...(options.suites ? { suites: options.suites } : {}),
    ...(options.trace ? { trace: options.trace } : {}),
    ...(internals.random ? { random: internals.random } : {}),
    ...(internals.offer ? { offer: internals.offer } : {}),
    ...(internals.ephemeral ? { ephemeral: internals.ephemeral } : {}),
  });
  let first: Uint8Array;
  try {
    first = role.start();
  } catch (err) {
    closeQuietly(conn);
    throw err;
  }
  return await run(conn, reader, role, first, options, internals);
}
