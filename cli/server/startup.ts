// Turns a ServerConfig (config.ts) into a running server: creates the development PKI when
// the default certificate paths are all missing, loads credentials, the CA file and CRL
// (ASL spec section 4; the CRL file is then watched for changes, lib/pki/crl_watch.ts),
// prepares the database directory and calls `serve`. Every failure is a ServerError with a
// one-line message.

import { sha256Fingerprint } from "../../lib/pki/fingerprint.ts";
import "reflect-metadata"; // @peculiar/x509 (used by lib/pki) needs it loaded first.
import { dirname } from "node:path";
import type { Logger } from "../../lib/log.ts";
import { silentLogger } from "../../lib/log.ts";
import { loadCredentials, loadTrustStore } from "../../lib/pki/credentials.ts";
import { CrlWatcher } from "../../lib/pki/crl_watch.ts";
import { exists } from "../../lib/fs.ts";
import { initPki } from "../../lib/pki/pki_files.ts";
import type { Credentials, TrustStore } from "../../lib/pki/types.ts";
import type { ServerConfig } from "./config.ts";
import { ServerError } from "../../lib/server/errors.ts";
import { serve, type ServerHandle } from "../../lib/server/serve.ts";
import type { Store } from "../../lib/server/store.ts";
import { MemoryStore } from "../../lib/server/store_memory.ts";
import { type PostgresLocation, redact } from "../../lib/server/store_url.ts";

/** A started server and what `server.ts` prints about it. */
export interface Started {
  readonly server: ServerHandle;
  /** SHA-256 of the server certificate (DER), lowercase hex with colons. */
  readonly fingerprint: string;
  /** The directory where the development PKI was created, when it was. */
  readonly createdPki?: string;
}

/**
 * Starts the server described by `config`.
 *
 * @example
 * ```ts ignore
 * import { parseServerConfig } from "./config.ts";
 * import { startServer } from "./startup.ts";
 * const config = parseServerConfig(Deno.args, Deno.env.toObject());
 * if (config !== "help") {
 *   const { server, fingerprint } = await startServer(config);
 * }
 * ```
 */
export async function startServer(
  config: ServerConfig,
  logger: Logger = silentLogger,
  signal?: AbortSignal,
): Promise<Started> {
  let createdPki: string | undefined;
  if (config.defaultCertPaths) {
    // A path that is there but cannot be inspected counts as present: reading it says why.
    const present = await Promise.all(
      [config.ca, config.cert, config.key].map((p) => exists(p).catch(() => true)),
    );
    if (present.every((p) => !p)) {
      const dir = dirname(config.cert);
      try {
        await initPki({ dir });
      } catch (err) {
        throw new ServerError(
          "FILE",
          `cannot create the development PKI in ${dir}/: ${(err as Error).message}`,
        );
      }
      createdPki = dir;
      logger.info("dev_pki_created", { dir });
    }
  }
  for (
    const [what, path] of [["CA file", config.ca], ["certificate", config.cert], [
      "key",
      config.key,
    ]]
  ) {
    await readable(what ?? "", path ?? "");
  }
  const useCrl = config.crlRequired || await exists(config.crl).catch(() => true);
  if (useCrl) await readable("CRL file", config.crl);

  let credentials;
  let trust;
  try {
    credentials = await loadCredentials(config.cert, config.key);
  } catch (err) {
    throw new ServerError("CREDENTIALS", `bad server credentials: ${(err as Error).message}`);
  }
  let watcher: CrlWatcher;
  try {
    trust = await loadTrustStore(config.ca);
  } catch (err) {
    throw new ServerError("CREDENTIALS", `bad CA or CRL file: ${(err as Error).message}`);
  }
  try {
    // The default CRL path, absent now, is watched too: `certs revoke` creates it later.
    watcher = await CrlWatcher.open({
      anchors: trust.anchors,
      path: config.crl,
      required: useCrl,
      intervalMs: config.crlCheckMs,
      logger,
    });
  } catch (err) {
    throw new ServerError("CREDENTIALS", `bad CA or CRL file: ${(err as Error).message}`);
  }
  trust = watcher.current() ?? trust;
  try {
    return await startWith(config, logger, signal, credentials, trust, watcher, createdPki);
  } catch (err) {
    watcher.close();
    throw err;
  }
}

