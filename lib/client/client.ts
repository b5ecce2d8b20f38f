// The library client's public face (ASL spec section 5): `connect` and MessengerClient, which
// checks what a program asks for and hands it to its Connection (connection.ts: lifecycle
// and reconnect), whose sessions are Links (link.ts, with the reply FIFO of replies.ts), the
// outbox (outbox.ts) and the inbox with seen memory and back-pressure (inbox.ts, seen.ts).

import { deadline } from "../deadline.ts";
import { sha256Fingerprint } from "../pki/fingerprint.ts";
import { type CertificateLookup, certLine, checkCertReply } from "./cert_lookup.ts";
import { isUserId, parseRecipients } from "./commands.ts";
import type { OwnFingerprint } from "./e2e.ts";
import { ClientError, timeoutError } from "./errors.ts";
import { Connection } from "./connection.ts";
import { type Outgoing, prepareMessage, sealedMessages } from "./outbox.ts";
import type {
  ClientCloseInfo,
  ClientInfo,
  ClientOptions,
  ClientState,
  IncomingMessage,
  SendOptions,
  SendResult,
  WhoisResult,
} from "./types.ts";

export { MAX_BUFFERED_INCOMING } from "./inbox.ts";

/**
 * A connected, registered messenger client. Create it with {@link connect}: it sends
 * (`send`), receives (async iteration, each message acknowledged once handled), reconnects
 * and resends by itself, and ends with `close()`.
 *
 * @example An echo bot answers one message
 * ```ts
 * import assert from "node:assert/strict";
 * import { connect } from "./client.ts";
 * import { serve } from "../server/serve.ts";
 * import { initPki, issueUser } from "../pki/pki_files.ts";
 * import { loadCredentials, loadTrustStore } from "../pki/credentials.ts";
 *
 * const dir = await Deno.makeTempDir();
 * await initPki({ dir });
 * for (const user of ["alice", "bob"]) await issueUser({ dir, userId: user });
 * const trust = await loadTrustStore(`${dir}/ca.pem`);
 * const server = await serve({
 *   port: 0,
 *   credentials: await loadCredentials(`${dir}/server.pem`, `${dir}/server.key`),
 *   trust,
 *   dataPath: `${dir}/db.sqlite`,
 * });
 * const user = async (name: string) =>
 *   connect({
 *     user: name,
 *     port: server.addr.port,
 *     credentials: await loadCredentials(`${dir}/${name}.pem`, `${dir}/${name}.key`),
 *     trust,
 *   });
 * const bot = await user("bob");
 * const alice = await user("alice");
 * await alice.send("bob", "ping");
 * for await (const message of bot) {
 *   await bot.send(message.from, `echo: ${message.text}`); // sealed end to end by default
 *   break;
 * }
 * for await (const reply of alice) {
 *   assert.equal(reply.text, "echo: ping");
 *   assert.equal(reply.sealed, true);
 *   break;
 * }
 * await alice.close();
 * await bot.close();
 * await server.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class MessengerClient implements AsyncIterable<IncomingMessage> {
  readonly #opts: ClientOptions;
  readonly #conn: Connection;
  /** Sends waiting for their turn (sealing is async; sends keep the order they were made). */
  #sendChain: Promise<unknown> = Promise.resolve();
  #sealing = 0;
  /** Resolves once the client has closed, with the reason. */
  readonly closed: Promise<ClientCloseInfo>;

  private constructor(opts: ClientOptions, conn: Connection) {
    this.#opts = opts;
    this.#conn = conn;
    this.closed = conn.closed;
  }

  /** @internal Use {@link connect}. */
  static async open(opts: ClientOptions): Promise<MessengerClient> {
    if (!isUserId(opts.user)) {
      throw new ClientError("BAD_RECIPIENT", `${JSON.stringify(opts.user)} is not a user id`);
    }
    const leaf = opts.credentials.chain[0];
    const fingerprint = leaf === undefined ? "" : await sha256Fingerprint(leaf);
    const conn = new Connection(opts, fingerprint);
    await conn.start();
    return new MessengerClient(opts, conn);
  }

  /** `connecting` (also while reconnecting), `ready`, or `closed`. */
  get state(): ClientState {
    return this.#conn.state;
  }

  /** Identity, server, suite and fingerprints, for `/who am i`. */
  get info(): ClientInfo {
    return this.#conn.info;
  }

  /** How many sent messages still wait for the server's answer (or for sealing). */
  get pending(): number {
    return this.#conn.outbox.size + this.#sealing;
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
      if (options.seal ?? this.#opts.seal ?? true) return this.#sendSealed(to, content, options);
      const message = prepareMessage(to, content, options);
      if (this.#conn.state === "closed") throw new ClientError("CLOSED", "the client is closed");
      if (this.#sealing === 0) return this.#enqueue(message);
      // A sealed message made before this one is still being sealed: keep the order.
      const sent = this.#sendChain.then(() => this.#enqueue(message));
      this.#sendChain = sent.catch(() => {});
      return sent;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #enqueue(message: { id: string; to: readonly string[]; line: string }): Promise<SendResult> {
    if (this.#conn.state === "closed") {
      return Promise.reject(new ClientError("CLOSED", "the client is closed"));
    }
    return new Promise<SendResult>((resolve, reject) => {
      const entry: Outgoing = { kind: "message", ...message, resolve, reject };
      this.#conn.enqueue(entry);
    });
  }

  /**
   * Seals (recipients' keys looked up and pinned; section 7), then puts the MESSAGE(s) in
   * the outbox in the order `send` was called.
   */
  #sendSealed(
    to: string | readonly string[],
    content: string | Uint8Array,
    options: SendOptions,
  ): Promise<SendResult> {
    const recipients = parseRecipients(to);
    if (options.id !== undefined) {
      throw new ClientError(
        "MALFORMED",
        "a sealed message's MESSAGEID is drawn at random; choose an id only with seal: false",
      );
    }
    const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
    if (bytes.length === 0) throw new ClientError("EMPTY_MESSAGE", "the message is empty");
    if (this.#conn.state === "closed") throw new ClientError("CLOSED", "the client is closed");
    this.#sealing++;
    const sealed = this.#sendChain.then(() => this.#conn.e2e.seal(recipients, bytes));
    const queued = sealed.then(async (parts) => {
      const messages = sealedMessages(parts);
      const results = await Promise.all(messages.map((m) => this.#enqueue(m)));
      return {
        id: results[0]!.id,
        to: recipients,
        sealed: true,
        parts: results.map((r) => ({ id: r.id, to: r.to })),
      };
    });
    // The next send waits until this one's MESSAGEs are in the outbox (not until answered).
    this.#sendChain = sealed.then(() => {}, () => {}).finally(() => this.#sealing--);
    return queued;
  }

  /** Own certificate's fingerprint: section 7 base64 form (as in `H.fp`) and hex pairs. */
  fingerprint(): Promise<OwnFingerprint> {
    return this.#conn.e2e.fingerprint();
  }

  /**
   * `user`'s current certificate (looked up with `CERT` and validated as for sealing) and
   * how pinning judges it: `accepted`, `new`, `pending` (changed: compare the fingerprints
   * with `user`, then {@link trust}) or `rejected`. Rejects with a ClientError as `send`.
   */
  whois(user: string): Promise<WhoisResult> {
    try {
      certLine(user);
      return this.#conn.e2e.whois(user);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Accepts `user`'s current certificate (after the person compared fingerprints): it is
   * pinned, sealing to `user` works again, and messages from it that were held are opened
   * now. Resolves with its fingerprint and the ones accepted before (`previous`).
   */
  async trust(user: string): Promise<WhoisResult> {
    certLine(user);
    const result = await this.#conn.e2e.trust(user);
    this.#conn.inbox.retryHeld(user);
    return result;
  }

  /**
   * Rejects `user`'s current certificate: nothing is sealed to it, and messages signed
   * with it (held ones too) are refused with `BAD_SEAL`.
   */
  async reject(user: string): Promise<WhoisResult> {
    certLine(user);
    const result = await this.#conn.e2e.reject(user);
    this.#conn.inbox.retryHeld(user);
    return result;
  }

  /**
   * Sends `REGISTER <user>` again on the current session (the server answers OK and
   * changes nothing). The client registers by itself on every (re)connect; this is for
   * checking that the registration stands.
   */
  register(): Promise<void> {
    try {
      return this.#conn.link().register();
    } catch (err) {
      return Promise.reject(err);
    }
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
   * ```ts
   * import assert from "node:assert/strict";
   * import { connect } from "./client.ts";
   * import { serve } from "../server/serve.ts";
   * import { initPki, issueUser } from "../pki/pki_files.ts";
   * import { loadCredentials, loadTrustStore } from "../pki/credentials.ts";
   *
   * const dir = await Deno.makeTempDir();
   * await initPki({ dir });
   * for (const user of ["alice", "bob"]) await issueUser({ dir, userId: user });
   * const trust = await loadTrustStore(`${dir}/ca.pem`);
   * const server = await serve({
   *   port: 0,
   *   credentials: await loadCredentials(`${dir}/server.pem`, `${dir}/server.key`),
   *   trust,
   *   dataPath: `${dir}/db.sqlite`,
   * });
   * const user = async (name: string) =>
   *   connect({
   *     user: name,
   *     port: server.addr.port,
   *     credentials: await loadCredentials(`${dir}/${name}.pem`, `${dir}/${name}.key`),
   *     trust,
   *   });
   * const bob = await user("bob");
   * const alice = await user("alice");
   * const found = await alice.lookupCertificate("bob");
   * assert.equal(found.identity, "bob");
   * assert.match(found.fingerprint, /^([0-9a-f]{2}:){31}[0-9a-f]{2}$/);
   * await alice.close();
   * await bob.close();
   * await server.close();
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  async lookupCertificate(
    user: string,
    options: { readonly timeoutMs?: number } = {},
  ): Promise<CertificateLookup> {
    const line = certLine(user);
    const reply = this.#conn.link().cert(user, line);
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
    return this.#conn.inbox.messages();
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
  close(): Promise<void> {
    return this.#conn.close();
  }
}

/**
 * Connects to a NetSec-MSG server, performs the ASL handshake and registers `options.user`.
 * Resolves with a ready client, or rejects with the first failure: an `AslError` for a
 * handshake fault (`CLOSED`, with the socket error as `cause`, when no server can be
 * reached), a `ClientError` for a refused REGISTER. Its example is that of
 * {@link MessengerClient}.
 */
export function connect(options: ClientOptions): Promise<MessengerClient> {
  return MessengerClient.open(options);
}
