// The server's `--store URL` (docs/CLUSTER.md): which durable store holds ASL spec section
// 5's users, queues and MESSAGEID memory. `sqlite:PATH` is the embedded default;
// `postgres://USER@HOST:PORT/DB` is a PostgreSQL database that several server nodes may
// share; `memory:` keeps everything in the process (lost at exit: for tests and benchmarks).
// Pure: parsing, and a printable form that never holds a password.

/** Where the server keeps its state. */
export type StoreLocation = SqliteLocation | PostgresLocation | MemoryLocation;

/** A SQLite database file. */
export interface SqliteLocation {
  readonly kind: "sqlite";
  readonly path: string;
}

/** The process's memory: nothing survives a restart (`memory:`; tests and benchmarks). */
export interface MemoryLocation {
  readonly kind: "memory";
}

/** A PostgreSQL database; the password is never part of it (PGPASSWORD or a file). */
export interface PostgresLocation {
  readonly kind: "postgres";
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/** The PostgreSQL port when the URL names none. */
export const DEFAULT_PG_PORT = 5432;

/**
 * Parses a `--store` value. Returns a one-line reason (for a usage error) instead of a
 * location when it is not valid; the reason never repeats a password that was in it.
 *
 * @example
 * ```ts
 * import { parseStoreUrl, storeUrlText } from "./store_url.ts";
 * const where = parseStoreUrl("postgres://netsec@db.example:5433/chat");
 * console.log(typeof where !== "string" && storeUrlText(where));
 * // postgres://netsec@db.example:5433/chat
 * ```
 */
export function parseStoreUrl(text: string): StoreLocation | string {
  if (text.startsWith("sqlite:")) {
    const path = text.slice("sqlite:".length);
    if (path === "") return "a sqlite: store needs a file path (sqlite:PATH)";
    return { kind: "sqlite", path };
  }
  if (text.startsWith("memory:")) {
    return text === "memory:" ? { kind: "memory" } : "the memory store is just memory:";
  }
  if (!/^postgres(ql)?:\/\//.test(text)) {
    return "the store must be sqlite:PATH, postgres://USER@HOST:PORT/DB or memory:";
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "the postgres:// store URL is malformed (expected postgres://USER@HOST:PORT/DB)";
  }
  if (url.password !== "") {
    return "the store URL must not hold a password: use PGPASSWORD or --store-password-file";
  }
  if (url.search !== "" || url.hash !== "") {
    return "the store URL takes no ?parameters or #fragment (postgres://USER@HOST:PORT/DB)";
  }
  const user = decodeURIComponent(url.username);
  if (user === "") return "the store URL needs a user name (postgres://USER@HOST:PORT/DB)";
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") return "the store URL needs a host (postgres://USER@HOST:PORT/DB)";
  const port = url.port === "" ? DEFAULT_PG_PORT : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    return "the store URL's port must be from 1 to 65535";
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (database === "" || database.includes("/")) {
    return "the store URL needs one database name (postgres://USER@HOST:PORT/DB)";
  }
  return { kind: "postgres", host, port, database, user };
}

/** The location as a URL to print: `sqlite:PATH`, `postgres://USER@HOST:PORT/DB`, `memory:`. */
export function storeUrlText(where: StoreLocation): string {
  if (where.kind === "sqlite") return `sqlite:${where.path}`;
  if (where.kind === "memory") return "memory:";
  const host = where.host.includes(":") ? `[${where.host}]` : where.host;
  return `postgres://${encodeURIComponent(where.user)}@${host}:${where.port}/${
    encodeURIComponent(where.database)
  }`;
}

/**
 * `text` with every occurrence of `secret` replaced by `***` (for messages from a database
 * driver, which should never hold a password, but must not leak one if they do).
 */
export function redact(text: string, secret: string | undefined): string {
  if (secret === undefined || secret === "") return text;
  return text.split(secret).join("***");
}
