// The shapes of the library client (ASL spec section 5 as a program sees it): options,
// lifecycle events, incoming messages and send results. Implemented by client.ts.

import type { Logger } from "../log.ts";
import type { HandshakeTraceEvent, Suite } from "../asl/types.ts";
import type { Credentials, TrustStore } from "../pki/types.ts";
import type { BackoffOptions } from "./retry.ts";

/**
 * Where the client's diagnostics go; `createLogger()` of lib/log.ts fits. Events are
 * short names with fields; never keys, nonces or message text.
 *
 * @example
 * ```ts
 * import type { ClientLogger } from "@netsec/msg";
 * const lines: string[] = [];
 * const logger: ClientLogger = {
 *   debug: () => {},
 *   info: (event) => lines.push(event),
 *   warn: (event) => lines.push(event),
 *   error: (event) => lines.push(event),
 * };
 * ```
 */
export type ClientLogger = Logger;

export { DEFAULT_PORT } from "../limits.ts";

/**
 * Where a client is: `connecting` (also while reconnecting), `ready`, or `closed`.
 *
 * @example
 * ```ts
 * import type { ClientState } from "@netsec/msg";
 * const usable = (state: ClientState) => state === "ready";
 * ```
 */
export type ClientState = "connecting" | "ready" | "closed";

/**
 * How the client reconnects after a connection drops: backoff with jitter, optionally a
 * limit on attempts.
 *
 * @example
 * ```ts
 * import type { ReconnectOptions } from "@netsec/msg";
 * const policy: ReconnectOptions = { initialMs: 100, maxMs: 5_000, maxAttempts: 10 };
 * ```
 */
export interface ReconnectOptions extends BackoffOptions {
  /** Attempts before giving up (the client then closes with the last error); default unlimited. */
  readonly maxAttempts?: number;
}

/** One server of a cluster: host name or IP literal, and port (default 4287). */
export interface ServerAddress {
  /** Host name or IP literal; the server's certificate must name it. */
  readonly hostname: string;
  /** TCP port; default 4287. */
  readonly port?: number;
}

/** Options of `connect`: who, where, with which certificates, and the hooks.
 *
 * @example
 * ```ts
 * import type { ClientOptions } from "@netsec/msg";
 * const base: Omit<ClientOptions, "credentials" | "trust"> = {
 *   user: "alice",
 *   hostname: "localhost",
 *   port: 4287,
 *   stateDir: "/tmp/alice-state",
 *   onEvent: (event) => console.log(event.type),
 * };
 * ```
 */
export interface ClientOptions {
  /** The USERID to register; must be the CN of `credentials`' certificate. */
  readonly user: string;
  /** Server host name or IP literal; default `localhost`. */
  readonly hostname?: string;
  /** Server port; default 4287. */
  readonly port?: number;
  /**
   * Several servers of one cluster (docs/CLUSTER.md), tried in turn: the first that answers
   * is used, and the next ones when it fails or drops. Replaces `hostname` and `port`.
   * The nodes should present one certificate (the memory of deliveries seen is kept per
   * server list and certificate).
   */
  readonly servers?: readonly ServerAddress[];
  /** Name the server certificate must carry; default `hostname`. */
  readonly serverName?: string;
  /** Own certificate chain and keys (see `loadCredentials`). */
  readonly credentials: Credentials;
  /** The CA(s) the server's certificate must lead to (see `loadTrustStore`). */
  readonly trust: TrustStore;
  /** Record suites to offer, in preference order. */
  readonly suites?: readonly Suite[];
  /** Reconnect settings, or `false` to close when the connection drops; default on. */
  readonly reconnect?: false | ReconnectOptions;
  /**
   * Directory for the client's state: the memory of deliveries already shown, one file per
   * user and server under `<stateDir>/seen/<user>/` (created when missing). Default: memory
   * only (the command-line client uses `resolveStateDir`: `$XDG_STATE_HOME/netsec-msg` or
   * `~/.local/state/netsec-msg`).
   */
  readonly stateDir?: string;
  /** Most deliveries remembered per server; default 10 000. */
  readonly seenLimit?: number;
  /** Milliseconds allowed for the handshake and for the REGISTER reply; default 10 000. */
  readonly timeoutMs?: number;
  /** Called on every lifecycle event. */
  readonly onEvent?: (event: ClientEvent) => void;
  /** Called on every handshake step (sizes and names, never secrets). */
  readonly trace?: (event: HandshakeTraceEvent) => void;
  /** Where diagnostics go; default silent. */
  readonly logger?: ClientLogger;
  /**
   * Seal every message end to end (ASL spec section 7); default true. `false` sends plain
   * payloads, which the server can read and recipients see marked as not sealed. A send
   * can override it with `SendOptions.seal`.
   */
  readonly seal?: boolean;
  /** Refuse plain (unsealed) deliveries with `FAILED <sid> NOT_SEALED`; default false. */
  readonly sealedOnly?: boolean;
  /**
   * Earlier private keys of this user (RSA-OAEP SHA-256, `decrypt`), most recent first,
   * tried after the current one when opening: messages sealed to a certificate that was
   * since replaced stay readable (see `loadEarlierKeys`: `<key file>.1`, `.2`, …).
   */
  readonly earlierKeys?: readonly CryptoKey[];
}

