// Server configuration: command-line flags, each also readable from an environment
// variable, turned into typed settings (limits of ASL spec sections 2 and 5). Pure: the
// caller passes argv and the environment.

import { parseArgs } from "node:util";
import { parseSuiteList } from "../../lib/asl/suites.ts";
import type { Suite } from "../../lib/asl/types.ts";
import type { LogLevel } from "../../lib/log.ts";
import { DEFAULT_PORT } from "../../lib/limits.ts";
import { ServerError } from "../../lib/server/errors.ts";
import type { StoreThread } from "../../lib/server/serve.ts";
import { parseStoreUrl, type StoreLocation } from "../../lib/server/store_url.ts";

/** Everything `server.ts` needs to start. Times are milliseconds. */
export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** The CRL file; `crlRequired` is false when it is the default path (used only if present). */
  readonly crl: string;
  readonly crlRequired: boolean;
  /** Time between two checks of the CRL file for changes. */
  readonly crlCheckMs: number;
  /** The SQLite file (`--data`, or the path of a `sqlite:` store). */
  readonly data: string;
  /** The store: `--store URL`, else the SQLite file `data`. */
  readonly store: StoreLocation;
  /** File whose first line is the PostgreSQL password (`--store-password-file`). */
  readonly storePasswordFile?: string;
  /** PGPASSWORD from the environment, used when no password file is given. */
  readonly storePassword?: string;
  /** Where the database's transactions run: the network thread or a worker thread. */
  readonly storeThread: StoreThread;
  readonly suites: readonly Suite[];
  readonly handshakeTimeoutMs: number;
  readonly registerTimeoutMs: number;
  readonly inflight: number;
  readonly queueMax: number;
  readonly senderQueueMax: number;
  /** Commands per second per USERID; 0 turns limiting off. */
  readonly rate: number;
  readonly burst: number;
  readonly maxConnections: number;
  readonly maxHandshakes: number;
  /** Connections whose handshake has not finished: in total, and per source address. */
  readonly maxPendingHandshakes: number;
  readonly maxPendingPerAddress: number;
  readonly logLevel: LogLevel;
  /** True when ca, cert and key are all the default paths (the dev PKI may be created). */
  readonly defaultCertPaths: boolean;
}

interface FlagSpec {
  readonly flag: string;
  readonly env: string;
  readonly arg: string;
  readonly help: string;
  readonly fallback: string;
  readonly boolean?: boolean;
}

