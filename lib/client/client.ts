// The library client (ASL spec section 5 over an ASL session from lib/asl): its public face
// and lifecycle. Connects, registers, and reconnects with backoff, resending every
// unanswered MESSAGE with the same MESSAGEID. Each session is a Link (link.ts: commands out,
// lines in, routed by the reply FIFO of replies.ts); what outlives a session is the outbox
// (outbox.ts), the inbox with its seen memory and back-pressure (inbox.ts, seen.ts).

import { connect as aslConnect } from "../asl/mod.ts";
import type { Suite } from "../asl/types.ts";
import { deadline } from "../deadline.ts";
import { silentLogger } from "../log.ts";
import { sha256Fingerprint } from "../pki/fingerprint.ts";
import { type CertificateLookup, certLine, checkCertReply } from "./cert_lookup.ts";
import { isUserId } from "./commands.ts";
import { asError, ClientError, isFatal, timeoutError } from "./errors.ts";
import { Inbox } from "./inbox.ts";
import { Link } from "./link.ts";
import { Outbox, type Outgoing, prepareMessage } from "./outbox.ts";
import { backoff, sleep } from "./retry.ts";
import { SeenMemories } from "./seen.ts";
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

export { MAX_BUFFERED_INCOMING } from "./inbox.ts";

/** A session shorter than this counts as a quick drop for the reconnect backoff. */
const STABLE_SESSION_MS = 5_000;

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
  readonly #memories: SeenMemories;
  readonly #abort = new AbortController();
  readonly #fingerprint: string;
  #state: ClientState = "connecting";
  /** The current session, or none while (re)connecting or closed. */
  #link: Link | undefined;
  #suite: Suite | undefined;
  #serverIdentity: string | undefined;
  #serverFingerprint: string | undefined;
  readonly #outbox = new Outbox();
  readonly #inbox: Inbox<Link>;
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
    const log = this.#log;
    this.#memories = new SeenMemories({
      user: opts.user,
      stateDir: opts.stateDir,
      limit: opts.seenLimit,
      warn: (event, fields) => log.warn(event, fields),
    });
    // Acknowledged only while ready, and only on the session that delivered the message.
    const ack = (link: Link, sid: string) => {
      if (this.#state === "ready" && link === this.#link) link.ack(sid);
    };
    this.#inbox = new Inbox({ ack, log });
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
    return this.#outbox.size;
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
      const message = prepareMessage(to, content, options);
      if (this.#state === "closed") throw new ClientError("CLOSED", "the client is closed");
      return new Promise<SendResult>((resolve, reject) => {
        const entry: Outgoing = { kind: "message", ...message, resolve, reject };
        this.#outbox.add(entry);
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
    const link = this.#link;
    if (this.#state !== "ready" || link === undefined) {
      return Promise.reject(new ClientError("CLOSED", "not connected"));
    }
    return link.register();
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
    const link = this.#link;
    if (this.#state !== "ready" || link === undefined) {
      throw new ClientError("CLOSED", "not connected");
    }
    const reply = link.cert(user, line);
    const timeoutMs = options.timeoutMs ?? this.#opts.timeoutMs ?? 10_000;
    const replyLine = await deadline(reply, timeoutMs, timeoutError(`CERT ${user}`, timeoutMs));
    return await checkCertReply(user, replyLine, this.#opts.trust);
  }

  /**
   * Incoming messages, in the order the server delivered them, each once. A message is
   * acknowledged (`OK <sid>`) and remembered as seen when the consumer asks for the next
   * one or stops iterating: that is, after it has been handled. Ends when the client closes.
   */
  messages(): AsyncIterableIterator<IncomingMessage> {
    return this.#inbox.messages();
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
    this.#inbox.ackTaken();
    const link = this.#link;
    this.#finish({ reason: "local" });
    if (link !== undefined) await link.close();
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
    const address = `${this.#hostname}:${this.#port}`;
    const seen = this.#memories.for({ address, fingerprint: session.peer.fingerprint });
    const link = new Link(session, seen, {
      user: this.#opts.user,
      outbox: this.#outbox,
      inbox: this.#inbox,
      log: this.#log,
      current: (link) => link === this.#link,
      ended: (link, error) => this.#onDrop(link, error),
    });
    this.#link = link;
    this.#suite = session.suite;
    this.#serverIdentity = session.peer.identity;
    this.#serverFingerprint = session.peer.fingerprint;
    this.#emit({
      type: "handshake",
      suite: session.suite,
      server: session.peer.identity,
      fingerprint: session.peer.fingerprint,
    });
    link.start();
    // Ready the moment `OK <user>` is read, before any MESSAGE the server sends after it.
    const registered = link.register(() => {
      if (this.#link === link && this.#state === "connecting") this.#becomeReady();
    });
    try {
      await deadline(registered, timeoutMs, timeoutError("REGISTER", timeoutMs));
    } catch (err) {
      if (this.#link === link) this.#link = undefined;
      await link.close();
      throw err;
    }
    if (this.#link !== link || this.#abort.signal.aborted) {
      throw new ClientError("CLOSED", "the connection closed while registering");
    }
  }

  #becomeReady(): void {
    this.#state = "ready";
    this.#readyAt = Date.now();
    const resend = this.#outbox.entries();
    for (const entry of resend) this.#transmit(entry);
    this.#emit({ type: "ready", user: this.#opts.user, resent: resend.length });
  }

  #onDrop(link: Link, error: Error | undefined): void {
    if (this.#link !== link) return;
    this.#link = undefined;
    const wasReady = this.#state === "ready";
    const lost = error ?? new ClientError("CLOSED", "the server closed the connection");
    link.fail(lost); // MESSAGEs stay in the outbox, to be sent again
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
    const link = this.#link;
    this.#link = undefined;
    if (link !== undefined && info.reason === "error") void link.close();
    const why = info.error
      ? `the client closed: ${info.error.message}`
      : "the client was closed before the server answered";
    for (const entry of this.#outbox.clear()) {
      entry.reject(new ClientError("CLOSED", why, info.error ? { cause: info.error } : {}));
    }
    link?.fail(new ClientError("CLOSED", why));
    this.#inbox.close();
    this.#emit({ type: "closed", ...info });
    this.#resolveClosed(info);
  }

  #transmit(entry: Outgoing): void {
    this.#link?.transmit(entry);
  }

  #emit(event: ClientEvent): void {
    try {
      this.#opts.onEvent?.(event);
    } catch (err) {
      this.#log.warn("client.event_handler_failed", { reason: asError(err).message });
    }
  }
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
