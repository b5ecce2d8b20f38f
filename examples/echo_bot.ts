// An echo bot on the NetSec-MSG library (mod.ts): registers as a user and sends every
// message it receives back to its sender, prefixed with "echo: ". Each message is
// acknowledged once the echo has been stored by the server (the iterator acks on the next
// pull). Run: deno run --allow-net --allow-read --allow-write --allow-env examples/echo_bot.ts
//   --user echo [--host localhost] [--port 4287] [--ca certs/ca.pem] [--cert F] [--key F]
//   [--count N]

import { parseArgs } from "node:util";
import {
  ClientError,
  connect,
  loadCredentials,
  loadTrustStore,
  type MessengerClient,
} from "../mod.ts";

/** Options of {@link runEchoBot}. */
export interface EchoBotOptions {
  /** A connected client (the bot's identity). */
  readonly client: MessengerClient;
  /** Stop after echoing this many messages; default: run until the client closes. */
  readonly count?: number;
  /** Called after each echo (for logging). */
  readonly onEcho?: (from: string, text: string) => void;
}

/** Echoes every incoming message back to its sender; returns how many were echoed. */
export async function runEchoBot(options: EchoBotOptions): Promise<number> {
  let echoed = 0;
  for await (const message of options.client) {
    try {
      await options.client.send(message.from, `echo: ${message.text}`);
    } catch (err) {
      // A reply that cannot be sent (e.g. TOO_LARGE after the prefix) is skipped.
      if (!(err instanceof ClientError)) throw err;
    }
    options.onEcho?.(message.from, message.text);
    echoed++;
    if (options.count !== undefined && echoed >= options.count) break;
  }
  return echoed;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      user: { type: "string", default: "echo" },
      host: { type: "string", default: "localhost" },
      port: { type: "string", default: "4287" },
      ca: { type: "string", default: "certs/ca.pem" },
      cert: { type: "string" },
      key: { type: "string" },
      count: { type: "string" },
    },
    strict: true,
  });
  const client = await connect({
    user: values.user,
    hostname: values.host,
    port: Number(values.port),
    credentials: await loadCredentials(
      values.cert ?? `certs/${values.user}.pem`,
      values.key ?? `certs/${values.user}.key`,
    ),
    trust: await loadTrustStore(values.ca),
  });
  const out = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
  out(`echo bot ${values.user} ready on ${values.host}:${values.port}`);
  const count = values.count === undefined ? undefined : Number(values.count);
  try {
    await runEchoBot({
      client,
      ...(count === undefined ? {} : { count }),
      onEcho: (from) => out(`echoed a message from ${from}`),
    });
  } finally {
    await client.close();
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    Deno.stderr.writeSync(new TextEncoder().encode(`error: ${(err as Error).message}\n`));
    Deno.exit(1);
  }
}
