// Command-line flags of the load tool (issue #6, `deno task load`): parsed with node:util
// parseArgs in strict mode into a typed LoadOptions. Pure: argv in, options or UsageError out.

import { parseArgs } from "node:util";
import { parseSuiteList } from "../../lib/asl/suites.ts";
import type { Suite } from "../../lib/asl/types.ts";
import { parseStoreUrl, type PostgresLocation } from "../../lib/server/store_url.ts";

/** A bad command line; the entry point prints the message and exits with code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Where the server under test runs. */
export type ServerTarget =
  | { readonly kind: "spawn" }
  | { readonly kind: "attach"; readonly hostname: string; readonly port: number };

/**
 * The PostgreSQL store the relay is also run against (`--store`, docs/CLUSTER.md): a
 * database given by URL (the password from `--store-password-file` or PGPASSWORD), or a
 * throwaway cluster the tool starts itself with tools/pg/cluster.sh and always stops.
 */
export type PgStoreTarget =
  | {
    readonly kind: "url";
    readonly location: PostgresLocation;
    readonly passwordFile?: string;
  }
  | { readonly kind: "throwaway" };

/** `--store` values that mean "start a throwaway PostgreSQL cluster". */
export const THROWAWAY_STORE_NAMES: readonly string[] = ["pg", "postgres", "throwaway"];

/** The most server nodes `--nodes` accepts (every node is a server.ts child on this machine). */
export const MAX_NODES = 4;

/** The measurement phases, in the order they run. */
export const PHASES = [
  "rsa",
  "records",
  "disk",
  "handshakes",
  "relay",
  "baseline",
  "memory",
  "idle",
] as const;
/** One measurement phase. */
export type Phase = typeof PHASES[number];

/** The suite the ASL phases run with unless `--suite` says otherwise (the server's default). */
export const DEFAULT_LOAD_SUITE: Suite = "X25519_AES_GCM";

/** Everything one run of the load tool needs to know. */
export interface LoadOptions {
  /** Every phase briefly (about 3 minutes in all; idle memory at 1 000 sessions only). */
  readonly quick: boolean;
  /** Run the robustness phases (stalled handshakes, hostile M3s, a non-reading client). */
  readonly faults: boolean;
  /** Also run the relay with sealed payloads (end to end, spec section 7), beside the plain one. */
  readonly sealed: boolean;
  /** Spawn the server as a child process, or attach to one already running. */
  readonly server: ServerTarget;
  /** With `attach`: the PKI directory (ca.pem, ca.key) the server trusts; users are issued there. */
  readonly pkiDir?: string;
  /** With `attach`: the server's pid, so its CPU time and RSS can be read from /proc. */
  readonly serverPid?: number;
  /** Write the results as JSON to this file. */
  readonly jsonPath?: string;
  /** Directory for the SVG chart and the default JSON file. */
  readonly outDir: string;
  /** Sender→recipient pairs in the relay workload. */
  readonly pairs: number;
  /** Seconds per measured relay phase. */
  readonly relaySeconds: number;
  /** Seconds per handshake phase. */
  readonly handshakeSeconds: number;
  /** Payload size in bytes before base64 (75 bytes make a 100-character payload). */
  readonly payloadBytes: number;
  /** Idle-session counts to measure the server's RSS at (0 is always measured). */
  readonly idleCounts: readonly number[];
  /** Seconds each idle count is left idle before its RSS is read (at least 3). */
  readonly idleSettleSeconds: number;
  /** Skip the Deno-TLS baseline. */
  readonly noBaseline: boolean;
  /** Print the server's log lines. */
  readonly verbose: boolean;
  /** Phases to run (default all): rsa, records, disk, handshakes, relay, baseline, memory, idle. */
  readonly phases: ReadonlySet<Phase>;
  /** Run spawned ASL servers with --cpu-prof, writing profiles to this directory. */
  readonly cpuProfDir?: string;
  /** `--v8-flags=` value for spawned ASL servers (e.g. a heap cap for the stalled-reader probe). */
  readonly serverV8Flags?: string;
  /**
   * The suite every ASL client of the run offers (alone), and the spawned servers accept.
   * Handshakes are also measured with `AES_GCM`, side by side, when this is another suite.
   */
  readonly suite: Suite;
  /** Also run the relay phases against PostgreSQL (`--store`); absent: SQLite only. */
  readonly pgStore?: PgStoreTarget;
  /** Server nodes on the PostgreSQL store: the relay runs with 1 and, when above 1, with N. */
  readonly nodes: number;
  /** Show the help text and exit. */
  readonly help: boolean;
}

