// The library client's lifecycle (ASL spec section 5 over sessions from lib/asl): dials,
// handshakes and registers, becomes ready at `OK <user>` and resends every unanswered
// MESSAGE with the same MESSAGEID, notices a dropped session and reconnects with backoff
// (slower after quick drops, never after a refusal no retry can change), trying the servers
// of a cluster in turn (servers.ts), and closes: every
// unanswered command rejected with CLOSED. Each session is a Link (link.ts); what outlives
// it is the outbox (outbox.ts) and the inbox with its seen memories (inbox.ts, seen.ts).
// MessengerClient (client.ts) is the public face over one Connection. Its end-to-end layer
// (e2e.ts) seals and opens with `CERT` lookups over the current session, and switches to
// the pins of each server it handshakes with.

import { connect as aslConnect } from "../asl/mod.ts";
import type { Suite } from "../asl/types.ts";
import { deadline } from "../deadline.ts";
import { silentLogger } from "../log.ts";
import { certAnswer } from "./cert_lookup.ts";
import { ClientE2e } from "./e2e.ts";
import { asError, ClientError, isFatal, timeoutError } from "./errors.ts";
import { Inbox } from "./inbox.ts";
import { Link } from "./link.ts";
import { Outbox, type Outgoing } from "./outbox.ts";
import { retryWithBackoff } from "./retry.ts";
import { SeenMemories } from "./seen.ts";
import { type ServerEndpoint, ServerList } from "./servers.ts";
import type {
  ClientCloseInfo,
  ClientEvent,
  ClientInfo,
  ClientLogger,
  ClientOptions,
  ClientState,
} from "./types.ts";

/** A session shorter than this counts as a quick drop for the reconnect backoff. */
const STABLE_SESSION_MS = 5_000;

/** One client's connection to its server, across sessions. */
export class Connection {
  /** MESSAGEs not yet answered, kept across sessions. */
  readonly outbox: Outbox = new Outbox();
  /** Deliveries for the program, kept across sessions. */
  readonly inbox: Inbox<Link>;
  /** Resolves once the connection has closed for good, with the reason. */
  readonly closed: Promise<ClientCloseInfo>;
  /** Sealing and opening (ASL spec section 7). */
  readonly e2e: ClientE2e;
  readonly #opts: ClientOptions;
  /** The servers to try and the fail-over choice. */
  readonly #servers: ServerList;
  readonly #log: ClientLogger;
  /** How long a handshake, REGISTER or CERT may take. */
  readonly #timeoutMs: number;
  readonly #fingerprint: string;
  readonly #memories: SeenMemories;
  readonly #abort = new AbortController();
  #state: ClientState = "connecting";
  /** The current session, or none while (re)connecting or closed. */
  #link: Link | undefined;
  /** The last session's suite and server certificate, for `info`. */
  #peer: { suite: Suite; identity: string; fingerprint: string } | undefined;
  #resolveClosed!: (info: ClientCloseInfo) => void;
  #readyAt = 0;
  #quickDrops = 0;
  #readyWaiters: Array<{ resolve(link: Link): void; reject(error: Error): void }> = [];

