// Errors of the certificate layer (ASL spec section 4): one class, one machine-readable code.

/** The certificate failure codes of ASL section 4; each is also an `ASL_ERROR` code. */
export type CertErrorCode =
  | "BAD_CERTIFICATE"
  | "UNKNOWN_CA"
  | "CERT_EXPIRED"
  | "CERT_REVOKED"
  | "BAD_IDENTITY";

/**
 * A certificate or chain was rejected. `code` is the spec's code; `message` is one
 * human line naming what was wrong.
 *
 * @example
 * ```ts
 * import { PkiError } from "./errors.ts";
 * const err = new PkiError("UNKNOWN_CA", "the chain does not end at a trusted CA");
 * console.log(err.code); // "UNKNOWN_CA"
 * ```
 */
export class PkiError extends Error {
  /** Always `"PkiError"`. */
  override name = "PkiError";
  /**
   * Creates the error.
   *
   * @param code The spec's code for the fault.
   * @param message One human line naming what was wrong.
   * @param options The underlying `cause`, if any.
   */
  constructor(readonly code: CertErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * A problem with the input or files given to the certificate tools and loaders, not with a
 * peer's chain: an unreadable or missing file, a file that would be overwritten, an
 * invalid USERID, a private key that does not fit its certificate. Never sent on the wire.
 *
 * @example
 * ```ts
 * import { PkiInputError } from "./errors.ts";
 * const err = new PkiInputError("certs/ca.pem already exists (use --force to replace it)");
 * console.log(err.name); // "PkiInputError"
 * ```
 */
export class PkiInputError extends Error {
  /** Always `"PkiInputError"`. */
  override name = "PkiInputError";
}
