// A child-process entry for the load tool's durability-cost phase (issue #6): runs the
// real lib/server `serve()` with its in-memory `MemoryStore` instead of SQLite, because
// server.ts has no flag for the store. Same listener, ASL, router and limits as server.ts;
// logs `listening addr=HOST:PORT` on stderr like it.
// `deno run --allow-net --allow-read --allow-env memory_server.ts --ca F --cert F --key F
//   [--suites LIST]`

import { parseArgs } from "node:util";
import { createLogger } from "../../lib/log.ts";
import { parseSuiteList } from "../../lib/asl/suites.ts";
import { loadCredentials, loadTrustStore } from "../../lib/pki/credentials.ts";
import { serve } from "../../lib/server/serve.ts";
import { MemoryStore } from "../../lib/server/store_memory.ts";
import { writeErr } from "./out.ts";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "0" },
      ca: { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
      "handshake-timeout": { type: "string", default: "10" },
      suites: { type: "string" },
    },
  });
  const suites = values.suites === undefined ? undefined : parseSuiteList(values.suites);
  if (typeof suites === "string") {
    writeErr(`memory_server: --suites: ${suites}\n`);
    Deno.exit(2);
  }
  if (values.ca === undefined || values.cert === undefined || values.key === undefined) {
    writeErr("memory_server: --ca, --cert and --key are required\n");
    Deno.exit(2);
  }
  const server = await serve({
    hostname: values.host ?? "127.0.0.1",
    port: Number(values.port),
    credentials: await loadCredentials(values.cert, values.key),
    trust: await loadTrustStore(values.ca),
    store: new MemoryStore(),
    ...(suites !== undefined ? { suites } : {}),
    rate: { rate: 0, burst: 0 }, // as server.ts --rate 0 in context.ts: capacity, not policy
    maxPendingHandshakes: 1_000_000, // as in context.ts: all load comes from one address
    maxPendingPerAddress: 1_000_000,
    handshakeTimeoutMs: Number(values["handshake-timeout"]) * 1000,
    logger: createLogger("info"),
  });
  const stop = () => void server.close();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  await server.finished;
}