async function startWith(
  config: ServerConfig,
  logger: Logger,
  signal: AbortSignal | undefined,
  credentials: Credentials,
  trust: TrustStore,
  watcher: CrlWatcher,
  createdPki: string | undefined,
): Promise<Started> {
  const leaf = credentials.chain[0];
  if (leaf === undefined) {
    throw new ServerError("CREDENTIALS", `${config.cert} holds no certificate`);
  }
  const fingerprint = await sha256Fingerprint(leaf);

  const store = await openStore(config, logger);
  let server: ServerHandle;
  try {
    server = await serveWith(config, logger, signal, credentials, trust, watcher, store);
  } catch (err) {
    await store?.close();
    throw err;
  }
  void server.finished.then(() => watcher.close());
  return createdPki === undefined ? { server, fingerprint } : { server, fingerprint, createdPki };
}

function serveWith(
  config: ServerConfig,
  logger: Logger,
  signal: AbortSignal | undefined,
  credentials: Credentials,
  trust: TrustStore,
  watcher: CrlWatcher,
  store: Store | undefined,
): Promise<ServerHandle> {
  return serve({
    hostname: config.host,
    port: config.port,
    credentials,
    trust,
    trustSource: watcher,
    dataPath: config.data,
    storeThread: config.storeThread,
    suites: config.suites,
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    registerTimeoutMs: config.registerTimeoutMs,
    inflight: config.inflight,
    queueMax: config.queueMax,
    senderQueueMax: config.senderQueueMax,
    rate: { rate: config.rate, burst: config.burst },
    maxConnections: config.maxConnections,
    maxHandshakes: config.maxHandshakes,
    maxPendingHandshakes: config.maxPendingHandshakes,
    maxPendingPerAddress: config.maxPendingPerAddress,
    traceHandshakes: config.logLevel === "debug",
    logger,
    ...(signal ? { signal } : {}),
    ...(store ? { store } : {}),
  });
}

/**
 * The store of `--store`: for SQLite undefined (`serve` opens `config.data`; its directory is
 * made here), the in-memory store (with a warning that it is not durable), or PostgreSQL.
 */
async function openStore(config: ServerConfig, logger: Logger): Promise<Store | undefined> {
  switch (config.store.kind) {
    case "memory":
      logger.warn("store_not_durable", { store: "memory:", lost_at_exit: "every queued message" });
      return new MemoryStore();
    case "postgres":
      return await openPostgres(config, config.store);
    case "sqlite":
      try {
        await Deno.mkdir(dirname(config.data), { recursive: true });
      } catch (err) {
        throw new ServerError(
          "FILE",
          `cannot create the directory of ${config.data}: ${(err as Error).message}`,
        );
      }
      return undefined;
  }
}

/**
 * Opens the PostgreSQL store at `location`: the password from the password file, else
 * PGPASSWORD; the schema is created or migrated. A database that cannot be reached is a
 * ServerError("STORE"), password redacted.
 */
async function openPostgres(config: ServerConfig, location: PostgresLocation): Promise<Store> {
  let password = config.storePassword;
  if (config.storePasswordFile !== undefined) {
    password = await readStorePassword(config.storePasswordFile);
  }
  try {
    // Loaded only here, so that a SQLite server never loads the PostgreSQL client.
    const { PostgresStore } = await import("../../lib/server/store_postgres.ts");
    return await PostgresStore.open(
      password === undefined ? { location } : { location, password },
    );
  } catch (err) {
    const why = redact((err as Error).message, password);
    throw new ServerError(
      "STORE",
      `cannot open the database: ${why}`,
    );
  }
}

/**
 * The PostgreSQL password: the first line of `path` (`--store-password-file`). A missing,
 * unreadable or empty file is a ServerError("FILE"); the password is never in a message.
 */
export async function readStorePassword(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "no such file" : (err as Error).message;
    throw new ServerError("FILE", `cannot read the store password file ${path}: ${why}`);
  }
  const password = text.split(/\r?\n/)[0] ?? "";
  if (password === "") throw new ServerError("FILE", `the store password file ${path} is empty`);
  return password;
}

async function readable(what: string, path: string): Promise<void> {
  try {
    const file = await Deno.open(path, { read: true });
    file.close();
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "no such file" : (err as Error).message;
    throw new ServerError("FILE", `cannot read the ${what} ${path}: ${why}`);
  }
}
