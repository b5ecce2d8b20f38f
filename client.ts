// Entry point of the NetSec-MSG client (docs/CLIENT.md): chat, send and listen. Parses
// nothing itself; lib/client/cli.ts does the work and returns the exit code.

import { main } from "./lib/client/cli.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
