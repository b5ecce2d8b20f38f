// The human-readable summary of a load-tool run (issue #6, #12): a plain-text table for
// stdout, handshakes with the run's suite next to AES_GCM's, NetSec-MSG's relay next to the
// Deno-TLS baseline, then the targets. Pure: results in, text out.

import {
  type LoadResults,
  type PgRelayFigure,
  RELAY_SERIES,
  relayKey,
  sameNodeKey,
  times,
  totalCpuUsPerMsg,
  workloads,
} from "./results.ts";
import { type Measured, ratio, round } from "./stats.ts";

/** A table cell: a figure (rounded, "-" when not measured) or text. */
type Cell = Measured | string;

const us = (ms: number | undefined) => ms === undefined ? undefined : ms * 1000;
const vs = (f: PgRelayFigure | undefined, base: PgRelayFigure | undefined) =>
  times(ratio(f?.msgs_per_s, base?.msgs_per_s), 2, "-");

/**
 * A blank line, the title, then the table: labels left, figures right-aligned and rounded to
 * `digits[column]` decimals. No lines at all for no rows, unless `always`.
 */
function section(
  title: string,
  header: readonly string[],
  digits: readonly number[],
  rows: readonly (readonly Cell[])[],
  always = false,
): string[] {
  if (rows.length === 0 && !always) return [];
  const text = rows.map((r) =>
    r.map((v, i) => {
      if (typeof v === "string") return v;
      const ok = v !== null && v !== undefined && Number.isFinite(v);
      return ok ? round(v, digits[i] ?? 0).toLocaleString("en-US") : "-";
    })
  );
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? "").length)));
  const line = (r: readonly string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ")
      .trimEnd();
  return ["", title, line(header), widths.map((w) => "-".repeat(w)).join("  "), ...text.map(line)];
}

/** Formats the results as the table the tool prints at the end of a run. */
export function formatReport(results: LoadResults): string {
  const { meta, asl } = results;
  const handshakes: Cell[][] = [];
  const suites = [[asl.suite, asl.handshakes, asl.handshake_bound_per_server_cpu_s] as const];
  if (asl.suite !== "AES_GCM") {
    suites.push(["AES_GCM", results.asl_rsa.handshakes, asl.rsa_bound_handshakes_per_server_cpu_s]);
  }
  for (const [suite, figures, bound] of suites) {
    for (const [k, h] of Object.entries(figures)) {
      const label = `${suite} ${k} connector${k === "1" ? "" : "s"}`;
      handshakes.push([label, h.per_s, h.per_server_cpu_s, h.p50_ms, h.p99_ms]);
    }
    handshakes.push([`${suite} bound`, null, bound, null, null]);
  }
  const keys = workloads(results, RELAY_SERIES.filter((s) => s.always));
  const relay: Cell[][] = [];
  const cpu: Cell[][] = [];
  for (const key of keys) {
    const base = results.baseline_tls.relay[key];
    for (const s of RELAY_SERIES) {
      const f = s.figures(results)?.[key];
      if (f === undefined && !s.always) continue;
      const label = s.label(key);
      relay.push([label, f?.msgs_per_s, f?.p50_ms, f?.p99_ms, f?.max_ms, f?.errors, vs(f, base)]);
      const [server, clients] = [f?.server_cpu_ms_per_msg, f?.client_cpu_ms_per_msg];
      if (s.cpu && (server !== undefined || clients !== undefined)) {
        cpu.push([label, us(server), us(clients), totalCpuUsPerMsg(f)]);
      }
    }
  }
  const disk = asl.commit_latency;
  if (disk !== undefined) {
    relay.push(["disk commit", null, disk.p50_ms, disk.p99_ms, disk.max_ms, null, null]);
  }
  if (asl.record_layer_cpu_us_per_msg !== undefined) {
    cpu.push(["ASL record layer alone", null, null, asl.record_layer_cpu_us_per_msg]);
  }
  const idle = Object.entries(asl.idle_rss_kib).map(([n, kib]) => {
    const early = asl.idle_kib_per_session_early?.[n];
    return [n, kib / 1024, asl.idle_kib_per_session[n], early];
  });
  const faults = Object.entries(results.faults ?? {});
  return [
    `NetSec-MSG load run ${meta.date}${
      meta.quick ? " (quick)" : ""
    } — suite ${asl.suite} — ${meta.nproc} CPU ${meta.cpu_model}, Deno ${meta.deno}`,
    ...section(
      "ASL handshakes (bound: the server's public-key work alone, WebCrypto, 8 in flight)",
      ["", "per s", "per server CPU-s", "p50 ms", "p99 ms"],
      [0, 0, 0, 1, 1],
      handshakes,
    ),
    ...section(
      "Relay (pairs x in-flight; latency = send until recipient ack and sender OK)",
      ["", "msgs/s", "p50 ms", "p99 ms", "max ms", "errors", "vs TLS"],
      [0, 0, 2, 2, 1],
      relay,
      true,
    ),
    ...section(
      "CPU per message, µs (both share the machine's cores; record layer alone: 4 records)",
      ["", "server", "clients", "all"],
      [0, 1, 1, 1],
      cpu,
    ),
    ...section(
      `Idle sessions (RSS after ${asl.idle_settle_s ?? "?"} s idle)`,
      ["sessions", "server RSS MiB", "KiB/session", "KiB/session after 3 s"],
      [0, 1, 1, 1],
      idle,
    ),
    ...postgresSection(results),
    ...(results.faults === undefined
      ? []
      : ["", "Faults", ...faults.map(([name, value]) => `  ${name}: ${JSON.stringify(value)}`)]),
    ...section(
      "Targets",
      ["", "target", "measured", "met"],
      [],
      results.targets.map((t) => [
        t.name,
        t.target,
        t.measured,
        t.met === null ? "n/a" : t.met ? "yes" : "NO",
      ]),
      true,
    ),
    ...meta.notes.map((note) => `note: ${note}`),
  ].join("\n") + "\n";
}

