// The PostgreSQL server the tests of lib/server/store_postgres.ts run against (never a
// mock): NETSEC_TEST_PG_URL (postgres://USER@HOST:PORT/DB, no password in it) with the
// password in the file NETSEC_TEST_PG_PASSWORD_FILE or in PGPASSWORD, as set by
// tools/pg/cluster.sh (`.ci/run`, `deno task pg`). Each test gets a database of its own,
// created empty and dropped afterwards. Without the URL the tests are skipped, saying why;
// under CI=true that is a failure.

import type postgres from "postgres";
import { connectPostgres } from "../../lib/server/pg_connect.ts";
import { parseStoreUrl, type PostgresLocation } from "../../lib/server/store_url.ts";

/** The test PostgreSQL server, or why there is none. */
export type PgTestEnv =
  | {
    readonly available: true;
    readonly location: PostgresLocation;
    readonly password: string | undefined;
    /** A file holding the password (for `--store-password-file`), when one was given. */
    readonly passwordFile: string | undefined;
  }
  | { readonly available: false; readonly reason: string };

/** Reads the environment (once per test file). */
export function pgTestEnv(): PgTestEnv {
  const url = Deno.env.get("NETSEC_TEST_PG_URL") ?? "";
  if (url === "") {
    return {
      available: false,
      reason: "NETSEC_TEST_PG_URL is not set (start a server with `deno task pg`; " +
        "`.ci/run` does it itself)",
    };
  }
  const location = parseStoreUrl(url);
  if (typeof location === "string" || location.kind !== "postgres") {
    return { available: false, reason: `NETSEC_TEST_PG_URL is not usable: ${location}` };
  }
  const passwordFile = Deno.env.get("NETSEC_TEST_PG_PASSWORD_FILE") || undefined;
  let password = Deno.env.get("PGPASSWORD") || undefined;
  if (passwordFile !== undefined) {
    password = Deno.readTextFileSync(passwordFile).split(/\r?\n/)[0];
  }
  return { available: true, location, password, passwordFile };
}

/**
 * Says on stderr, once, that this file's PostgreSQL tests are skipped and why; under
 * CI=true registers a failing test instead (CI must run them).
 */
export function reportPgSkip(file: string, env: PgTestEnv): void {
  if (env.available) return;
  if (Deno.env.get("CI") === "true") {
    Deno.test(`${file}: the PostgreSQL tests must run under CI=true`, () => {
      throw new Error(`the PostgreSQL tests cannot run: ${env.reason}`);
    });
    return;
  }
  Deno.stderr.writeSync(
    new TextEncoder().encode(`${file}: PostgreSQL tests skipped: ${env.reason}\n`),
  );
}

/** A database made for one test. */
export interface PgTestDatabase {
  readonly location: PostgresLocation;
  readonly password: string | undefined;
  /** Drops it (closing any connection still open to it). */
  drop(): Promise<void>;
}

let counter = 0;
const RUN = `${Deno.pid}_${crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36)}`;

/** Opens an administrative connection to the test server's own database. */
export function adminSql(
  env: PgTestEnv & { available: true },
  database = env.location.database,
): postgres.Sql {
  return connectPostgres(env.location, { password: env.password, database });
}

/** Creates an empty database with a name unique to this run and test. */
export async function createPgDatabase(
  env: PgTestEnv & { available: true },
): Promise<PgTestDatabase> {
  const name = `netsec_test_${RUN}_${++counter}`;
  const admin = adminSql(env);
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    location: { ...env.location, database: name },
    password: env.password,
    drop: async () => {
      const sql = adminSql(env);
      try {
        await sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await sql.end();
      }
    },
  };
}

/**
 * Stops or starts the throwaway test server itself (tools/pg/cluster.sh's data directory
 * NETSEC_TEST_PG_DIR, as the `postgres` OS user when run as root), for fault tests. Undefined
 * when there is no such directory (a server this run did not start).
 */
export async function pgCtl(
  env: PgTestEnv & { available: true },
  action: "stop" | "start",
): Promise<void> {
  const dir = Deno.env.get("NETSEC_TEST_PG_DIR");
  if (dir === undefined) throw new Error("NETSEC_TEST_PG_DIR is not set");
  let bindir = "";
  for await (const entry of Deno.readDir("/usr/lib/postgresql")) {
    const candidate = `/usr/lib/postgresql/${entry.name}/bin`;
    if (bindir === "" || candidate > bindir) bindir = candidate;
  }
  const pgctl = [
    `${bindir}/pg_ctl`,
    "-D",
    `${dir}/data`,
    "-l",
    `${dir}/data/server.log`,
    "-w",
    "-t",
    "60",
    ...(action === "stop" ? ["-m", "fast", "stop"] : [
      "-o",
      `-c listen_addresses=127.0.0.1 -p ${env.location.port} -k ${dir}/socket -c fsync=on`,
      "start",
    ]),
  ];
  const root = Deno.uid() === 0;
  const out = await new Deno.Command(root ? "runuser" : pgctl[0]!, {
    args: root ? ["-u", "postgres", "--", ...pgctl] : pgctl.slice(1),
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`pg_ctl ${action} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** True when this run may stop and start the test server (it has its data directory). */
export function pgCtlAvailable(): boolean {
  return (Deno.env.get("NETSEC_TEST_PG_DIR") ?? "") !== "";
}