/** Every flag, its environment variable and its default. */
export const FLAGS: readonly FlagSpec[] = [
  {
    flag: "host",
    env: "NETSEC_HOST",
    arg: "ADDR",
    help: "address to listen on",
    fallback: "127.0.0.1",
  },
  {
    flag: "port",
    env: "NETSEC_PORT",
    arg: "N",
    help: "TCP port (0 = any free port)",
    fallback: String(DEFAULT_PORT),
  },
  {
    flag: "ca",
    env: "NETSEC_CA",
    arg: "FILE",
    help: "CA certificate(s) client chains must lead to",
    fallback: "certs/ca.pem",
  },
  {
    flag: "cert",
    env: "NETSEC_CERT",
    arg: "FILE",
    help: "server certificate chain (PEM, leaf first)",
    fallback: "certs/server.pem",
  },
  {
    flag: "key",
    env: "NETSEC_KEY",
    arg: "FILE",
    help: "server private key (PKCS#8 PEM)",
    fallback: "certs/server.key",
  },
  {
    flag: "crl",
    env: "NETSEC_CRL",
    arg: "FILE",
    help: "CRL file (the default is used only if it exists)",
    fallback: "certs/ca.crl",
  },
  {
    flag: "crl-check",
    env: "NETSEC_CRL_CHECK",
    arg: "SEC",
    help: "seconds between checks of the CRL file for changes",
    fallback: "2",
  },
  {
    flag: "data",
    env: "NETSEC_DATA",
    arg: "FILE",
    help: "SQLite database file (created when missing); short for --store sqlite:FILE",
    fallback: "data/netsec-msg.db",
  },
  {
    flag: "store",
    env: "NETSEC_STORE",
    arg: "URL",
    help: "sqlite:FILE, postgres://USER@HOST:PORT/DB (docs/CLUSTER.md) or memory: (not durable)",
    fallback: "",
  },
  {
    flag: "store-password-file",
    env: "NETSEC_STORE_PASSWORD_FILE",
    arg: "FILE",
    help: "PostgreSQL password: first line of FILE (else env PGPASSWORD)",
    fallback: "",
  },
  {
    flag: "store-thread",
    env: "NETSEC_STORE_THREAD",
    arg: "WHERE",
    help: "where SQLite commits run: main (network thread) or worker (own thread)",
    fallback: "main",
  },
  {
    flag: "suites",
    env: "NETSEC_SUITES",
    arg: "LIST",
    help: "cipher suites in preference order (X25519_AES_GCM alone: no RSA key transport)",
    fallback: "X25519_AES_GCM,AES_GCM,AES_CBC",
  },
  {
    flag: "handshake-timeout",
    env: "NETSEC_HANDSHAKE_TIMEOUT",
    arg: "SEC",
    help: "seconds to finish the ASL handshake",
    fallback: "10",
  },
  {
    flag: "register-timeout",
    env: "NETSEC_REGISTER_TIMEOUT",
    arg: "SEC",
    help: "seconds after the handshake to REGISTER",
    fallback: "10",
  },
  {
    flag: "inflight",
    env: "NETSEC_INFLIGHT",
    arg: "N",
    help: "unacknowledged deliveries per session",
    fallback: "100",
  },
  {
    flag: "queue-max",
    env: "NETSEC_QUEUE_MAX",
    arg: "N",
    help: "undelivered messages per recipient",
    fallback: "10000",
  },
  {
    flag: "sender-queue-max",
    env: "NETSEC_SENDER_QUEUE_MAX",
    arg: "N",
    help: "undelivered messages from one sender to one recipient",
    fallback: "1000",
  },
  {
    flag: "rate",
    env: "NETSEC_RATE",
    arg: "N",
    help: "commands per second per USERID (0 = off)",
    fallback: "1000",
  },
  {
    flag: "burst",
    env: "NETSEC_BURST",
    arg: "N",
    help: "command burst per USERID (default: 2 x rate)",
    fallback: "",
  },
  {
    flag: "max-connections",
    env: "NETSEC_MAX_CONNECTIONS",
    arg: "N",
    help: "concurrent connections",
    fallback: "20000",
  },
  {
    flag: "max-handshakes",
    env: "NETSEC_MAX_HANDSHAKES",
    arg: "N",
    help: "concurrent handshakes (others wait)",
    fallback: "64",
  },
  {
    flag: "max-pending",
    env: "NETSEC_MAX_PENDING",
    arg: "N",
    help: "connections not yet through the handshake (more are refused)",
    fallback: "1024",
  },
  {
    flag: "max-pending-ip",
    env: "NETSEC_MAX_PENDING_IP",
    arg: "N",
    help: "of those, from one source address (IPv6: one /64)",
    fallback: "64",
  },
  {
    flag: "log-level",
    env: "NETSEC_LOG_LEVEL",
    arg: "LEVEL",
    help: "debug, info, warn or error",
    fallback: "info",
  },
  {
    flag: "verbose",
    env: "NETSEC_VERBOSE",
    arg: "",
    help: "debug logs: handshake trace, per-message events",
    fallback: "",
    boolean: true,
  },
];

/** The `--help` text. */
export function helpText(): string {
  const rows = FLAGS.map((f) => {
    const left = `  --${f.flag}${f.arg ? ` ${f.arg}` : ""}`;
    const def = f.fallback ? ` [${f.fallback}]` : "";
    return `${left.padEnd(30)} ${f.help}${def}\n${"".padEnd(31)}env ${f.env}`;
  });
  return [
    "NetSec-MSG server: ASL/1 messenger with durable store-and-forward.",
    "",
    "Usage: deno task server [flags]",
    "       deno task server migrate --from sqlite:PATH --to postgres://… (see migrate --help)",
    "",
    "Flags (a flag wins over its environment variable; defaults in brackets):",
    ...rows,
    `${"  --help, -h".padEnd(30)} this text`,
    "",
    "With the default --ca/--cert/--key and none of them present, a development PKI is",
    "created under certs/ first. Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM),",
    "2 on a usage, file, credential, database or listen error.",
  ].join("\n");
}

const STORE_THREADS: readonly StoreThread[] = ["main", "worker"];
const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/**
 * Parses argv and the environment. Returns `"help"` for `--help`; throws
 * `ServerError("USAGE")` with a one-line message for anything invalid.
 *
 * @example
 * ```ts
 * import { parseServerConfig } from "./config.ts";
 * const config = parseServerConfig(["--port", "0"], { NETSEC_RATE: "0" });
 * console.log(config !== "help" && [config.port, config.rate]); // [0, 0]
 * ```
 */
