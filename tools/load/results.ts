// The result record of one load-tool run (issue #6, #12) and its JSON form: the fields other
// tooling reads (`asl.relay["50x20"].msgs_per_s`, …), the run's suite and the AES_GCM
// handshakes beside it (`asl_rsa`), the baseline ratios and the targets.
// Pure: builds and checks values, no I/O.

import type { Suite } from "../../lib/asl/types.ts";
import type { CommitLatency } from "./disk_commit.ts";
import { type Measured, ratio, round } from "./stats.ts";

/** One relay measurement (the shape `asl.relay[...]` and `baseline_tls.relay[...]` share). */
export interface RelayFigure {
  /** Completed messages per second (recipient acknowledged and sender has its OK). */
  readonly msgs_per_s: number;
  /** End-to-end latency, median, ms. */
  readonly p50_ms: number;
  /** End-to-end latency, 99th percentile, ms. */
  readonly p99_ms: number;
  /** Largest latency seen, ms. */
  readonly max_ms: number;
  /** Messages completed in the measured window. */
  readonly messages: number;
  /** Replies other than OK, and sessions that failed. */
  readonly errors: number;
  /** Length of the measured window, s. */
  readonly seconds: number;
  /** Median ms from the send to the sender's `OK` (the durable commit). */
  readonly ok_p50_ms?: number;
  /** Median ms from the send to the recipient holding the delivery. */
  readonly delivery_p50_ms?: number;
  /** The server process's CPU milliseconds per message, when its pid is known. */
  readonly server_cpu_ms_per_msg?: number;
  /** The load tool's own CPU milliseconds per message (its clients share the 2 cores). */
  readonly client_cpu_ms_per_msg?: number;
}

/** One relay measurement on the PostgreSQL store (`postgres.nodes<N>[...]`). */
export interface PgRelayFigure extends RelayFigure {
  /**
   * CPU µs per message of the PostgreSQL server processes (utime + stime of the children of
   * the cluster's postmaster, from /proc), when the database runs on this machine.
   */
  readonly db_cpu_us_per_msg?: number;
}

/**
 * The relay on PostgreSQL (`--store`), beside the SQLite figures of the same run. `nodes1`:
 * one server node; `nodes<N>` (N = `nodes` > 1): N nodes on the same database, every pair
 * crossing nodes (`<pairs>x20`, `<pairs>x1`), and `<pairs>x1_same_node` with each pair on one
 * node. `server_cpu_ms_per_msg` is the nodes' CPU together.
 */
export interface PostgresResults {
  /** The database, printable (never a password): postgres://USER@HOST:PORT/DB. */
  store: string;
  /** A throwaway cluster the tool started (tools/pg/cluster.sh), or a given database. */
  throwaway: boolean;
  /** PostgreSQL's `server_version`, when the tool could ask. */
  server_version?: string;
  /** Server nodes of the cluster run (`--nodes`). */
  nodes: number;
  /** The relay figures with one node, and with `nodes` nodes. */
  [nodes: `nodes${number}`]: Record<string, PgRelayFigure> | undefined;
  /** p50 of the 50x1 relay with every pair crossing nodes, ms (key names the workload). */
  [cross: `cross_node_${string}_p50_ms`]: number | null;
  /** p50 of the 50x1 relay with every pair on one node, in the same N-node cluster, ms. */
  [same: `same_node_${string}_p50_ms`]: number | null;
  /** The database's CPU µs per message of the one-node 50x20 relay. */
  db_cpu_us_per_msg: number | null;
}

/** Handshakes with a given number of concurrent connectors. */
export interface HandshakeFigure {
  /** Full handshakes per wall-clock second. */
  readonly per_s: number;
  /** Handshakes completed. */
  readonly count: number;
  /** Handshakes per second of server CPU time, when the server pid is known. */
  readonly per_server_cpu_s: number | null;
  /** Handshake latency p50/p99 in ms. */
  readonly p50_ms: number;
  readonly p99_ms: number;
}