/** The client's lifecycle, as typed events: connecting, handshake, ready, reconnecting, closed.
 *
 * @example
 * ```ts
 * import type { ClientEvent } from "@netsec/msg";
 * const show = (e: ClientEvent): string =>
 *   e.type === "reconnecting" ? `retrying in ${e.delayMs} ms` : e.type;
 * ```
 */
export type ClientEvent =
  | {
    readonly type: "connecting";
    readonly hostname: string;
    readonly port: number;
    readonly attempt: number;
  }
  | {
    readonly type: "handshake";
    readonly suite: Suite;
    readonly server: string;
    readonly fingerprint: string;
  }
  | { readonly type: "ready"; readonly user: string; readonly resent: number }
  | {
    readonly type: "reconnecting";
    readonly attempt: number;
    readonly delayMs: number;
    readonly error?: Error;
  }
  | { readonly type: "closed"; readonly reason: "local" | "error"; readonly error?: Error }
  /**
   * A sealed delivery was refused (`FAILED <sid> BAD_SEAL`) and not shown: the server (or
   * someone) changed, forged or misdirected it. `reason`/`step` say which check of section
   * 7 failed; `message` is one human line. Warn the person.
   */
  | {
    readonly type: "bad_seal";
    readonly from: string;
    readonly sid: string;
    readonly reason: string;
    readonly step: number;
    readonly message: string;
  }
  /**
   * `userId` signs with a certificate other than the one(s) accepted: their messages are
   * held (not shown, not acknowledged) and nothing is sealed to them until the person
   * compares fingerprints and calls `trust(userId)` (or `reject`). Told once per certificate.
   */
  | {
    readonly type: "pin_pending";
    readonly userId: string;
    /** The new certificate's fingerprint (section 7 base64 form). */
    readonly fingerprint: string;
    /** The fingerprints accepted before. */
    readonly accepted: readonly string[];
  }
  /** A sealed delivery is held because the sender's certificate could not be fetched now. */
  | { readonly type: "held"; readonly from: string; readonly sid: string; readonly detail: string }
  /** A plain delivery was refused with `FAILED <sid> NOT_SEALED` (`sealedOnly`). */
  | { readonly type: "not_sealed"; readonly from: string; readonly sid: string };

/** A message delivered to this user.
 *
 * @example
 * ```ts
 * import type { IncomingMessage } from "@netsec/msg";
 * const line = (m: IncomingMessage) => `${m.receivedAt.toISOString()} ${m.from}: ${m.text}`;
 * ```
 */
export interface IncomingMessage {
  /** The server's id for this delivery (unique server-wide). */
  readonly sid: string;
  /** The sender's USERID. */
  readonly from: string;
  /** The payload as sent. */
  readonly bytes: Uint8Array;
  /** The payload decoded as UTF-8. */
  readonly text: string;
  /** When this client received it. */
  readonly receivedAt: Date;
  /**
   * True: sealed end to end, opened and verified (signed by `from`'s accepted certificate,
   * unchanged). False: a plain payload, which the server could have written or changed.
   */
  readonly sealed: boolean;
  /** For a sealed message: the fingerprint (section 7 base64 form) of the leaf that signed it. */
  readonly senderFingerprint?: string;
  /** For a sealed message of another media type than `text/plain;charset=utf-8`: that type. */
  readonly type?: string;
}

