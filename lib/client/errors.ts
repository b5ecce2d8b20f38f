// Errors of the client layer (ASL spec section 5, REASON codes): one class carrying the
// server's FAILED reason, or a local code for what the client refuses or cannot do.

import type { Reason } from "../grammar.ts";
import type { CertErrorCode } from "../pki/errors.ts";

/** The REASON codes a server sends in `FAILED <id> <REASON>` (spec section 5).
 *
 * @example
 * ```ts
 * import type { FailedReason } from "@netsec/msg";
 * const retryLater: FailedReason[] = ["QUEUE_FULL", "RATE_LIMITED"];
 * ```
 */
export type FailedReason = Reason;

/**
 * Codes of a {@link ClientError}: a server `FAILED` reason (then `remote` is true), or one
 * of the client's own: `EMPTY_MESSAGE` and `TOO_LARGE` (refused before sending),
 * `BAD_RECIPIENT` (not a USERID or group), `CLOSED` (the client was closed or gave up
 * reconnecting), `TIMEOUT`, `PROTOCOL` (the server broke the command protocol). A
 * certificate lookup adds the server's `NO_CERTIFICATE` and, for a chain this client does
 * not accept, the certificate codes (`UNKNOWN_CA`, `BAD_CERTIFICATE`, `CERT_EXPIRED`,
 * `CERT_REVOKED`, and `BAD_IDENTITY` when it names someone else).
 *
 * @example
 * ```ts
 * import type { ClientErrorCode } from "@netsec/msg";
 * const local = (code: ClientErrorCode) => code === "TOO_LARGE" || code === "EMPTY_MESSAGE";
 * ```
 */
export type ClientErrorCode =
  | FailedReason
  | "NO_CERTIFICATE"
  | CertErrorCode
  | "EMPTY_MESSAGE"
  | "BAD_RECIPIENT"
  | "CLOSED"
  | "TIMEOUT"
  | "PROTOCOL"
  | (string & Record<never, never>);

/**
 * A command the client could not complete. `code` is machine-readable; `remote` is true
 * when the server answered `FAILED` with `code` as its reason.
 *
 * @example
 * ```ts
 * import { ClientError } from "./errors.ts";
 * const err = new ClientError("UNKNOWN_USER", "bob is not known to the server", { remote: true });
 * console.log(err.code, err.remote); // "UNKNOWN_USER" true
 * ```
 */
export class ClientError extends Error {
  /** Always `ClientError`. */
  override name = "ClientError";
  /** True when the server sent this code in a `FAILED` reply. */
  readonly remote: boolean;
  /** The machine-readable code. */
  readonly code: ClientErrorCode;
  /**
   * Creates the error; `options.remote` marks a server `FAILED` reason, `options.cause`
   * the underlying error.
   */
  constructor(
    code: ClientErrorCode,
    message: string,
    options?: ErrorOptions & { remote?: boolean },
  ) {
    super(message, options);
    this.code = code;
    this.remote = options?.remote ?? false;
  }
}

/** `err` as an Error (a thrown non-Error becomes one with its string). */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** A refusal by the server that another attempt would not change (the reconnect stops). */
export function isFatal(err: Error): boolean {
  return err instanceof ClientError && err.remote && err.code !== "RATE_LIMITED" &&
    err.code !== "INTERNAL";
}

/** The `onTimeout` of a client deadline: `TIMEOUT` naming the operation that was late. */
export function timeoutError(what: string, ms: number): () => never {
  return () => {
    throw new ClientError("TIMEOUT", `${what} did not finish within ${ms} ms`);
  };
}