/** Outcome of one target of the issue. */
export interface TargetCheck {
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  /** `null` when the run could not measure it. */
  readonly met: boolean | null;
}

/** Everything one run measured; absent parts were not run. */
export interface LoadResults {
  meta: {
    date: string;
    nproc: number;
    cpu_model: string;
    kernel: string;
    deno: string;
    quick: boolean;
    pairs: number;
    payload_chars: number;
    relay_seconds: number;
    server: string;
    notes: string[];
  };
  asl: {
    /** The suite of every ASL phase (`--suite`, default X25519_AES_GCM). */
    suite: Suite;
    /** Handshakes with `suite`, by number of concurrent connectors. */
    handshakes: Record<string, HandshakeFigure>;
    /** Handshakes with `suite` per server CPU-second (the 8-connector figure). */
    handshakes_per_server_cpu_s: number | null;
    /** The bound of `suite`: its server-side public-key work per CPU-second (rsa_bound.ts). */
    handshake_bound_per_server_cpu_s: number | null;
    /** The bound of AES_GCM (RSA key transport): its five RSA operations per CPU-second. */
    rsa_bound_handshakes_per_server_cpu_s: number | null;
    relay: Record<string, RelayFigure>;
    relay_memory_store: Record<string, RelayFigure>;
    /** The relay with every payload sealed end to end (`--sealed`, tools/load/sealed.ts). */
    relay_sealed?: Record<string, RelayFigure>;
    /**
     * CPU µs of ASL's record layer alone per relayed message (its four records sealed and
     * opened through lib/asl's Session over an in-memory pipe): a floor under the CPU any ASL
     * relay spends per message, set against the baseline's whole CPU per message.
     */
    record_layer_cpu_us_per_msg?: number;
    /** One-message durable commits on the database's disk (the floor under relay latency). */
    commit_latency?: CommitLatency;
    /** Server RSS once settled: read after the idle wait (see `idle_settle_s`). */
    idle_rss_kib: Record<string, number>;
    idle_kib_per_session: Record<string, number>;
    /** The same, read 3 s after the last REGISTER (before V8's idle-time collection). */
    idle_rss_kib_early?: Record<string, number>;
    idle_kib_per_session_early?: Record<string, number>;
    /** Seconds each idle count was left idle before the settled reading. */
    idle_settle_s?: number;
    /** RSS growth per session between two idle counts, e.g. `"1000-10000"`. */
    idle_marginal_kib_per_session: Record<string, number>;
  };
  /** Handshakes with AES_GCM (RSA key transport) in the same run, beside `asl`'s. */
  asl_rsa: {
    suite: "AES_GCM";
    handshakes: Record<string, HandshakeFigure>;
    handshakes_per_server_cpu_s: number | null;
  };
  baseline_tls: {
    relay: Record<string, RelayFigure>;
  };
  ratios: Record<string, number | null>;
  faults?: Record<string, unknown>;
  /** The relay on PostgreSQL with one and several nodes (`--store`), when run. */
  postgres?: PostgresResults;
  targets: TargetCheck[];
}

/** An empty result record for a run with the given metadata and ASL suite. */
export function emptyResults(
  meta: LoadResults["meta"],
  suite: Suite = "X25519_AES_GCM",
): LoadResults {
  return {
    meta,
    asl: {
      suite,
      handshakes: {},
      handshakes_per_server_cpu_s: null,
      handshake_bound_per_server_cpu_s: null,
      rsa_bound_handshakes_per_server_cpu_s: null,
      relay: {},
      relay_memory_store: {},
      idle_rss_kib: {},
      idle_kib_per_session: {},
      idle_marginal_kib_per_session: {},
    },
    asl_rsa: { suite: "AES_GCM", handshakes: {}, handshakes_per_server_cpu_s: null },
    baseline_tls: { relay: {} },
    ratios: {},
    targets: [],
  };
}

