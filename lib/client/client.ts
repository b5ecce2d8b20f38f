// The library client (ASL spec section 5 over an ASL session from lib/asl): connects,
// registers, sends MESSAGEs and CERT lookups (pipelined, replies matched in order), yields
// incoming messages and acknowledges each once the consumer has taken it, drops deliveries
// already seen from the same server (sid, sender and payload all equal), and reconnects
// with backoff, resending every unanswered MESSAGE with the same MESSAGEID.

import { connect as aslConnect } from "../asl/mod.ts";
import type { SecureSession, Suite } from "../asl/types.ts";
import { silentLogger } from "../log.ts";
import { sha256Fingerprint } from "../pki/fingerprint.ts";
import {
  type CertificateLookup,
  certLine,
  parseCertReply,
  verifyUserChain,
} from "./cert_lookup.ts";
import {
  ackLine,
  encodePayload,
  isUserId,
  messageLine,
  parseRecipients,
  parseServerLine,
  payloadText,
  refuseLine,
  registerLine,
} from "./commands.ts";
import { ClientError } from "./errors.ts";
import { newMessageId } from "./message_id.ts";
import { backoff, deadline, sleep } from "./retry.ts";
import {
  type ClientCloseInfo,
  type ClientEvent,
  type ClientInfo,
  type ClientLogger,
  type ClientOptions,
  type ClientState,
  DEFAULT_PORT,
  type IncomingMessage,
  type SendOptions,
  type SendResult,
} from "./types.ts";
import { deliveryDigest, SeenDeliveries, seenFilePath, type SeenServer } from "./seen.ts";

/** A session shorter than this counts as a quick drop for the reconnect backoff. */
const STABLE_SESSION_MS = 5_000;
/**
 * Incoming messages held for a slow consumer before the client stops reading from the
 * server: 40 times the spec's default window of 100 unacknowledged messages per session.
 */
export const MAX_BUFFERED_INCOMING = 4_000;

interface Outgoing {
  readonly id: string;
  readonly to: readonly string[];
  readonly line: string;
  resolve(result: SendResult): void;
  reject(error: Error): void;
}

type Expect =
  | { readonly kind: "register"; resolve(): void; reject(error: Error): void }
  | { readonly kind: "message"; readonly entry: Outgoing }
  | {
    readonly kind: "cert";
    readonly user: string;
    resolve(line: string): void;
    reject(error: Error): void;
  };

/** Where a shown message is acknowledged and remembered: the session and server that sent it. */
interface AckTarget {
  readonly digest: string;
  session: SecureSession;
  seen: SeenDeliveries;
}

/**
 * A connected, registered messenger client. Create it with {@link connect}: it sends
 * (`send`), receives (async iteration, each message acknowledged once handled), reconnects
 * and resends by itself, and ends with `close()`.
 *
 * @example
 * ```ts ignore
 * import { connect } from "@netsec/msg";
 * const bot = await connect({ user: "echo", credentials, trust });
 * for await (const message of bot) await bot.send(message.from, `echo: ${message.text}`);
 * ```
 */
export class MessengerClient implements AsyncIterable<IncomingMessage> {
  readonly #opts: ClientOptions;
  readonly #hostname: string;
  readonly #port: number;
  readonly #log: ClientLogger;
  /** Seen memories by server (address and certificate fingerprint). */
  readonly #memories = new Map<string, SeenDeliveries>();
  #seen: SeenDeliveries | undefined;
  readonly #abort = new AbortController();
  readonly #fingerprint: string;
  #state: ClientState = "connecting";
  #session: SecureSession | undefined;
  #suite: Suite | undefined;
  #serverIdentity: string | undefined;
  #serverFingerprint: string | undefined;
  #outbox: Outgoing[] = [];
  #inflight: Expect[] = [];
  #incoming: IncomingMessage[] = [];
  /** Messages waiting in #incoming or taken and not yet acknowledged, by digest. */
  #queued = new Map<string, AckTarget>();
  #targets = new WeakMap<IncomingMessage, AckTarget>();
  #taken: IncomingMessage | undefined;
  #waiters: Array<() => void> = [];
  #spaceWaiters: Array<() => void> = [];
  #resolveClosed!: (info: ClientCloseInfo) => void;
  #readyAt = 0;
  #quickDrops = 0;
  /** Resolves once the client has closed, with the reason. */
  readonly closed: Promise<ClientCloseInfo>;

