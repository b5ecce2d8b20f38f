// The server program (`deno task server`, docs/SERVER.md): parses flags and environment,
// starts the server, prints its address and certificate fingerprint, and shuts down
// gracefully on SIGINT/SIGTERM. Configuration errors: one line on stderr, exit code 2.
// `server migrate …` copies a SQLite store into PostgreSQL instead (cli/server/migrate.ts).
// `server.ts` at the top level only calls `main`.

import { createLogger } from "../../lib/log.ts";
import { ServerError } from "../../lib/server/errors.ts";
import { helpText, parseServerConfig } from "./config.ts";
import { startServer } from "./startup.ts";

/** Where the server program reads its environment and writes its lines. */
export interface ServerIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

const encoder = new TextEncoder();

/** The process's own environment, stdout and stderr. */
export function processIo(): ServerIo {
  return {
    env: Deno.env.toObject(),
    stdout: (line) => void Deno.stdout.writeSync(encoder.encode(line + "\n")),
    stderr: (line) => void Deno.stderr.writeSync(encoder.encode(line + "\n")),
  };
}

/** Runs the server; resolves with the process exit code (0 after a clean shutdown, 2 on errors). */
export async function main(args: readonly string[], io: ServerIo = processIo()): Promise<number> {
  if (args[0] === "migrate") {
    // Loaded only here, so that the server itself never loads the copy's code.
    const { migrateMain } = await import("./migrate.ts");
    return await migrateMain(args.slice(1), io);
  }
  try {
    const config = parseServerConfig(args, io.env);
    if (config === "help") {
      io.stdout(helpText());
      return 0;
    }
    const logger = createLogger(config.logLevel);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    try {
      const started = await startServer(config, logger, stop.signal);
      if (started.createdPki !== undefined) {
        io.stdout(
          `created the development PKI under ${started.createdPki}/ (CA, server certificate and key)`,
        );
      }
      const { hostname, port } = started.server.addr;
      io.stdout(`NetSec-MSG server listening on ${hostname}:${port}`);
      io.stdout(`server certificate SHA-256 fingerprint: ${started.fingerprint}`);
      await started.server.finished;
      return 0;
    } finally {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    }
  } catch (e) {
    if (e instanceof ServerError) {
      io.stderr(`error: ${e.message}`);
      return 2;
    }
    io.stderr(`error: unexpected failure: ${(e as Error).message}`);
    return 2;
  }
}
