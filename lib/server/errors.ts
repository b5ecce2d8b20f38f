// Errors of the server layer: start-up and configuration failures, each with a
// machine-readable code. Session command failures are not errors but `FAILED` replies
// (ASL spec section 5, lib/server/command.ts).

/** What went wrong while configuring or starting the server. */
export type ServerErrorCode =
  | "USAGE" // a bad flag or environment value
  | "FILE" // a missing or unreadable file
  | "CREDENTIALS" // a bad certificate, key or CA/CRL file
  | "LISTEN" // the address is in use or cannot be bound
  | "STORE"; // the database cannot be opened or migrated

/**
 * A start-up failure: `server.ts` prints its message on one line and exits with code 2.
 *
 * @example
 * ```ts
 * import { ServerError } from "./errors.ts";
 * const err = new ServerError("USAGE", "--port must be an integer from 0 to 65535");
 * console.log(err.code); // "USAGE"
 * ```
 */
export class ServerError extends Error {
  override name = "ServerError";
  constructor(readonly code: ServerErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** What went wrong in a store engine (SQLite, its worker thread, PostgreSQL, in memory). */
export type StoreErrorCode =
  | "UNREACHABLE" // no connection to the database could be made (PostgreSQL)
  | "SCHEMA_TOO_NEW" // the database was written by a newer version
  | "CLOSED" // the store was closed
  | "DATABASE" // a statement failed
  | "WORKER"; // the SQLite worker thread failed

/**
 * A failure of a store engine, with a machine-readable code. Messages name the database but
 * never hold a password. The router answers the commands of a failed batch
 * `FAILED <id> INTERNAL`.
 *
 * @example
 * ```ts
 * import { StoreError } from "./errors.ts";
 * const err = new StoreError("CLOSED", "the store is closed");
 * console.log(err.code); // "CLOSED"
 * ```
 */
export class StoreError extends Error {
  override name = "StoreError";
  constructor(readonly code: StoreErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