export function parseServerConfig(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ServerConfig | "help" {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const f of FLAGS) options[f.flag] = { type: f.boolean ? "boolean" : "string" };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: [...args], options, strict: true, allowPositionals: false })
      .values as Record<string, string | boolean | undefined>;
  } catch (err) {
    const oneLine = (err as Error).message.split("\n")[0] ?? "bad arguments";
    throw new ServerError("USAGE", `${oneLine} (see --help)`);
  }
  if (values.help === true) return "help";

  const given = (flag: string): boolean =>
    values[flag] !== undefined ||
    (env[spec(flag).env] ?? "") !== "";
  const raw = (flag: string): string => {
    const s = spec(flag);
    const v = values[flag];
    if (typeof v === "string") return v;
    const e = env[s.env];
    return e !== undefined && e !== "" ? e : s.fallback;
  };
  const int = (flag: string, min: number, max: number): number => {
    const text = raw(flag);
    const n = Number(text);
    if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new ServerError(
        "USAGE",
        `--${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`,
      );
    }
    return n;
  };
  const seconds = (flag: string): number => {
    const text = raw(flag);
    const n = Number(text);
    if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || !(n > 0) || n > 86_400) {
      throw new ServerError(
        "USAGE",
        `--${flag} must be a number of seconds above 0, got ${JSON.stringify(text)}`,
      );
    }
    return Math.round(n * 1000);
  };
  const path = (flag: string): string => {
    const p = raw(flag);
    if (p === "") throw new ServerError("USAGE", `--${flag} must not be empty`);
    return p;
  };

  const suites = parseSuiteList(raw("suites"));
  if (typeof suites === "string") throw new ServerError("USAGE", `--suites: ${suites}`);
  const verboseEnv = (env.NETSEC_VERBOSE ?? "").toLowerCase();
  const verbose = values.verbose === true || ["1", "true", "yes", "on"].includes(verboseEnv);
  const level = raw("log-level");
  if (!LEVELS.includes(level as LogLevel)) {
    throw new ServerError(
      "USAGE",
      `--log-level must be one of ${LEVELS.join(", ")}, got ${JSON.stringify(level)}`,
    );
  }
  const storeThread = raw("store-thread");
  if (!STORE_THREADS.includes(storeThread as StoreThread)) {
    throw new ServerError(
      "USAGE",
      `--store-thread must be main or worker, got ${JSON.stringify(storeThread)}`,
    );
  }
  const { store, data } = storeOf(values, env, path("data"));
  const passwordFile = raw("store-password-file");
  const pgPassword = env.PGPASSWORD ?? "";
  const host = raw("host");
  if (host === "") throw new ServerError("USAGE", "--host must not be empty");
  const rate = int("rate", 0, 1_000_000_000);
  const burst = raw("burst") === "" ? rate * 2 : int("burst", 1, 2_000_000_000);

  return {
    host,
    port: int("port", 0, 65_535),
    ca: path("ca"),
    cert: path("cert"),
    key: path("key"),
    crl: path("crl"),
    crlRequired: given("crl"),
    crlCheckMs: seconds("crl-check"),
    data,
    store,
    ...(passwordFile !== "" ? { storePasswordFile: passwordFile } : {}),
    ...(pgPassword !== "" ? { storePassword: pgPassword } : {}),
    storeThread: storeThread as StoreThread,
    suites,
    handshakeTimeoutMs: seconds("handshake-timeout"),
    registerTimeoutMs: seconds("register-timeout"),
    inflight: int("inflight", 1, 100_000),
    queueMax: int("queue-max", 1, 1_000_000_000),
    senderQueueMax: int("sender-queue-max", 1, 1_000_000_000),
    rate,
    burst,
    maxConnections: int("max-connections", 1, 10_000_000),
    maxHandshakes: int("max-handshakes", 1, 100_000),
    maxPendingHandshakes: int("max-pending", 1, 10_000_000),
    maxPendingPerAddress: int("max-pending-ip", 1, 10_000_000),
    logLevel: verbose ? "debug" : level as LogLevel,
    defaultCertPaths: !given("ca") && !given("cert") && !given("key"),
  };
}

/**
 * The store from `--store`/`NETSEC_STORE` and `--data`/`NETSEC_DATA`: a flag wins over an
 * environment variable; giving both at the same level is a usage error.
 */
function storeOf(
  values: Record<string, string | boolean | undefined>,
  env: Readonly<Record<string, string | undefined>>,
  dataPath: string,
): { store: StoreLocation; data: string } {
  const flagStore = values.store;
  const envStore = env.NETSEC_STORE ?? "";
  if (typeof flagStore === "string" && typeof values.data === "string") {
    throw new ServerError("USAGE", "give --store or --data, not both");
  }
  let text: string | undefined;
  if (typeof flagStore === "string") text = flagStore;
  else if (typeof values.data !== "string" && envStore !== "") {
    if ((env.NETSEC_DATA ?? "") !== "") {
      throw new ServerError("USAGE", "set NETSEC_STORE or NETSEC_DATA, not both");
    }
    text = envStore;
  }
  if (text === undefined) return { store: { kind: "sqlite", path: dataPath }, data: dataPath };
  const store = parseStoreUrl(text);
  if (typeof store === "string") throw new ServerError("USAGE", `--store: ${store}`);
  return { store, data: store.kind === "sqlite" ? store.path : dataPath };
}

function spec(flag: string): FlagSpec {
  const s = FLAGS.find((f) => f.flag === flag);
  if (s === undefined) throw new Error(`unknown flag ${flag}`);
  return s;
}