/** The help text. */
export const USAGE = `Usage: deno task load [flags]

  --quick              every phase briefly (~3 min; idle memory at 1 000 sessions only)
  --faults             robustness phases: stalled handshakes, hostile M3s, stalled reader
  --sealed             also a relay phase with every payload sealed end to end (seal + open
                       per message, lib/e2e), reported beside the plain relay
  --server HOST:PORT   attach to a running server instead of spawning one (needs --pki)
  --pki DIR            with --server: directory holding the server's ca.pem and ca.key
  --server-pid PID     with --server: read the server's CPU time and RSS from /proc/PID
  --json FILE          write the results as JSON (default: <out>/load-<time>.json)
  --out DIR            directory for results (default: bench/results)
  --pairs N            sender→recipient pairs (default 50)
  --seconds S          seconds per relay phase (default 15, quick 4)
  --handshake-seconds S  seconds per handshake phase (default 8, quick 3)
  --payload BYTES      payload bytes before base64 (default 75 = 100 characters)
  --idle N[,N...]      idle session counts (default 1000,10000; quick 1000)
  --idle-settle S      seconds idle before reading the RSS (default 30, quick 18;
                       V8 collects the handshakes' garbage once the server is idle)
  --suite NAME         the ASL suite of every phase: X25519_AES_GCM (default), AES_GCM or
                       AES_CBC; handshakes are also measured with AES_GCM, side by side
  --no-baseline        skip the Deno-TLS baseline
  --phases LIST        only these phases: rsa,records,disk,handshakes,relay,baseline,memory,idle
  --cpu-prof DIR       run the spawned ASL servers with deno --cpu-prof into DIR
  --server-v8-flags F  run the spawned ASL servers with deno --v8-flags=F
                       (e.g. --max-old-space-size=64 to show what a phase retains)
  --store URL          also run the relay phases on PostgreSQL, with one server node and
                       with --nodes nodes sharing the database: postgres://USER@HOST:PORT/DB
                       (the password from --store-password-file or PGPASSWORD, never in
                       the URL), or "pg" for a throwaway cluster started with
                       tools/pg/cluster.sh (PostgreSQL installed here) and always stopped
  --store-password-file F  with --store URL: the PostgreSQL password is F's first line
  --nodes N            with --store: server nodes of the cluster run (default 2, 1-${MAX_NODES});
                       pairs cross nodes (sender on one node, recipient on another)
  --verbose            show the server's log
  --help               this text`;

