// The NetSec-MSG server entry point (ASL spec section 5 over sections 1-4): parses flags and
// environment, starts the server, prints its address and certificate fingerprint, and shuts
// down gracefully on SIGINT/SIGTERM. Configuration errors: one line on stderr, exit code 2.

import { createLogger } from "./lib/log.ts";
import { helpText, parseServerConfig } from "./lib/server/config.ts";
import { ServerError } from "./lib/server/errors.ts";
import { startServer } from "./lib/server/startup.ts";

/** Runs the server; resolves with the process exit code. */
export async function main(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  const encoder = new TextEncoder();
  const out = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));
  const err = (line: string) => Deno.stderr.writeSync(encoder.encode(line + "\n"));
  try {
    const config = parseServerConfig(args, env);
    if (config === "help") {
      out(helpText());
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
        out(
          `created the development PKI under ${started.createdPki}/ (CA, server certificate and key)`,
        );
      }
      const { hostname, port } = started.server.addr;
      out(`NetSec-MSG server listening on ${hostname}:${port}`);
      out(`server certificate SHA-256 fingerprint: ${started.fingerprint}`);
      await started.server.finished;
      return 0;
    } finally {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    }
  } catch (e) {
    if (e instanceof ServerError) {
      err(`error: ${e.message}`);
      return 2;
    }
    err(`error: unexpected failure: ${(e as Error).message}`);
    return 2;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args, Deno.env.toObject()));
}
