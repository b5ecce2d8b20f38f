// The result record of one load-tool run (issue #6, #12) and its JSON form: the fields other
// tooling reads (`asl.relay["50x20"].msgs_per_s`, …), the run's suite and the AES_GCM
// handshakes beside it (`asl_rsa`), the baseline ratios and the targets.
// Pure: builds and checks values, no I/O.

import type { Suite } from "../../lib/asl/types.ts";
import type { CommitLatency } from "./disk_commit.ts";
import { ratio, round } from "./stats.ts";

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

function fmt(value: number | null | undefined, digits = 0): string {
  return value === null || value === undefined ? "n/a" : round(value, digits).toString();
}

/** A relay's whole CPU µs per message (server + clients), when both were measured. */
export function totalCpuUsPerMsg(figure: RelayFigure | undefined): number | undefined {
  const server = figure?.server_cpu_ms_per_msg;
  const clients = figure?.client_cpu_ms_per_msg;
  return server === undefined || clients === undefined ? undefined : (server + clients) * 1000;
}

/** Handshakes per server CPU-s of the run's suite against AES_GCM's: at least this. */
export const HANDSHAKE_GAIN_TARGET = 1.7;
/** Handshakes per server CPU-s against the suite's own bound: at least this. */
export const HANDSHAKE_BOUND_TARGET = 0.9;
/** Relay 50×1 p99 against the TLS baseline's p99 in the same run: at most this. */
export const RELAY_P99_TARGET = 2;

const pct = (r: number | null) => r === null ? "n/a" : `${fmt(r * 100, 1)} %`;
const times = (r: number | null, digits = 2) => r === null ? "n/a" : `${fmt(r, digits)}x`;

/**
 * Fills `ratios` (ASL ÷ AES_GCM, ÷ bound, ÷ baseline) and `targets` (the issue's targets)
 * from the figures.
 */
export function evaluate(results: LoadResults): LoadResults {
  const { asl, asl_rsa: rsa, baseline_tls: tls } = results;
  const w20 = relayKey(results.meta.pairs, 20);
  const baseCpu20 = totalCpuUsPerMsg(tls.relay[w20]);
  const w1 = relayKey(results.meta.pairs, 1);
  const hs = asl.handshakes_per_server_cpu_s ?? undefined;
  results.ratios = {
    [`relay_${w20}_msgs_per_s`]: ratio(asl.relay[w20]?.msgs_per_s, tls.relay[w20]?.msgs_per_s),
    [`relay_${w1}_msgs_per_s`]: ratio(asl.relay[w1]?.msgs_per_s, tls.relay[w1]?.msgs_per_s),
    [`relay_${w20}_p99`]: ratio(asl.relay[w20]?.p99_ms, tls.relay[w20]?.p99_ms),
    [`relay_${w1}_p99`]: ratio(asl.relay[w1]?.p99_ms, tls.relay[w1]?.p99_ms),
    [`relay_memory_store_${w20}_msgs_per_s`]: ratio(
      asl.relay_memory_store[w20]?.msgs_per_s,
      tls.relay[w20]?.msgs_per_s,
    ),
    [`record_layer_vs_baseline_cpu_${w20}`]: ratio(
      asl.record_layer_cpu_us_per_msg,
      baseCpu20,
    ),
    handshakes_vs_bound: ratio(hs, asl.handshake_bound_per_server_cpu_s ?? undefined),
    handshakes_vs_aes_gcm: ratio(hs, rsa.handshakes_per_server_cpu_s ?? undefined),
    // AES_GCM's handshakes against its own (the RSA) bound.
    handshakes_vs_rsa_bound: ratio(
      rsa.handshakes_per_server_cpu_s ?? undefined,
      asl.rsa_bound_handshakes_per_server_cpu_s ?? undefined,
    ),
  };
  const gain = asl.suite === "AES_GCM" ? null : results.ratios.handshakes_vs_aes_gcm ?? null;
  const ofBound = results.ratios.handshakes_vs_bound ?? null;
  const idle10k = asl.idle_kib_per_session["10000"];
  const relay20 = asl.relay[w20];
  const base20 = tls.relay[w20];
  const r20 = results.ratios[`relay_${w20}_msgs_per_s`] ?? null;
  const relay1 = asl.relay[w1];
  const base1 = tls.relay[w1];
  const p99 = results.ratios[`relay_${w1}_p99`] ?? null;
  results.targets = [
    {
      name: "handshakes/server-CPU-s vs AES_GCM",
      target: `${asl.suite} >= ${HANDSHAKE_GAIN_TARGET}x AES_GCM (same run)`,
      measured: asl.suite === "AES_GCM"
        ? "n/a (the run's suite is AES_GCM)"
        : `${fmt(asl.handshakes_per_server_cpu_s)} vs ${fmt(rsa.handshakes_per_server_cpu_s)} = ${
          times(gain, 3)
        }`,
      met: gain === null ? null : gain >= HANDSHAKE_GAIN_TARGET,
    },
    {
      name: "handshakes/server-CPU-s vs bound",
      target: `>= ${HANDSHAKE_BOUND_TARGET * 100} % of the ${asl.suite} bound`,
      measured: `${fmt(asl.handshakes_per_server_cpu_s)} / ${
        fmt(asl.handshake_bound_per_server_cpu_s)
      } = ${pct(ofBound)}`,
      met: ofBound === null ? null : ofBound >= HANDSHAKE_BOUND_TARGET,
    },
    {
      name: `relay ${w20} msgs/s`,
      target: ">= 1.0x Deno-TLS baseline (same run)",
      measured: `${fmt(relay20?.msgs_per_s)} vs ${fmt(base20?.msgs_per_s)} = ${times(r20)}${
        asl.record_layer_cpu_us_per_msg === undefined || baseCpu20 === undefined
          ? ""
          : ` (ASL records alone ${fmt(asl.record_layer_cpu_us_per_msg)} µs CPU/msg, baseline ${
            fmt(baseCpu20)
          } in all)`
      }`,
      met: relay20 === undefined || base20 === undefined
        ? null
        : relay20.msgs_per_s >= base20.msgs_per_s,
    },
    {
      name: `relay ${w1} p99`,
      target: `<= ${RELAY_P99_TARGET}x the baseline's p99 (same run)`,
      measured: `${fmt(relay1?.p99_ms, 2)} ms vs ${fmt(base1?.p99_ms, 2)} ms = ${times(p99)}${
        asl.commit_latency === undefined
          ? ""
          : ` (one disk commit: p99 ${fmt(asl.commit_latency.p99_ms, 2)} ms)`
      }`,
      met: relay1 === undefined || base1 === undefined
        ? null
        : relay1.p99_ms <= RELAY_P99_TARGET * base1.p99_ms,
    },
    {
      name: "idle RSS per session @10 000",
      target: "<= 20 KiB",
      measured: idle10k === undefined ? "n/a (not run)" : `${fmt(idle10k, 1)} KiB`,
      met: idle10k === undefined ? null : idle10k <= 20,
    },
  ];
  return results;
}

/** The JSON text of a result record (stable key order, 2-space indent, trailing newline). */
export function toJson(results: LoadResults): string {
  return JSON.stringify(results, null, 2) + "\n";
}
