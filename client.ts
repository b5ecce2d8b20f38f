// Entry point of the NetSec-MSG client (docs/CLIENT.md): chat, send, listen, whois, trust.
// cli/client/cli.ts parses the flags, does the work and returns the exit code.

import { main } from "./cli/client/cli.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
