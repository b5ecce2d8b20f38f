// Errors of the ASL protocol layer (spec section 2, "Handshake errors").

/** Every `ASL_ERROR` code of the spec, plus `CLOSED` for a connection that ended. */
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
  override name = "AslError";
  constructor(
    // `string & {}` keeps editor completion for the known codes while allowing unknown ones.
    // deno-lint-ignore ban-types
    readonly code: AslErrorCode | (string & {}),
    message: string,
    options?: ErrorOptions & { remote?: boolean },
  ) {
    super(message, options);
    this.remote = options?.remote ?? false;
  }
  readonly remote: boolean;
}
