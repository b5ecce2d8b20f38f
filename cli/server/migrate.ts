// `deno task server migrate` (docs/CLUSTER.md, "Moving from one machine"): parses its flags
// and runs lib/server/migrate.ts, copying a SQLite store into a PostgreSQL store in one
// transaction. Usage errors: one line on stderr, exit 2; a refused or failed copy: one line,
// exit 1 (the target is unchanged). The password is never printed.

import { parseArgs } from "node:util";
import { describeReport, MigrateError, migrateSqliteToPostgres } from "../../lib/server/migrate.ts";
import { ServerError } from "../../lib/server/errors.ts";
import { parseStoreUrl, type PostgresLocation, redact } from "../../lib/server/store_url.ts";
import type { ServerIo } from "./main.ts";
import { readStorePassword } from "./startup.ts";

/** What `server migrate` was asked to do. */
export interface MigrateConfig {
  readonly from: string;
  readonly to: PostgresLocation;
  readonly passwordFile?: string;
  /** PGPASSWORD, used when no password file is given. */
  readonly password?: string;
  readonly force: boolean;
}

/** The `server migrate --help` text. */
export function migrateHelpText(): string {
  return [
    "NetSec-MSG server migrate: copy a SQLite store into a PostgreSQL store (docs/CLUSTER.md).",
    "",
    "Usage: deno task server migrate --from sqlite:PATH --to postgres://USER@HOST:PORT/DB",
    "         [--store-password-file FILE] [--force]",
    "",
    "Copies the users (first registration time, recorded certificate chains), the queued",
    "messages under their own sids, and the MESSAGEID memory, and sets the target's sid",
    "sequence past every copied sid. All or nothing: one PostgreSQL transaction, so a failed",
    "or interrupted run leaves the target as it was and can simply be run again. The source",
    "is opened read-only; stop the server that uses it first.",
    "",
    `${"  --from sqlite:PATH".padEnd(30)} the SQLite database to copy from`,
    `${"  --to postgres://…".padEnd(30)} the PostgreSQL database to copy into (no password in it)`,
    `${"  --store-password-file FILE".padEnd(30)} PostgreSQL password: first line of FILE`,
    `${"".padEnd(31)}env NETSEC_STORE_PASSWORD_FILE (else env PGPASSWORD)`,
    `${"  --force".padEnd(30)} replace what the target holds (else a target with`,
    `${"".padEnd(31)}users, queued messages, message ids or sessions is refused)`,
    `${"  --help, -h".padEnd(30)} this text`,
    "",
    "Exit codes: 0 copied, 1 refused or failed (the target is unchanged), 2 usage error.",
  ].join("\n");
}

/**
 * Parses `server migrate`'s flags (after the word `migrate`). Returns `"help"` for --help;
 * throws ServerError("USAGE") with one line for anything invalid.
 */
export function parseMigrateConfig(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): MigrateConfig | "help" {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...args],
      options: {
        help: { type: "boolean", short: "h" },
        from: { type: "string" },
        to: { type: "string" },
        "store-password-file": { type: "string" },
        force: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    const oneLine = (err as Error).message.split("\n")[0] ?? "bad arguments";
    throw new ServerError("USAGE", `migrate: ${oneLine} (see migrate --help)`);
  }
  if (values.help === true) return "help";
  const fromText = values.from;
  if (typeof fromText !== "string" || fromText === "") {
    throw new ServerError("USAGE", "migrate: --from sqlite:PATH is required");
  }
  const from = parseStoreUrl(fromText);
  if (typeof from === "string" || from.kind !== "sqlite") {
    throw new ServerError("USAGE", "migrate: --from must be sqlite:PATH");
  }
  const toText = values.to;
  if (typeof toText !== "string" || toText === "") {
    throw new ServerError("USAGE", "migrate: --to postgres://USER@HOST:PORT/DB is required");
  }
  const to = parseStoreUrl(toText);
  if (typeof to === "string") throw new ServerError("USAGE", `migrate: --to: ${to}`);
  if (to.kind !== "postgres") {
    throw new ServerError("USAGE", "migrate: --to must be postgres://USER@HOST:PORT/DB");
  }
  const fileFlag = values["store-password-file"];
  const passwordFile = typeof fileFlag === "string"
    ? fileFlag
    : env.NETSEC_STORE_PASSWORD_FILE ?? "";
  if (typeof fileFlag === "string" && fileFlag === "") {
    throw new ServerError("USAGE", "migrate: --store-password-file must not be empty");
  }
  const password = env.PGPASSWORD ?? "";
  return {
    from: from.path,
    to,
    ...(passwordFile !== "" ? { passwordFile } : {}),
    ...(password !== "" ? { password } : {}),
    force: values.force === true,
  };
}

/** Runs `server migrate ARGS`; resolves with the exit code. */
export async function migrateMain(args: readonly string[], io: ServerIo): Promise<number> {
  let config: MigrateConfig | "help";
  try {
    config = parseMigrateConfig(args, io.env);
  } catch (err) {
    io.stderr(`error: ${(err as Error).message}`);
    return 2;
  }
  if (config === "help") {
    io.stdout(migrateHelpText());
    return 0;
  }
  let password = config.password;
  try {
    if (config.passwordFile !== undefined) password = await readStorePassword(config.passwordFile);
    const report = await migrateSqliteToPostgres({
      from: config.from,
      to: config.to,
      ...(password !== undefined ? { password } : {}),
      force: config.force,
    });
    io.stdout(describeReport(report));
    return 0;
  } catch (err) {
    if (err instanceof ServerError || err instanceof MigrateError) {
      io.stderr(`error: ${redact(err.message, password)}`);
      return 1;
    }
    io.stderr(`error: unexpected failure: ${redact((err as Error).message, password)}`);
    return 1;
  }
}
