// Command-line flags of the load tool (issue #6, `deno task load`): parsed with node:util
// parseArgs in strict mode into a typed LoadOptions. Pure: argv in, options or UsageError out.

import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
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
  | { readonly kind: "url"; readonly location: PostgresLocation; readonly passwordFile?: string }
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

/**
 * Everything one run of the load tool needs to know. Most fields are one flag each, and
 * USAGE says what it does and its default; the comments here say what USAGE does not.
 */
export interface LoadOptions {
  readonly quick: boolean;
  readonly faults: boolean;
  /** Also the relay with sealed payloads (end to end, spec section 7), beside the plain one. */
  readonly sealed: boolean;
  readonly server: ServerTarget;
  /** With `attach`: the PKI directory (ca.pem, ca.key) the server trusts; users are issued there. */
  readonly pkiDir?: string;
  /** With `attach`: the server's pid, so its CPU time and RSS can be read from /proc. */
  readonly serverPid?: number;
  readonly jsonPath?: string;
  readonly outDir: string;
  readonly pairs: number;
  readonly relaySeconds: number;
  readonly handshakeSeconds: number;
  /** Payload size in bytes before base64 (75 bytes make a 100-character payload). */
  readonly payloadBytes: number;
  /** Idle-session counts to measure the server's RSS at (0 is always measured). */
  readonly idleCounts: readonly number[];
  readonly idleSettleSeconds: number;
  readonly noBaseline: boolean;
  readonly verbose: boolean;
  readonly phases: ReadonlySet<Phase>;
  readonly cpuProfDir?: string;
  readonly serverV8Flags?: string;
  /** Every ASL client offers this suite alone; handshakes are also measured with AES_GCM. */
  readonly suite: Suite;
  /** Also the relay phases on PostgreSQL; absent: SQLite only. */
  readonly pgStore?: PgStoreTarget;
  /** Server nodes on the PostgreSQL store: the relay runs with 1 and, when above 1, with N. */
  readonly nodes: number;
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

/**
 * The number flags, in the order they are checked: flag, LoadOptions field, the largest
 * value (0: seconds, a decimal above 0 and at most 3600), the default, the --quick default.
 */
const NUMBER_FLAGS = [
  ["pairs", "pairs", 500, 50, 50],
  ["seconds", "relaySeconds", 0, 15, 4],
  ["handshake-seconds", "handshakeSeconds", 0, 8, 3],
  ["payload", "payloadBytes", 8_000, 75, 75],
  ["idle-settle", "idleSettleSeconds", 0, 30, 18],
  ["nodes", "nodes", MAX_NODES, 2, 2],
  ["server-pid", "serverPid", 2 ** 22, undefined, undefined],
] as const;
type NumberField = typeof NUMBER_FLAGS[number][1];

const BOOLEAN_FLAGS = ["quick", "faults", "sealed", "no-baseline", "verbose", "help"] as const;
const STRING_FLAGS = [
  ...["server", "pki", "json", "out", "idle", "suite", "phases", "cpu-prof", "server-v8-flags"],
  ...["store", "store-password-file", ...NUMBER_FLAGS.map(([flag]) => flag)],
] as const;
type Flags = Partial<
  Record<typeof BOOLEAN_FLAGS[number], boolean> & Record<typeof STRING_FLAGS[number], string>
>;

function wholeNumber(flag: string, text: string, max: number): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`--${flag} needs a whole number, got "${text}"`);
  const value = Number(text);
  if (value < 1 || value > max) {
    throw new UsageError(`--${flag} must be between 1 and ${max}, got ${value}`);
  }
  return value;
}

function seconds(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(value > 0) || value > 3600) {
    throw new UsageError(`--${flag} needs seconds between 0 and 3600, got "${text}"`);
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
  const options: ParseArgsOptionsConfig = { help: { type: "boolean", short: "h" } };
  for (const flag of BOOLEAN_FLAGS) options[flag] ??= { type: "boolean" };
  for (const flag of STRING_FLAGS) options[flag] = { type: "string" };
  let v: Flags;
  try {
    // Strict parsing guarantees each value's type, as Flags declares it.
    v = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options })
      .values as Flags;
  } catch (err) {
    throw new UsageError(
      err instanceof Error ? err.message.split("\n")[0] ?? "bad flags" : "bad flags",
    );
  }
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
  const idleCounts = v.idle?.split(",").map((part) => wholeNumber("idle", part, 15_000)) ??
    (quick ? [1000] : [1000, 10_000]);
  const phases = new Set<Phase>(PHASES);
  if (v.phases !== undefined) {
    phases.clear();
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
  const pgStore = parsePgStore(v);
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
  const numbers: Partial<Record<NumberField, number>> = {};
  for (const [flag, field, max, full, quickValue] of NUMBER_FLAGS) {
    const text = v[flag];
    const value = text === undefined
      ? (quick ? quickValue : full)
      : max > 0
      ? wholeNumber(flag, text, max)
      : seconds(flag, text);
    if (value !== undefined) numbers[field] = value;
  }
  return {
    phases,
    suite,
    quick,
    server,
    idleCounts,
    faults: v.faults === true,
    sealed: v.sealed === true,
    outDir: v.out ?? "bench/results",
    noBaseline: v["no-baseline"] === true,
    verbose: v.verbose === true,
    help: v.help === true,
    ...(numbers as Pick<LoadOptions, NumberField>),
    ...(pgStore !== undefined ? { pgStore } : {}),
    ...(v.pki !== undefined ? { pkiDir: v.pki } : {}),
    ...(v.json !== undefined ? { jsonPath: v.json } : {}),
    ...(v["cpu-prof"] !== undefined ? { cpuProfDir: v["cpu-prof"] } : {}),
    ...(v["server-v8-flags"] !== undefined ? { serverV8Flags: v["server-v8-flags"] } : {}),
  };
}

/** Parses `--store` and `--store-password-file` into a PostgreSQL target, or undefined. */
function parsePgStore(
  { store, "store-password-file": passwordFile }: Flags,
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