/** The relay key of a workload: `"<pairs>x<window>"`, e.g. `"50x20"`. */
export function relayKey(pairs: number, window: number): string {
  return `${pairs}x${window}`;
}

/** The key of the N-node relay with each pair on one node, e.g. `"50x1_same_node"`. */
export function sameNodeKey(pairs: number, window: number): string {
  return `${relayKey(pairs, window)}_same_node`;
}

/** One set of relay figures of a run, as the report's rows and the chart's bars show it. */
export interface RelaySeries {
  /** The report's row label for a workload key. */
  readonly label: (key: string) => string;
  readonly figures: (results: LoadResults) => Record<string, RelayFigure> | undefined;
  /** A report row for every workload of the run, measured or not (else measured ones only). */
  readonly always?: true;
  /** Listed in the report's CPU-per-message table. */
  readonly cpu?: true;
  /** Name and colour of its bars in the chart (absent: not charted). */
  readonly bar?: readonly [name: string, color: string];
}

/** Every relay series, in the order of the report's rows and the chart's bars. */
export const RELAY_SERIES: readonly RelaySeries[] = [
  {
    label: (key) => `ASL ${key}`,
    figures: (r) => r.asl.relay,
    always: true,
    cpu: true,
    bar: ["NetSec-MSG (SQLite)", "#2b6cb0"],
  },
  {
    label: (key) => `ASL ${key} mem-store`,
    figures: (r) => r.asl.relay_memory_store,
    bar: ["NetSec-MSG (memory store)", "#63b3ed"],
  },
  { label: (key) => `ASL ${key} sealed`, figures: (r) => r.asl.relay_sealed, cpu: true },
  {
    label: (key) => `TLS ${key}`,
    figures: (r) => r.baseline_tls.relay,
    always: true,
    cpu: true,
    bar: ["Deno TLS baseline", "#dd6b20"],
  },
];

/** The workload keys of the given series, in order of first appearance. */
export function workloads(results: LoadResults, series: readonly RelaySeries[]): string[] {
  return [...new Set(series.flatMap((s) => Object.keys(s.figures(results) ?? {})))];
}

/** A relay's whole CPU µs per message (server + clients), when both were measured. */
export function totalCpuUsPerMsg(figure: RelayFigure | undefined): number | undefined {
  const server = figure?.server_cpu_ms_per_msg;
  const clients = figure?.client_cpu_ms_per_msg;
  return server === undefined || clients === undefined ? undefined : (server + clients) * 1000;
}

/** Handshakes per server CPU-s of the run's suite against AES_GCM's: at least this. */
const HANDSHAKE_GAIN_TARGET = 1.7;
/** Handshakes per server CPU-s against the suite's own bound: at least this. */
const HANDSHAKE_BOUND_TARGET = 0.9;
/** Relay 50×1 p99 against the TLS baseline's p99 in the same run: at most this. */
const RELAY_P99_TARGET = 2;
/** PostgreSQL with one node against SQLite, 50x20 msgs/s in the same run: at least this. */
const PG_VS_SQLITE_TARGET = 0.6;
/** Cross-node 50x1 p50 against same-node p50 in the same cluster: at most this many ms more. */
const CROSS_NODE_P50_SLACK_MS = 3;

/** `value` rounded to `digits` decimals for a target's text, or `missing`. */
function fmt(value: Measured, digits = 0, missing = "n/a"): string {
  return value === null || value === undefined ? missing : round(value, digits).toString();
}

/** A ratio as `"1.03x"`, or `missing`. */
export function times(r: Measured, digits = 2, missing = "n/a"): string {
  return r === null || r === undefined ? missing : `${fmt(r, digits)}x`;
}

const pct = (r: Measured) => r === null || r === undefined ? "n/a" : `${fmt(r * 100, 1)} %`;

/** A target's verdict: `ok(a, b)`, or null when either figure was not measured. */
function met(a: Measured, b: Measured, ok: (a: number, b: number) => boolean): boolean | null {
  return a === null || a === undefined || b === null || b === undefined ? null : ok(a, b);
}

