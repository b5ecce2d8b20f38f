// One-line explanations of failure codes for people: ASL handshake codes (spec section 2,
// "Handshake errors"), FAILED reasons (spec section 5) and why a certificate lookup failed
// (CERT, sections 4 and 7), shown as `CODE: explanation`.

/** What the explanation may mention: the CA file and the server dialled. */
export interface ExplainContext {
  /** The CA file the server certificate was checked against. */
  readonly caPath?: string;
  /** The `host:port` dialled. */
  readonly server?: string;
}

const REASONS: Record<string, string> = {
  MALFORMED: "the server could not read the command",
  NOT_REGISTERED: "the session is not registered yet",
  NOT_YOUR_ID: "the certificate is not for this user id",
  ALREADY_REGISTERED: "this session is registered as another user",
  UNKNOWN_USER: "a recipient is not known to the server",
  TOO_LARGE: "the message is over the 11111-character payload limit",
  TOO_MANY_RECIPIENTS: "a message goes to at most 100 recipients",
  DUPLICATE_ID: "this message id was already used for a different message",
  QUEUE_FULL: "a recipient's queue is full; try later",
  RATE_LIMITED: "too many commands; slow down",
  INTERNAL: "the server failed internally",
  NO_CERTIFICATE: "the server holds no certificate for this user (registered before revision 4)",
  PROTOCOL: "the server's reply broke the protocol",
  EMPTY_MESSAGE: "there is nothing to send",
  BAD_RECIPIENT: "not a user id (1 to 111 letters and digits)",
  CLOSED: "the connection is closed",
  TIMEOUT: "no answer in time",
};

/** `CODE: one-line explanation` for a FAILED reason or a client error code. */
export function explainReason(code: string): string {
  const text = REASONS[code];
  return text === undefined ? code : `${code}: ${text}`;
}

/**
 * `CODE: one-line explanation` of a failed certificate lookup of `user` (`whois`): the
 * server's FAILED reason, or why this client did not accept the chain (checked against
 * `caPath`), or a connection failure.
 *
 * @example
 * ```ts
 * import { explainLookupError } from "./explain.ts";
 * const err = Object.assign(new Error("x"), { code: "UNKNOWN_USER", remote: true });
 * console.log(explainLookupError(err, "bob")); // "UNKNOWN_USER: bob has never registered with the server"
 * ```
 */
export function explainLookupError(err: unknown, user: string, caPath?: string): string {
  const code = typeof err === "object" && err !== null && "code" in err
    ? String((err as { code: unknown }).code)
    : undefined;
  const ca = caPath ?? "your CA file";
  const texts: Record<string, string> = {
    UNKNOWN_USER: `${user} has never registered with the server`,
    NO_CERTIFICATE: `the server holds no certificate for ${user} (${user} has not registered ` +
      "since the server learnt CERT)",
    UNKNOWN_CA: `${user}'s certificate is not signed by ${ca}`,
    CERT_EXPIRED: `${user}'s certificate (or its CA) is expired or not yet valid`,
    CERT_REVOKED: `${user}'s certificate is revoked`,
    BAD_CERTIFICATE: `${user}'s certificate is not acceptable (key, usage or structure)`,
    BAD_IDENTITY: `the certificate the server returned does not name ${user}`,
    PROTOCOL: "the server's reply to CERT is malformed",
  };
  if (code !== undefined && texts[code] !== undefined) return `${code}: ${texts[code]}`;
  if (code !== undefined && code in REASONS) return explainReason(code);
  if (!(err instanceof Error)) return code ?? String(err);
  return explainConnectError(err, caPath === undefined ? {} : { caPath });
}

/**
 * `CODE: one-line explanation` for a connection failure: an ASL handshake code (local, or
 * `remote` when the server sent `ASL_ERROR`), or a network error.
 */
export function explainConnectError(err: unknown, ctx: ExplainContext = {}): string {
  const ca = ctx.caPath ?? "the CA file";
  const server = ctx.server ?? "the server";
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof Deno.errors.ConnectionRefused) {
      return `CONNECTION_REFUSED: nothing is listening on ${server} (is the server running?)`;
    }
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.ConnectionReset) {
      return `NETWORK: could not reach ${server} (${e.message})`;
    }
  }
  const code = typeof err === "object" && err !== null && "code" in err
    ? String((err as { code: unknown }).code)
    : undefined;
  const remote = typeof err === "object" && err !== null && "remote" in err &&
    (err as { remote: unknown }).remote === true;
  const message = err instanceof Error ? err.message : String(err);
  if (code === undefined) return message;
  const isAsl = err instanceof Error && err.name === "AslError";
  if (!isAsl && code in REASONS) return explainReason(code);
  const local: Record<string, string> = {
    UNKNOWN_CA: `the server's certificate is not signed by ${ca}`,
    BAD_IDENTITY: `the server's certificate does not name ${server.replace(/:\d+$/, "")}`,
    CERT_EXPIRED: "the server's certificate (or its CA) is expired or not yet valid",
    CERT_REVOKED: "the server's certificate is revoked",
    BAD_CERTIFICATE: "the server's certificate is not acceptable (key, usage or structure)",
    DECRYPT_ERROR: "the server could not prove it holds the key exchanged",
    BAD_SIGNATURE: "the server's handshake signature does not verify",
    PROTOCOL_ERROR: `${server} does not speak ASL/1 correctly`,
    NO_SHARED_SUITE: "the server shares none of the offered cipher suites",
    TIMEOUT: "the handshake did not finish in time",
    INTERNAL_ERROR: "the handshake failed inside this client",
    CLOSED: "the connection closed",
  };
  const byServer: Record<string, string> = {
    UNKNOWN_CA: "the server does not trust the CA that issued your certificate",
    CERT_EXPIRED: "the server says your certificate is expired or not yet valid",
    CERT_REVOKED: "the server says your certificate is revoked",
    BAD_CERTIFICATE: "the server rejected your certificate (key, usage or user id)",
    DECRYPT_ERROR: "the server could not decrypt the session key",
    BAD_SIGNATURE:
      "the server could not verify your signature (does the key match the certificate?)",
    PROTOCOL_ERROR: "the server says this client broke the ASL protocol",
    TIMEOUT: "the server gave up waiting for the handshake",
    INTERNAL_ERROR: "the server failed internally",
  };
  const text = (remote ? byServer[code] : undefined) ?? local[code];
  return text === undefined ? `${code}: ${message}` : `${code}: ${text}`;
}
