// Errors of the end-to-end layer (ASL spec section 7, ASL-E2E/1): one class, one
// machine-readable code. The receive codes are the reasons of the conformance vectors
// (`e2e-negative.json`), each tied to its step of section 7 "Receiving"; they are for the
// local log and the person's warning only — on the wire a refusal is always `BAD_SEAL`.

/** Why a received envelope is refused (`FAILED <sid> BAD_SEAL`), by the step that catches it. */
export type BadSealReason =
  | "parse"
  | "header"
  | "ts_too_old"
  | "ts_too_new"
  | "fp_unknown"
  | "certificate"
  | "signature"
  | "from_mismatch"
  | "not_addressed"
  | "pin_rejected"
  | "unwrap"
  | "kc_mismatch"
  | "decrypt";

/** Why sealing refused: `too_large` (section 7 "Sending" step 3) or bad arguments. */
export type SealErrorCode = "too_large" | "invalid_input";

/** Every code of the layer. */
export type E2eErrorCode = BadSealReason | SealErrorCode;

/** The step of section 7 "Receiving" (1 to 6) at which each refusal reason is found. */
export const REASON_STEP: Readonly<Record<BadSealReason, number>> = Object.freeze({
  parse: 1,
  header: 1,
  ts_too_old: 2,
  ts_too_new: 2,
  fp_unknown: 3,
  certificate: 3,
  signature: 3,
  from_mismatch: 4,
  not_addressed: 4,
  pin_rejected: 5,
  unwrap: 6,
  kc_mismatch: 6,
  decrypt: 6,
});

/** True when `code` is a receive-side refusal reason (not a sealing error). */
export function isBadSealReason(code: E2eErrorCode): code is BadSealReason {
  return Object.hasOwn(REASON_STEP, code);
}

/**
 * A sealed payload was refused, or a payload could not be sealed. `code` is the layer's
 * code; `step` the step of section 7 "Receiving" for a refusal (undefined when sealing);
 * `message` is one human line that never holds key material or message text.
 *
 * @example
 * ```ts
 * import { E2eError } from "./errors.ts";
 * const err = new E2eError("kc_mismatch", "the key commitment does not match the unwrapped key");
 * console.log(err.code, err.step); // "kc_mismatch" 6
 * ```
 */
export class E2eError extends Error {
  /** Always `"E2eError"`. */
  override name = "E2eError";
  /** The step of section 7 "Receiving" that refused (1 to 6), or undefined for sealing errors. */
  readonly step: number | undefined;
  /**
   * Creates the error.
   *
   * @param code The layer's code for the fault.
   * @param message One human line naming what was wrong.
   * @param options The underlying `cause`, if any.
   */
  constructor(readonly code: E2eErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.step = isBadSealReason(code) ? REASON_STEP[code] : undefined;
  }
}

/** Why a recipient cannot be sealed to. */
export type KeyDirectoryCode =
  /** Another leaf is accepted for the user: the person must accept the new one first. */
  | "pin_pending"
  /** The person rejected this user's current certificate. */
  | "pin_rejected"
  /** `CERT` failed (`reason` holds the server's reason, e.g. UNKNOWN_USER, NO_CERTIFICATE). */
  | "cert_failed"
  /** No connection to ask `CERT`. */
  | "unreachable"
  /** The chain does not validate, or does not name the user (`reason`: the PKI code). */
  | "certificate";

/**
 * A recipient could not be sealed to. `fingerprint` is the leaf `CERT` returned (when there
 * was one) and `accepted` the fingerprints the person accepted before: a person shown both
 * can compare them out of band.
 *
 * @example
 * ```ts
 * import { KeyDirectoryError } from "./errors.ts";
 * const err = new KeyDirectoryError("pin_pending", "bob", "bob's certificate changed");
 * console.log(err.code, err.userId); // "pin_pending" "bob"
 * ```
 */
export class KeyDirectoryError extends Error {
  /** Always `"KeyDirectoryError"`. */
  override name = "KeyDirectoryError";
  /**
   * @param code Why.
   * @param userId The recipient.
   * @param message One human line (fingerprints, never key material).
   * @param details The server's or the PKI's reason, the new leaf's fingerprint, the accepted ones.
   */
  constructor(
    readonly code: KeyDirectoryCode,
    readonly userId: string,
    message: string,
    readonly details: {
      readonly reason?: string;
      readonly fingerprint?: string;
      readonly accepted?: readonly string[];
    } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
