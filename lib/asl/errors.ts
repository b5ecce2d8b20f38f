// Errors of the ASL protocol layer (spec section 2, "Handshake errors").

/**
 * Every `ASL_ERROR` code of the spec, plus `NO_SHARED_SUITE` (the server answered
 * `ASYMCRYPOOK NONE`, or the client offered nothing it accepts) and `CLOSED` for a
 * connection that ended (never sent on the wire).
 *
 * @example
 * ```ts
 * import type { AslErrorCode } from "./errors.ts";
 * const retryable: AslErrorCode[] = ["TIMEOUT", "CLOSED"];
 * console.log(retryable.includes("BAD_SIGNATURE")); // false
 * ```
 */
export type AslErrorCode =
  | "PROTOCOL_ERROR"
  | "BAD_CERTIFICATE"
  | "UNKNOWN_CA"
  | "CERT_EXPIRED"
  | "CERT_REVOKED"
  | "BAD_IDENTITY"
  | "DECRYPT_ERROR"
  | "BAD_SIGNATURE"
  | "TIMEOUT"
  | "INTERNAL_ERROR"
  | "NO_SHARED_SUITE"
  | "CLOSED";

/**
 * A handshake or session failure. `code` is the spec's code; `remote` is true when the
 * peer sent `ASL_ERROR <code>` (then `code` may also be a code this version does not know).
 *
 * @example
 * ```ts
 * import { AslError } from "./errors.ts";
 * const err = new AslError("BAD_SIGNATURE", "M5 signature does not verify");
 * console.log(err.code, err.remote); // "BAD_SIGNATURE" false
 * ```
 */
export class AslError extends Error {
  /** Always `"AslError"`. */
  override name = "AslError";
  /**
   * Creates the error. `code` is the spec's code (or, for a received `ASL_ERROR`, the code as
   * received); `options.remote` marks an error the peer reported; `options.cause` keeps the
   * underlying failure.
   */
  constructor(
    /** The spec's machine-readable code, e.g. `BAD_SIGNATURE`. */
    // `string & {}` keeps editor completion for the known codes while allowing unknown ones.
    // deno-lint-ignore ban-types
    readonly code: AslErrorCode | (string & {}),
    message: string,
    options?: ErrorOptions & { remote?: boolean },
  ) {
    super(message, options);
    this.remote = options?.remote ?? false;
  }
  /** True when the peer sent `ASL_ERROR <code>`; false when this side detected the fault. */
  readonly remote: boolean;
}