function positiveInt(name: string, text: string | undefined, fallback: number, max: number) {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name} needs a whole number, got "${text}"`);
  const value = Number(text);
  if (value < 1 || value > max) {
    throw new UsageError(`--${name} must be between 1 and ${max}, got ${value}`);
  }
  return value;
}

function positiveSeconds(name: string, text: string | undefined, fallback: number) {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(value > 0) || value > 3600) {
    throw new UsageError(`--${name} needs seconds between 0 and 3600, got "${text}"`);
  }
  return value;
}

/** Parses `HOST:PORT` (IPv6 in brackets) into a hostname and a port. */
export function parseHostPort(text: string): { hostname: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (match === null || !(port >= 1 && port <= 65_535)) {
    throw new UsageError(`--server needs HOST:PORT, got "${text}"`);
  }
  const host = match[1] as string;
  return { hostname: host.startsWith("[") ? host.slice(1, -1) : host, port };
}

/**
 * Parses the load tool's argv. Throws UsageError for unknown flags, stray arguments or
 * bad values.
 *
 * @example
 * ```ts
 * import { parseLoadArgs } from "./args.ts";
 * parseLoadArgs(["--quick", "--pairs", "10"]).pairs; // 10
 * ```
 */
export function parseLoadArgs(argv: readonly string[]): LoadOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: "boolean", default: false },
        faults: { type: "boolean", default: false },
        server: { type: "string" },
        pki: { type: "string" },
        "server-pid": { type: "string" },
        json: { type: "string" },
        out: { type: "string", default: "bench/results" },
        pairs: { type: "string" },
        seconds: { type: "string" },
        "handshake-seconds": { type: "string" },
        payload: { type: "string" },
        idle: { type: "string" },
        "idle-settle": { type: "string" },
        suite: { type: "string" },
        "no-baseline": { type: "boolean", default: false },
        sealed: { type: "boolean", default: false },
        "cpu-prof": { type: "string" },
        "server-v8-flags": { type: "string" },
        phases: { type: "string" },
        store: { type: "string" },
        "store-password-file": { type: "string" },
        nodes: { type: "string" },
        verbose: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    throw new UsageError(
      err instanceof Error ? err.message.split("\n")[0] ?? "bad flags" : "bad flags",
    );
  }
  const v = parsed.values;
  const quick = v.quick === true;
  const server: ServerTarget = v.server === undefined
    ? { kind: "spawn" }
    : { kind: "attach", ...parseHostPort(v.server) };
  if (server.kind === "attach" && v.pki === undefined) {
    throw new UsageError(
      "--server needs --pki DIR (the CA the server trusts, to issue test users)",
    );
  }
  if (server.kind === "spawn" && (v.pki !== undefined || v["server-pid"] !== undefined)) {
    throw new UsageError("--pki and --server-pid only make sense with --server HOST:PORT");
  }
  let idleCounts: number[] = quick ? [1000] : [1000, 10_000];
  if (v.idle !== undefined) {
    idleCounts = v.idle.split(",").map((part) => positiveInt("idle", part, 0, 15_000));
  }
  let phases = new Set<Phase>(PHASES);
  if (v.phases !== undefined) {
    phases = new Set();
    for (const name of v.phases.split(",")) {
      if (!(PHASES as readonly string[]).includes(name)) {
        throw new UsageError(`--phases: unknown phase "${name}" (known: ${PHASES.join(",")})`);
      }
      phases.add(name as Phase);
    }
  }
  let suite = DEFAULT_LOAD_SUITE;
  if (v.suite !== undefined) {
    const list = parseSuiteList(v.suite);
    if (typeof list === "string") throw new UsageError(`--suite: ${list}`);
    if (list.length !== 1 || list[0] === undefined) {
      throw new UsageError(`--suite takes one suite name, got "${v.suite}"`);
    }
    suite = list[0];
  }
  const pgStore = parsePgStore(v.store, v["store-password-file"]);
  if (pgStore === undefined && v.nodes !== undefined) {
    throw new UsageError("--nodes only makes sense with --store");
  }
  if (pgStore !== undefined && !phases.has("relay")) {
    throw new UsageError(
      "--store runs the relay phases on PostgreSQL: --phases must include relay",
    );
  }
  if (pgStore !== undefined && server.kind === "attach") {
    throw new UsageError("--store needs spawned servers: it cannot be used with --server");
  }
  const options: LoadOptions = {
    phases,
    suite,
    quick,
    faults: v.faults === true,
    sealed: v.sealed === true,
    server,
    outDir: v.out ?? "bench/results",
    pairs: positiveInt("pairs", v.pairs, 50, 500),
    relaySeconds: positiveSeconds("seconds", v.seconds, quick ? 4 : 15),
    handshakeSeconds: positiveSeconds("handshake-seconds", v["handshake-seconds"], quick ? 3 : 8),
    payloadBytes: positiveInt("payload", v.payload, 75, 8_000),
    idleCounts,
    idleSettleSeconds: positiveSeconds("idle-settle", v["idle-settle"], quick ? 18 : 30),
    noBaseline: v["no-baseline"] === true,
    verbose: v.verbose === true,
    help: v.help === true,
    nodes: positiveInt("nodes", v.nodes, 2, MAX_NODES),
    ...(pgStore !== undefined ? { pgStore } : {}),
    ...(v.pki !== undefined ? { pkiDir: v.pki } : {}),
    ...(v["server-pid"] !== undefined
      ? { serverPid: positiveInt("server-pid", v["server-pid"], 0, 2 ** 22) }
      : {}),
    ...(v.json !== undefined ? { jsonPath: v.json } : {}),
    ...(v["cpu-prof"] !== undefined ? { cpuProfDir: v["cpu-prof"] } : {}),
    ...(v["server-v8-flags"] !== undefined ? { serverV8Flags: v["server-v8-flags"] } : {}),
  };
  return options;
}

/** Parses `--store` and `--store-password-file` into a PostgreSQL target, or undefined. */
function parsePgStore(
  store: string | undefined,
  passwordFile: string | undefined,
): PgStoreTarget | undefined {
  if (store === undefined) {
    if (passwordFile !== undefined) {
      throw new UsageError("--store-password-file only makes sense with --store URL");
    }
    return undefined;
  }
  if (THROWAWAY_STORE_NAMES.includes(store)) {
    if (passwordFile !== undefined) {
      throw new UsageError(
        `--store-password-file does not apply to --store ${store} (the throwaway cluster has its own)`,
      );
    }
    return { kind: "throwaway" };
  }
  const where = parseStoreUrl(store);
  if (typeof where === "string") throw new UsageError(`--store: ${where}`);
  if (where.kind !== "postgres") {
    throw new UsageError(
      "--store takes postgres://USER@HOST:PORT/DB or pg (the SQLite relay always runs)",
    );
  }
  if (passwordFile === "") throw new UsageError("--store-password-file needs a file name");
  return {
    kind: "url",
    location: where,
    ...(passwordFile !== undefined ? { passwordFile } : {}),
  };
}