/**
 * Fills `ratios` (ASL ÷ AES_GCM, ÷ bound, ÷ baseline) and `targets` (the issue's targets)
 * from the figures.
 */
export function evaluate(results: LoadResults): LoadResults {
  const { asl, asl_rsa: rsa, baseline_tls: tls } = results;
  const w20 = relayKey(results.meta.pairs, 20);
  const w1 = relayKey(results.meta.pairs, 1);
  const [relay20, relay1] = [asl.relay[w20], asl.relay[w1]];
  const [base20, base1] = [tls.relay[w20], tls.relay[w1]];
  const baseCpu20 = totalCpuUsPerMsg(base20);
  const records = asl.record_layer_cpu_us_per_msg;
  const hs = asl.handshakes_per_server_cpu_s;
  const ratios = results.ratios = {
    [`relay_${w20}_msgs_per_s`]: ratio(relay20?.msgs_per_s, base20?.msgs_per_s),
    [`relay_${w1}_msgs_per_s`]: ratio(relay1?.msgs_per_s, base1?.msgs_per_s),
    [`relay_${w20}_p99`]: ratio(relay20?.p99_ms, base20?.p99_ms),
    [`relay_${w1}_p99`]: ratio(relay1?.p99_ms, base1?.p99_ms),
    [`relay_memory_store_${w20}_msgs_per_s`]: ratio(
      asl.relay_memory_store[w20]?.msgs_per_s,
      base20?.msgs_per_s,
    ),
    [`record_layer_vs_baseline_cpu_${w20}`]: ratio(records, baseCpu20),
    handshakes_vs_bound: ratio(hs, asl.handshake_bound_per_server_cpu_s),
    handshakes_vs_aes_gcm: ratio(hs, rsa.handshakes_per_server_cpu_s),
    // AES_GCM's handshakes against its own (the RSA) bound.
    handshakes_vs_rsa_bound: ratio(
      rsa.handshakes_per_server_cpu_s,
      asl.rsa_bound_handshakes_per_server_cpu_s,
    ),
  };
  const gain = asl.suite === "AES_GCM" ? null : ratios.handshakes_vs_aes_gcm;
  const idle10k = asl.idle_kib_per_session["10000"];
  results.targets = [
    {
      name: "handshakes/server-CPU-s vs AES_GCM",
      target: `${asl.suite} >= ${HANDSHAKE_GAIN_TARGET}x AES_GCM (same run)`,
      measured: asl.suite === "AES_GCM"
        ? "n/a (the run's suite is AES_GCM)"
        : `${fmt(hs)} vs ${fmt(rsa.handshakes_per_server_cpu_s)} = ${times(gain, 3)}`,
      met: met(gain, HANDSHAKE_GAIN_TARGET, (g, t) => g >= t),
    },
    {
      name: "handshakes/server-CPU-s vs bound",
      target: `>= ${HANDSHAKE_BOUND_TARGET * 100} % of the ${asl.suite} bound`,
      measured: `${fmt(hs)} / ${fmt(asl.handshake_bound_per_server_cpu_s)} = ${
        pct(ratios.handshakes_vs_bound)
      }`,
      met: met(ratios.handshakes_vs_bound, HANDSHAKE_BOUND_TARGET, (r, t) => r >= t),
    },
    {
      name: `relay ${w20} msgs/s`,
      target: ">= 1.0x Deno-TLS baseline (same run)",
      measured: `${fmt(relay20?.msgs_per_s)} vs ${fmt(base20?.msgs_per_s)} = ${
        times(ratios[`relay_${w20}_msgs_per_s`])
      }${
        records === undefined || baseCpu20 === undefined
          ? ""
          : ` (ASL records alone ${fmt(records)} µs CPU/msg, baseline ${fmt(baseCpu20)} in all)`
      }`,
      met: met(relay20?.msgs_per_s, base20?.msgs_per_s, (a, b) => a >= b),
    },
    {
      name: `relay ${w1} p99`,
      target: `<= ${RELAY_P99_TARGET}x the baseline's p99 (same run)`,
      measured: `${fmt(relay1?.p99_ms, 2)} ms vs ${fmt(base1?.p99_ms, 2)} ms = ${
        times(ratios[`relay_${w1}_p99`])
      }${
        asl.commit_latency === undefined
          ? ""
          : ` (one disk commit: p99 ${fmt(asl.commit_latency.p99_ms, 2)} ms)`
      }`,
      met: met(relay1?.p99_ms, base1?.p99_ms, (a, b) => a <= RELAY_P99_TARGET * b),
    },
    {
      name: "idle RSS per session @10 000",
      target: "<= 20 KiB",
      measured: idle10k === undefined ? "n/a (not run)" : `${fmt(idle10k, 1)} KiB`,
      met: met(idle10k, 20, (kib, max) => kib <= max),
    },
  ];
  if (results.postgres !== undefined) results.targets.push(...postgresTargets(results));
  return results;
}