  private constructor(opts: ClientOptions, fingerprint: string) {
    this.#opts = opts;
    this.#hostname = opts.hostname ?? "localhost";
    this.#port = opts.port ?? DEFAULT_PORT;
    this.#log = opts.logger ?? silentLogger;
    this.#fingerprint = fingerprint;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /** @internal Use {@link connect}. */
  static async open(opts: ClientOptions): Promise<MessengerClient> {
    if (!isUserId(opts.user)) {
      throw new ClientError("BAD_RECIPIENT", `${JSON.stringify(opts.user)} is not a user id`);
    }
    const leaf = opts.credentials.chain[0];
    const fingerprint = leaf === undefined ? "" : await sha256Fingerprint(leaf);
    const client = new MessengerClient(opts, fingerprint);
    try {
      await client.#establish(0);
    } catch (err) {
      client.#finish({ reason: "error", error: asError(err) });
      throw err;
    }
    return client;
  }

  /** `connecting` (also while reconnecting), `ready`, or `closed`. */
  get state(): ClientState {
    return this.#state;
  }

  /** Identity, server, suite and fingerprints, for `/who am i`. */
  get info(): ClientInfo {
    return {
      user: this.#opts.user,
      server: `${this.#hostname}:${this.#port}`,
      suite: this.#suite,
      serverIdentity: this.#serverIdentity,
      serverFingerprint: this.#serverFingerprint,
      fingerprint: this.#fingerprint,
    };
  }

  /** How many sent messages still wait for the server's answer. */
  get pending(): number {
    return this.#outbox.length;
  }

  /**
   * Sends `content` (text as UTF-8, or bytes) to one user (`"bob"`) or a group
   * (`["bob", "carol"]` or `"bob,carol"`). Resolves when the server answered `OK` (the
   * message is stored for every recipient); rejects with a {@link ClientError} carrying the
   * `FAILED` reason, or a local code (`TOO_LARGE`, `EMPTY_MESSAGE`, `BAD_RECIPIENT`,
   * `CLOSED`). Survives reconnects: an unanswered message is sent again with the same id.
   */
  send(
    to: string | readonly string[],
    content: string | Uint8Array,
    options: SendOptions = {},
  ): Promise<SendResult> {
    try {
      const recipients = parseRecipients(to);
      const line = messageLine(options.id ?? newMessageId(), recipients, encodePayload(content));
      const id = line.split(" ", 2)[1]!;
      if (this.#state === "closed") throw new ClientError("CLOSED", "the client is closed");
      return new Promise<SendResult>((resolve, reject) => {
        const entry: Outgoing = { id, to: recipients, line, resolve, reject };
        this.#outbox.push(entry);
        if (this.#state === "ready") this.#transmit(entry);
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Sends `REGISTER <user>` again on the current session (the server answers OK and
   * changes nothing). The client registers by itself on every (re)connect; this is for
   * checking that the registration stands.
   */
  register(): Promise<void> {
    const session = this.#session;
    if (this.#state !== "ready" || session === undefined) {
      return Promise.reject(new ClientError("CLOSED", "not connected"));
    }
    return this.#sendRegister(session);
  }

  /**
   * Looks up `user`'s certificate (`CERT <user>`, spec section 5) and validates the chain
   * the server returns as section 7 says: section 4's rules with purpose client against
   * this client's own trust store (`options.trust`, its CA file and CRL), and the leaf's
   * CN must be `user`. The server vouches for nothing; this check is what counts.
   * Resolves with the chain (DER, leaf first), the validated identity and the leaf's
   * SHA-256 fingerprint. Rejects with a {@link ClientError}: the server's `FAILED` reason
   * (`remote` true: `UNKNOWN_USER`, `NO_CERTIFICATE`, `RATE_LIMITED`, `NOT_REGISTERED`,
   * `MALFORMED`, `INTERNAL`), a certificate code (`UNKNOWN_CA`, `BAD_CERTIFICATE`,
   * `CERT_EXPIRED`, `CERT_REVOKED`), `BAD_IDENTITY` (a valid certificate for someone else),
   * `PROTOCOL` (a malformed reply), `BAD_RECIPIENT`, `CLOSED` or `TIMEOUT` (no reply within
   * `timeoutMs`, default the client's).
   *
   * @example
   * ```ts ignore
   * const bob = await client.lookupCertificate("bob");
   * console.log(`${bob.identity} SHA-256 ${bob.fingerprint}`);
   * ```
   */
  async lookupCertificate(
    user: string,
    options: { readonly timeoutMs?: number } = {},
  ): Promise<CertificateLookup> {
    const line = certLine(user);
    const session = this.#session;
    if (this.#state !== "ready" || session === undefined) {
      throw new ClientError("CLOSED", "not connected");
    }
    const reply = new Promise<string>((resolve, reject) => {
      this.#inflight.push({ kind: "cert", user, resolve, reject });
      session.send(line).catch(() => {});
    });
    const timeoutMs = options.timeoutMs ?? this.#opts.timeoutMs ?? 10_000;
    const parsed = parseCertReply(await deadline(reply, timeoutMs, `CERT ${user}`), user);
    if (parsed.kind === "failed") {
      throw new ClientError(parsed.reason, `CERT ${user} failed: ${parsed.reason}`, {
        remote: true,
      });
    }
    return await verifyUserChain(user, parsed.chain, this.#opts.trust);
  }

  /**
   * Incoming messages, in the order the server delivered them, each once. A message is
   * acknowledged (`OK <sid>`) and remembered as seen when the consumer asks for the next
   * one or stops iterating: that is, after it has been handled. Ends when the client closes.
   */
  messages(): AsyncIterableIterator<IncomingMessage> {
    const iterator: AsyncIterableIterator<IncomingMessage> = {
      next: async (): Promise<IteratorResult<IncomingMessage>> => {
        this.#ackTaken();
        while (true) {
          const message = this.#incoming.shift();
          if (message !== undefined) {
            this.#wakeSpace();
            this.#taken = message;
            return { value: message, done: false };
          }
          if (this.#state === "closed") return { value: undefined, done: true };
          await new Promise<void>((resolve) => this.#waiters.push(resolve));
        }
      },
      return: (): Promise<IteratorResult<IncomingMessage>> => {
        this.#ackTaken();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Same as {@link messages}. */
  [Symbol.asyncIterator](): AsyncIterator<IncomingMessage> {
    return this.messages();
  }

  /**
   * Closes the connection and stops reconnecting. Messages still unanswered are rejected
   * with `CLOSED`; the last message taken from the iterator is acknowledged first.
   * Idempotent.
   */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    this.#ackTaken();
    const session = this.#session;
    this.#finish({ reason: "local" });
    if (session !== undefined) await session.close().catch(() => {});
  }

  // ---- connection lifecycle ----

  async #establish(attempt: number): Promise<void> {
    this.#state = "connecting";
    this.#emit({ type: "connecting", hostname: this.#hostname, port: this.#port, attempt });
    const timeoutMs = this.#opts.timeoutMs ?? 10_000;
    const session = await aslConnect({ hostname: this.#hostname, port: this.#port }, {
      credentials: this.#opts.credentials,
      trust: this.#opts.trust,
      serverName: this.#opts.serverName ?? this.#hostname,
      handshakeTimeoutMs: timeoutMs,
      signal: this.#abort.signal,
      ...(this.#opts.suites ? { suites: this.#opts.suites } : {}),
      ...(this.#opts.trace ? { trace: this.#opts.trace } : {}),
    });
    if (this.#abort.signal.aborted) {
      await session.close().catch(() => {});
      throw new ClientError("CLOSED", "the client was closed");
    }
    this.#seen = this.#memoryFor({
      address: `${this.#hostname}:${this.#port}`,
      fingerprint: session.peer.fingerprint,
    });
    this.#session = session;
    this.#suite = session.suite;
    this.#serverIdentity = session.peer.identity;
    this.#serverFingerprint = session.peer.fingerprint;
    this.#emit({
      type: "handshake",
      suite: session.suite,
      server: session.peer.identity,
      fingerprint: session.peer.fingerprint,
    });
    this.#inflight = [];
    void this.#read(session);
    try {
      await deadline(this.#sendRegister(session, true), timeoutMs, "REGISTER");
    } catch (err) {
      if (this.#session === session) this.#session = undefined;
      await session.close().catch(() => {});
      throw err;
    }
    if (this.#session !== session || this.#abort.signal.aborted) {
      throw new ClientError("CLOSED", "the connection closed while registering");
    }
  }

  /**
   * The seen memory of one server: loaded from the state directory once per client, or
   * memory only when there is no state directory (or its file cannot be read).
   */
  #memoryFor(server: SeenServer): SeenDeliveries {
    const key = `${server.address}\n${server.fingerprint}`;
    let memory = this.#memories.get(key);
    if (memory !== undefined) return memory;
    const stateDir = this.#opts.stateDir;
    const path = stateDir === undefined
      ? undefined
      : seenFilePath(stateDir, this.#opts.user, server);
    try {
      memory = new SeenDeliveries(server, path, this.#opts.seenLimit);
    } catch (err) {
      this.#log.warn("client.seen_read_failed", { reason: asError(err).message });
      memory = new SeenDeliveries(server, undefined, this.#opts.seenLimit);
    }
    this.#memories.set(key, memory);
    return memory;
  }

  /**
   * Sends REGISTER. When `initial`, the session becomes ready the moment `OK <user>` is
   * read (before any MESSAGE the server sends after it), and unanswered messages are resent.
   */
  #sendRegister(session: SecureSession, initial = false): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onOk = () => {
        if (initial && this.#session === session && this.#state === "connecting") {
          this.#becomeReady();
        }
        resolve();
      };
      this.#inflight.push({ kind: "register", resolve: onOk, reject });
      session.send(registerLine(this.#opts.user)).catch(() => {});
    });
  }

  #becomeReady(): void {
    this.#state = "ready";
    this.#readyAt = Date.now();
    const resend = [...this.#outbox];
    for (const entry of resend) this.#transmit(entry);
    this.#emit({ type: "ready", user: this.#opts.user, resent: resend.length });
  }

  async #read(session: SecureSession): Promise<void> {
    let error: Error | undefined;
    try {
      for await (const line of session) {
        if (this.#session !== session) break;
        this.#onLine(session, line);
        // Back-pressure against a server that delivers faster than the consumer takes
        // messages (a conforming one stops at its window of unacknowledged messages):
        // stop reading until the consumer has caught up, so memory stays bounded.
        while (this.#incoming.length >= MAX_BUFFERED_INCOMING && this.#state !== "closed") {
          await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
        }
      }
      const info = await session.closed;
      error = info.error;
    } catch (err) {
      error = asError(err);
    }
    this.#onDrop(session, error);
  }

  #onDrop(session: SecureSession, error: Error | undefined): void {
    if (this.#session !== session) return;
    this.#session = undefined;
    const inflight = this.#inflight;
    this.#inflight = [];
    const wasReady = this.#state === "ready";
    const lost = error ?? new ClientError("CLOSED", "the server closed the connection");
    for (const expect of inflight) {
      if (expect.kind !== "message") expect.reject(lost);
    }
    if (this.#state === "closed" || !wasReady) return;
    this.#state = "connecting";
    this.#log.info("client.disconnected", { reason: lost.message });
    if (this.#opts.reconnect === false) {
      this.#finish({ reason: "error", error: lost });
      return;
    }
    // A session that ends soon after it started (e.g. another session of the same user
    // keeps replacing it) does not reset the backoff, so two clients cannot flap fast.
    this.#quickDrops = Date.now() - this.#readyAt < STABLE_SESSION_MS ? this.#quickDrops + 1 : 0;
    void this.#reconnect(lost);
  }

  async #reconnect(cause: Error): Promise<void> {
    const settings = this.#opts.reconnect || {};
    const delay = backoff(settings);
    const maxAttempts = settings.maxAttempts ?? Infinity;
    let last: Error = cause;
    const skip = Math.min(this.#quickDrops, 16);
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (this.#abort.signal.aborted) return;
      const delayMs = delay(attempt + skip);
      this.#emit({ type: "reconnecting", attempt: attempt + 1, delayMs, error: last });
      try {
        await sleep(delayMs, this.#abort.signal);
      } catch {
        return;
      }
      try {
        await this.#establish(attempt + 1);
        return;
      } catch (err) {
        last = asError(err);
        if (this.#abort.signal.aborted) return;
        this.#log.info("client.reconnect_failed", { attempt: attempt + 1, reason: last.message });
        if (isFatal(last)) break;
      }
    }
    this.#finish({ reason: "error", error: last });
  }

  #finish(info: ClientCloseInfo): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#abort.abort(new ClientError("CLOSED", "the client was closed"));
    const paused = this.#spaceWaiters;
    this.#spaceWaiters = [];
    for (const resume of paused) resume();
    const session = this.#session;
    this.#session = undefined;
    if (session !== undefined && info.reason === "error") session.close().catch(() => {});
    const outbox = this.#outbox;
    this.#outbox = [];
    const why = info.error
      ? `the client closed: ${info.error.message}`
      : "the client was closed before the server answered";
    for (const entry of outbox) {
      entry.reject(new ClientError("CLOSED", why, info.error ? { cause: info.error } : {}));
    }
    for (const expect of this.#inflight) {
      if (expect.kind !== "message") expect.reject(new ClientError("CLOSED", why));
    }
    this.#inflight = [];
    this.#wake();
    this.#emit({ type: "closed", ...info });
    this.#resolveClosed(info);
  }

  // ---- commands ----

  #transmit(entry: Outgoing): void {
    const session = this.#session;
    if (session === undefined) return;
    this.#inflight.push({ kind: "message", entry });
    session.send(entry.line).catch(() => {});
  }

  #onLine(session: SecureSession, line: string): void {
    const head = this.#inflight[0];
    if (head?.kind === "cert" && (line.startsWith("OK ") || line.startsWith("FAILED "))) {
      // The reply to CERT, in its FIFO position; cert_lookup.ts parses it strictly.
      this.#inflight.shift();
      head.resolve(line);
      return;
    }
    const parsed = parseServerLine(line);
    switch (parsed.kind) {
      case "ok":
      case "failed": {
        const expect = this.#inflight.shift();
        if (expect === undefined) {
          this.#log.warn("client.unexpected_reply", { id: parsed.id });
          return;
        }
        if (expect.kind === "cert") return; // unreachable: handled above
        const expectedId = expect.kind === "register" ? this.#opts.user : expect.entry.id;
        if (parsed.id !== "*" && parsed.id !== expectedId) {
          this.#log.warn("client.reply_mismatch", { expected: expectedId, got: parsed.id });
        }
        if (expect.kind === "register") {
          if (parsed.kind === "ok") expect.resolve();
          else {
            expect.reject(
              new ClientError(
                parsed.reason,
                `REGISTER ${this.#opts.user} failed: ${parsed.reason}`,
                {
                  remote: true,
                },
              ),
            );
          }
          return;
        }
        const entry = expect.entry;
        const index = this.#outbox.indexOf(entry);
        if (index < 0) return; // already settled (e.g. answered on an earlier session)
        this.#outbox.splice(index, 1);
        if (parsed.kind === "ok") entry.resolve({ id: entry.id, to: entry.to });
        else {
          entry.reject(
            new ClientError(
              parsed.reason,
              `the server refused message ${entry.id}: ${parsed.reason}`,
              {
                remote: true,
              },
            ),
          );
        }
        return;
      }
      case "message": {
        const { sid } = parsed;
        const seen = this.#seen;
        if (seen === undefined) return; // unreachable: set before the session is read
        const digest = deliveryDigest(sid, parsed.from, parsed.payload);
        if (seen.has(digest)) {
          // Shown before (same server; sid, sender and payload equal): acknowledge again.
          if (this.#state === "ready") session.send(ackLine(sid)).catch(() => {});
          return;
        }
        const queued = this.#queued.get(digest);
        if (queued !== undefined) {
          // Sent again (on a new session) while still waiting to be taken: the ack goes to
          // the session and memory that sent it last.
          queued.session = session;
          queued.seen = seen;
          return;
        }
        const target: AckTarget = { digest, session, seen };
        this.#queued.set(digest, target);
        const message: IncomingMessage = {
          sid,
          from: parsed.from,
          bytes: parsed.payload,
          text: payloadText(parsed.payload),
          receivedAt: new Date(),
        };
        this.#targets.set(message, target);
        this.#incoming.push(message);
        this.#wake();
        return;
      }
      case "bad-message":
        this.#log.warn("client.malformed_message", { sid: parsed.sid });
        session.send(refuseLine(parsed.sid, "MALFORMED")).catch(() => {});
        return;
      case "invalid":
        this.#log.warn("client.invalid_line", { length: parsed.line.length });
        return;
    }
  }

  #ackTaken(): void {
    const message = this.#taken;
    if (message === undefined) return;
    this.#taken = undefined;
    const target = this.#targets.get(message);
    if (target === undefined) return;
    this.#queued.delete(target.digest);
    try {
      target.seen.add(target.digest);
    } catch (err) {
      this.#log.warn("client.seen_write_failed", { reason: asError(err).message });
    }
    // Acknowledged only on the session that delivered it: a sid means nothing to another
    // server. After a reconnect the server sends it again; it is then dropped as seen and
    // acknowledged on the new session.
    const session = this.#session;
    if (this.#state === "ready" && session !== undefined && session === target.session) {
      session.send(ackLine(message.sid)).catch(() => {});
    }
  }

  #wakeSpace(): void {
    if (this.#incoming.length >= MAX_BUFFERED_INCOMING) return;
    const waiters = this.#spaceWaiters;
    this.#spaceWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #emit(event: ClientEvent): void {
    try {
      this.#opts.onEvent?.(event);
    } catch (err) {
      this.#log.warn("client.event_handler_failed", { reason: asError(err).message });
    }
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** A refusal by the server that another attempt would not change. */
function isFatal(err: Error): boolean {
  return err instanceof ClientError && err.remote && err.code !== "RATE_LIMITED" &&
    err.code !== "INTERNAL";
}

/**
 * Connects to a NetSec-MSG server, performs the ASL handshake and registers `options.user`.
 * Resolves with a ready client, or rejects with the first failure (an `AslError` for a
 * handshake fault, a `ClientError` for a refused REGISTER, a `Deno.errors` for the network).
 *
 * @example
 * ```ts ignore
 * import { connect } from "./client.ts";
 * const client = await connect({ user: "alice", credentials, trust });
 * await client.send("bob", "hello");
 * await client.close();
 * ```
 */
export function connect(options: ClientOptions): Promise<MessengerClient> {
  return MessengerClient.open(options);
}
