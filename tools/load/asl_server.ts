// Starts the NetSec-MSG server under test for the load tool (issue #6): `deno run server.ts`
// as a CHILD process with the run's throwaway PKI and a temp --data directory, so its CPU
// time and RSS can be read from /proc/<pid>; the port is read from its log.

import type { Suite } from "../../lib/asl/types.ts";
import { type ChildServer, spawnServer } from "./harness.ts";
import type { LoadPki } from "./context.ts";

/** How to start the server. */
export interface AslServerOptions {
  readonly pki: LoadPki;
  /** The server's --data directory (its SQLite database lives there). */
  readonly dataDir: string;
  /** `memory` runs lib/server's MemoryStore through memory_server.ts (server.ts has no flag). */
  readonly store: "sqlite" | "memory";
  /** Suites the server accepts, in preference order (`--suites`); default: the server's own. */
  readonly suites?: readonly Suite[];
  /** File descriptors the child must be able to open. */
  readonly fdLimit?: number;
  /** Extra server flags (e.g. a shorter handshake timeout). */
  readonly extraArgs?: readonly string[];
  readonly verbose?: boolean;
  /** Pass --cpu-prof to the child (profile written under this directory). */
  readonly cpuProfDir?: string;
  /** Pass --v8-flags=<this> to the child. */
  readonly v8Flags?: string;
}

/** The repository root (tools/load/ is two levels down). */
export const REPO_ROOT = new URL("../../", import.meta.url).pathname;

/** The server's log line that carries its listening port. */
export const LISTEN_LINE = /listening\b.*?(?:127\.0\.0\.1|localhost|\]):(\d{1,5})\b/i;

/** Starts server.ts (or, for `memory`, memory_server.ts) as a child process; the caller stops it. */
export async function startAslServer(o: AslServerOptions): Promise<ChildServer> {
  const common = [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--ca",
    o.pki.caCertPath,
    "--cert",
    o.pki.serverCertPath,
    "--key",
    o.pki.serverKeyPath,
    ...(o.suites !== undefined ? ["--suites", o.suites.join(",")] : []),
  ];
  const args = [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    ...(o.cpuProfDir !== undefined ? ["--cpu-prof", `--cpu-prof-dir=${o.cpuProfDir}`] : []),
    ...(o.v8Flags !== undefined ? [`--v8-flags=${o.v8Flags}`] : []),
    ...(o.store === "memory"
      ? [new URL("./memory_server.ts", import.meta.url).pathname, ...common]
      // The per-USERID command rate limit (default 1 000/s) would cap each sender below
      // what the server can carry; the tool measures capacity, so it turns the limiter off
      // (memory_server.ts does the same in code).
      : [
        `${REPO_ROOT}server.ts`,
        ...common,
        "--rate",
        "0",
        // All load comes from one loopback address: the per-address and total bounds on
        // pending handshakes (a defence against floods) would refuse the tool's own bursts
        // (1 000 stalled handshakes in --faults), so they are lifted like the rate limit.
        "--max-pending",
        "1000000",
        "--max-pending-ip",
        "1000000",
        "--data",
        `${o.dataDir}/netsec-msg.db`,
      ]),
    ...(o.extraArgs ?? []),
  ];
  return await spawnServer({
    cmd: [Deno.execPath(), ...args],
    ready: LISTEN_LINE,
    cwd: REPO_ROOT,
    ...(o.verbose !== undefined ? { verbose: o.verbose } : {}),
    ...(o.fdLimit !== undefined ? { fdLimit: o.fdLimit } : {}),
  });
}