/** Fills the PostgreSQL summary fields and ratios, and returns its three targets. */
function postgresTargets(results: LoadResults): TargetCheck[] {
  const pg = results.postgres as PostgresResults;
  const pairs = results.meta.pairs;
  const w20 = relayKey(pairs, 20);
  const w1 = relayKey(pairs, 1);
  const one = pg.nodes1;
  const many = pg.nodes > 1 ? pg[`nodes${pg.nodes}`] : undefined;
  const cross = pg[`cross_node_${w1}_p50_ms`] = many?.[w1]?.p50_ms ?? null;
  const same = pg[`same_node_${w1}_p50_ms`] = many?.[sameNodeKey(pairs, 1)]?.p50_ms ?? null;
  pg.db_cpu_us_per_msg = one?.[w20]?.db_cpu_us_per_msg ?? null;
  const sqlite20 = results.asl.relay[w20]?.msgs_per_s;
  const pg20 = one?.[w20]?.msgs_per_s;
  const multi = many?.[w20]?.msgs_per_s;
  const vsSqlite = ratio(pg20, sqlite20);
  const scale = ratio(multi, pg20);
  results.ratios[`postgres_nodes1_vs_sqlite_${w20}_msgs_per_s`] = vsSqlite;
  results.ratios[`postgres_nodes${pg.nodes}_vs_nodes1_${w20}_msgs_per_s`] = scale;
  return [
    {
      name: `PostgreSQL 1 node ${w20} msgs/s`,
      target: `>= ${PG_VS_SQLITE_TARGET * 100} % of SQLite's (same run)`,
      measured: `${fmt(pg20)} vs ${fmt(sqlite20)} = ${pct(vsSqlite)}`,
      met: met(vsSqlite, PG_VS_SQLITE_TARGET, (r, t) => r >= t),
    },
    {
      name: `PostgreSQL ${pg.nodes} nodes ${w20} msgs/s`,
      target: "no slower than 1 node (same run, pairs across nodes)",
      measured: pg.nodes < 2
        ? "n/a (--nodes 1)"
        : `${fmt(multi)} vs ${fmt(pg20)} = ${times(scale)}`,
      met: met(scale, 1, (r, t) => r >= t),
    },
    {
      name: `PostgreSQL cross-node ${w1} p50`,
      target: `<= same-node p50 + ${CROSS_NODE_P50_SLACK_MS} ms (${pg.nodes} nodes)`,
      measured: cross === null || same === null
        ? "n/a (needs --nodes 2 or more)"
        : `${fmt(cross, 2)} ms vs ${fmt(same, 2)} ms (+${fmt(cross - same, 2)} ms)`,
      met: met(cross, same, (c, s) => c <= s + CROSS_NODE_P50_SLACK_MS),
    },
  ];
}

/** The JSON text of a result record (stable key order, 2-space indent, trailing newline). */
export function toJson(results: LoadResults): string {
  return JSON.stringify(results, null, 2) + "\n";
}