  /** Not connected yet: call {@link Connection.start}. `fingerprint`: own certificate's. */
  constructor(opts: ClientOptions, fingerprint: string) {
    this.#opts = opts;
    this.#servers = new ServerList(opts);
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    const log = this.#log = opts.logger ?? silentLogger;
    this.#fingerprint = fingerprint;
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
    const refuse = (link: Link, sid: string, reason: string) => {
      if (this.#state === "ready" && link === this.#link) link.refuse(sid, reason);
    };
    this.e2e = new ClientE2e({
      user: opts.user,
      credentials: opts.credentials,
      ...(opts.earlierKeys ? { earlierKeys: opts.earlierKeys } : {}),
      trust: opts.trust,
      stateDir: opts.stateDir,
      sendLookup: (user) =>
        certAnswer(() => this.readyLink(this.#timeoutMs), user, this.#timeoutMs),
      openLookup: (user) => certAnswer(() => this.link(), user, this.#timeoutMs),
      emit: (event) => this.#emit(event),
      sealedOnly: opts.sealedOnly ?? false,
    });
    this.inbox = new Inbox({
      ack,
      refuse,
      log,
      open: (delivery, receivedAt) => this.e2e.open(delivery, receivedAt),
    });
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /** `connecting` (also while reconnecting), `ready`, or `closed`. */
  get state(): ClientState {
    return this.#state;
  }

  /** Identity, server, suite and fingerprints. */
  get info(): ClientInfo {
    return {
      user: this.#opts.user,
      server: `${this.#servers.current.hostname}:${this.#servers.current.port}`,
      suite: this.#peer?.suite,
      serverIdentity: this.#peer?.identity,
      serverFingerprint: this.#peer?.fingerprint,
      fingerprint: this.#fingerprint,
    };
  }

  /** The current session when ready; else throws `CLOSED` ("not connected"). */
  link(): Link {
    const link = this.#link;
    if (this.#state !== "ready" || link === undefined) {
      throw new ClientError("CLOSED", "not connected");
    }
    return link;
  }

  /** The current session once ready (waiting up to `timeoutMs` while connecting). */
  readyLink(timeoutMs: number): Promise<Link> {
    if (this.#state === "ready" && this.#link !== undefined) return Promise.resolve(this.#link);
    if (this.#state === "closed") {
      return Promise.reject(new ClientError("CLOSED", "the client is closed"));
    }
    const waiting = new Promise<Link>((resolve, reject) =>
      this.#readyWaiters.push({ resolve, reject })
    );
    return deadline(waiting, timeoutMs, timeoutError("connecting", timeoutMs));
  }

  /** Puts a MESSAGE in the outbox, and on the wire now when ready (else once ready). */
  enqueue(entry: Outgoing): void {
    this.outbox.add(entry);
    if (this.#state === "ready") this.#link?.transmit(entry);
  }

  /** Connects and registers the first time; on failure the connection is finished. */
  async start(): Promise<void> {
    try {
      await this.#establishAny(0);
    } catch (err) {
      this.#finish({ reason: "error", error: asError(err) });
      throw err;
    }
  }

  /** Closes on the program's request: acknowledges the message taken, rejects the rest. */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    this.inbox.ackTaken();
    const link = this.#link;
    this.#finish({ reason: "local" });
    if (link !== undefined) await link.close();
  }

  /** One attempt: each server once, from the current one on (servers.ts). */
  #establishAny(attempt: number): Promise<void> {
    return this.#servers.tryEach(
      (server) => this.#establish(attempt, server),
      (error) => isFatal(error) || this.#abort.signal.aborted,
      (server, error) =>
        this.#log.info("client.server_failed", {
          server: `${server.hostname}:${server.port}`,
          reason: error.message,
        }),
    );
  }

  async #establish(
    attempt: number,
    server: ServerEndpoint,
  ): Promise<void> {
    this.#state = "connecting";
    const { hostname, port } = server;
    this.#emit({ type: "connecting", hostname, port, attempt });
    const timeoutMs = this.#timeoutMs;
    const session = await aslConnect({ hostname, port }, {
      credentials: this.#opts.credentials,
      trust: this.#opts.trust,
      serverName: this.#opts.serverName ?? hostname,
      handshakeTimeoutMs: timeoutMs,
      signal: this.#abort.signal,
      ...(this.#opts.suites ? { suites: this.#opts.suites } : {}),
      ...(this.#opts.trace ? { trace: this.#opts.trace } : {}),
    });
    if (this.#abort.signal.aborted) {
      await session.close().catch(() => {});
      throw new ClientError("CLOSED", "the client was closed");
    }
    const serverKey = { address: this.#servers.address, fingerprint: session.peer.fingerprint };
    const seen = this.#memories.for(serverKey);
    try {
      await this.e2e.useServer(serverKey);
    } catch (err) {
      await session.close().catch(() => {});
      throw err;
    }
    const link = new Link(session, seen, {
      user: this.#opts.user,
      outbox: this.outbox,
      inbox: this.inbox,
      log: this.#log,
      current: (link) => link === this.#link,
      ended: (link, error) => this.#onDrop(link, error),
    });
    this.#link = link;
    const { identity, fingerprint } = session.peer;
    this.#peer = { suite: session.suite, identity, fingerprint };
    this.#emit({ type: "handshake", suite: session.suite, server: identity, fingerprint });
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
    const resend = this.outbox.entries();
    for (const entry of resend) this.#link?.transmit(entry);
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const waiter of waiters) waiter.resolve(this.#link!);
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
    const skip = Math.min(this.#quickDrops, 16);
    const last = await retryWithBackoff(
      this.#opts.reconnect || {},
      skip,
      cause,
      this.#abort.signal,
      {
        waiting: (attempt, delayMs, error) =>
          this.#emit({ type: "reconnecting", attempt, delayMs, error }),
        attempt: (attempt) => this.#establishAny(attempt),
        failed: (attempt, error) =>
          this.#log.info("client.reconnect_failed", { attempt, reason: error.message }),
        fatal: isFatal,
      },
    );
    if (last !== undefined) this.#finish({ reason: "error", error: last });
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
    for (const entry of this.outbox.clear()) {
      entry.reject(new ClientError("CLOSED", why, info.error ? { cause: info.error } : {}));
    }
    link?.fail(new ClientError("CLOSED", why));
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const waiter of waiters) waiter.reject(new ClientError("CLOSED", why));
    this.inbox.close();
    this.#emit({ type: "closed", ...info });
    this.#resolveClosed(info);
  }

  #emit(event: ClientEvent): void {
    try {
      this.#opts.onEvent?.(event);
    } catch (err) {
      this.#log.warn("client.event_handler_failed", { reason: asError(err).message });
    }
  }
}