/** The PostgreSQL relay rows beside SQLite's of the same run (empty without `--store`). */
function postgresSection(results: LoadResults): string[] {
  const pg = results.postgres;
  if (pg === undefined) return [];
  const pairs = results.meta.pairs;
  const many = pg.nodes > 1 ? pg[`nodes${pg.nodes}`] : undefined;
  const rows: Cell[][] = [];
  for (const w of [20, 1]) {
    const key = relayKey(pairs, w);
    const sqlite = results.asl.relay[key];
    const figures: [string, PgRelayFigure | undefined][] = [
      [`SQLite ${key}`, sqlite],
      [`PG 1 node ${key}`, pg.nodes1?.[key]],
    ];
    if (pg.nodes > 1) {
      figures.push(
        [`PG ${pg.nodes} nodes ${key} cross-node`, many?.[key]],
        [`PG ${pg.nodes} nodes ${key} same-node`, many?.[sameNodeKey(pairs, w)]],
      );
    }
    for (const [label, f] of figures) {
      if (f === undefined) continue;
      rows.push([
        label,
        f.msgs_per_s,
        f.p50_ms,
        f.p99_ms,
        f.errors,
        vs(f, sqlite),
        us(f.server_cpu_ms_per_msg),
        f.db_cpu_us_per_msg,
      ]);
    }
  }
  return section(
    `PostgreSQL store (${pg.store}${pg.throwaway ? ", throwaway cluster" : ""}${
      pg.server_version !== undefined ? `, PostgreSQL ${pg.server_version}` : ""
    }); CPU µs per message: server = all nodes, db = the postmaster's children`,
    ["", "msgs/s", "p50 ms", "p99 ms", "errors", "vs SQLite", "server µs", "db µs"],
    [0, 0, 2, 2, 0, 0, 1, 1],
    rows,
    true,
  );
}
