// The one way this project opens a PostgreSQL client (the `postgres` npm package) on a
// `--store` location (store_url.ts, docs/CLUSTER.md), the password kept apart from the URL:
// the store, `migrate`, the load tool, its database benchmark and the tests connect through it.

import postgres from "postgres";
import type { PostgresLocation } from "./store_url.ts";

/** How to connect; every field has a default. */
export interface PgConnectOptions {
  /** The password (from a file or PGPASSWORD); absent: the driver's own fallbacks. */
  readonly password?: string | undefined;
  /** Another database on the same server; default the location's. */
  readonly database?: string;
  /** Connections in the pool; default 1. */
  readonly max?: number;
  /** Seconds to wait for a connection; default 10. */
  readonly connectTimeoutSec?: number;
  /** Seconds a statement may take; default none. */
  readonly queryTimeoutSec?: number;
  /** `application_name`, shown in pg_stat_activity. */
  readonly applicationName?: string;
}

/** A client of `location` (connections are made lazily, on the first statement). */
export function connectPostgres(
  location: PostgresLocation,
  options: PgConnectOptions = {},
): postgres.Sql {
  return postgres({
    host: location.host,
    port: location.port,
    database: options.database ?? location.database,
    username: location.user,
    ...(options.password !== undefined ? { password: options.password } : {}),
    max: options.max ?? 1,
    connect_timeout: options.connectTimeoutSec ?? 10,
    ...(options.queryTimeoutSec !== undefined ? { query_timeout: options.queryTimeoutSec } : {}),
    onnotice: false,
    ...(options.applicationName !== undefined
      ? { connection: { application_name: options.applicationName } }
      : {}),
  });
}
