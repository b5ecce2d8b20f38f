// Entry point of the NetSec-MSG server (docs/SERVER.md): cli/server/main.ts parses the flags,
// runs the server and returns the exit code.

import { main } from "./cli/server/main.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