/** The server's answer to a sent message: stored for every recipient.
 *
 * @example
 * ```ts
 * import type { SendResult } from "@netsec/msg";
 * const show = (r: SendResult) => `${r.id} stored for ${r.to.join(", ")}`;
 * ```
 */
export interface SendResult {
  /** The MESSAGEID used. */
  readonly id: string;
  /** The recipients. */
  readonly to: readonly string[];
  /** True when the message went sealed end to end. */
  readonly sealed?: boolean;
  /**
   * The MESSAGEs it went as: one, or several when a sealed group message did not fit one
   * (each with its own MESSAGEID and part of the recipients); `id` is the first's.
   */
  readonly parts?: readonly { readonly id: string; readonly to: readonly string[] }[];
}

/** Options of `MessengerClient.send`.
 *
 * @example
 * ```ts
 * import type { SendOptions } from "@netsec/msg";
 * const options: SendOptions = { id: "order-42" };
 * ```
 */
export interface SendOptions {
  /**
   * The MESSAGEID to use (for an application's own retries); default a fresh unique one.
   * Only with `seal: false`: a sealed message's MESSAGEID is its envelope id, drawn at
   * random (128 bits), and a retry re-seals, so a chosen id is refused (`MALFORMED`).
   */
  readonly id?: string;
  /** Seal this message (default: the client's `seal` option, itself default true). */
  readonly seal?: boolean;
}

/**
 * How pinning judges a user's current certificate: `accepted`, `new` (nothing pinned yet:
 * accepted on first use), `pending` (another certificate is accepted: compare and `trust`),
 * `rejected`.
 *
 * @example
 * ```ts
 * import type { PinStatus } from "@netsec/msg";
 * const mustAsk = (pin: PinStatus) => pin === "pending";
 * ```
 */
export type PinStatus = "accepted" | "new" | "pending" | "rejected";

/** A user's current certificate, validated by this client, and its pin status.
 *
 * @example
 * ```ts
 * import type { WhoisResult } from "@netsec/msg";
 * const show = (w: WhoisResult) => `${w.userId} ${w.fingerprint} (${w.pin})`;
 * ```
 */
export interface WhoisResult {
  /** The USERID looked up. */
  readonly userId: string;
  /** Section 7 fingerprint of the current leaf: base64 of SHA-256 of its DER. */
  readonly fingerprint: string;
  /** The same SHA-256 as hex pairs (`ab:cd:…`). */
  readonly fingerprintHex: string;
  /** Whether this leaf is accepted, new (first use), pending a decision, or rejected. */
  readonly pin: PinStatus;
  /** Fingerprints accepted for the user (after the call, for `trust`). */
  readonly accepted: readonly string[];
  /** For `trust`: the fingerprints accepted before it; else empty. */
  readonly previous: readonly string[];
}

/** What `/who am i` shows: identity, server, suite and fingerprints.
 *
 * @example
 * ```ts
 * import type { ClientInfo } from "@netsec/msg";
 * const show = (i: ClientInfo) => `${i.user} at ${i.server} over ${i.suite}`;
 * ```
 */
export interface ClientInfo {
  /** Own USERID. */
  readonly user: string;
  /** `host:port` dialled. */
  readonly server: string;
  /** The suite of the current (or last) session. */
  readonly suite: Suite | undefined;
  /** The server certificate's identity (the host it names). */
  readonly serverIdentity: string | undefined;
  /** The server certificate's SHA-256 fingerprint. */
  readonly serverFingerprint: string | undefined;
  /** SHA-256 fingerprint of own certificate, `ab:cd:…`. */
  readonly fingerprint: string;
}

/** Why the client closed.
 *
 * @example
 * ```ts
 * import type { ClientCloseInfo } from "@netsec/msg";
 * const show = (c: ClientCloseInfo) => c.reason === "error" ? c.error?.message : "closed";
 * ```
 */
export interface ClientCloseInfo {
  /** `local`: `close()` was called; `error`: the connection failed for good. */
  readonly reason: "local" | "error";
  /** The error that ended the client, when `reason` is `error`. */
  readonly error?: Error;
}
