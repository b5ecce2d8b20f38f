// The human-readable summary of a load-tool run (issue #6, #12): a plain-text table for
// stdout, handshakes with the run's suite next to AES_GCM's, NetSec-MSG's relay next to the
// Deno-TLS baseline, then the targets. Pure: results in, text out.

import {
  type LoadResults,
  type PgRelayFigure,
  type RelayFigure,
  relayKey,
  sameNodeKey,
  totalCpuUsPerMsg,
} from "./results.ts";
import { round } from "./stats.ts";

function cell(value: number | null | undefined, digits = 0): string {
  return value === null || value === undefined || !Number.isFinite(value)
    ? "-"
    : round(value, digits).toLocaleString("en-US");
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: readonly string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)];
}

function relayRow(label: string, f: RelayFigure | undefined, base: RelayFigure | undefined) {
  const r = f !== undefined && base !== undefined && base.msgs_per_s > 0
    ? `${round(f.msgs_per_s / base.msgs_per_s, 2)}x`
    : "-";
  return [
    label,
    cell(f?.msgs_per_s),
    cell(f?.p50_ms, 2),
    cell(f?.p99_ms, 2),
    cell(f?.max_ms, 1),
    cell(f?.errors),
    r,
  ];
}

/**
 * Formats the results as the table the tool prints at the end of a run.
 *
 * @example
 * ```ts
 * import { formatReport } from "./report.ts";
 * import { emptyResults, evaluate } from "./results.ts";
 * const text = formatReport(evaluate(emptyResults({
 *   date: "2026-01-01T00:00:00Z", nproc: 2, cpu_model: "cpu", kernel: "6", deno: "2",
 *   quick: true, pairs: 50, payload_chars: 100, relay_seconds: 4, server: "spawn", notes: [],
 * })));
 * text.includes("relay"); // true
 * ```
 */
export function formatReport(results: LoadResults): string {
  const { meta, asl, baseline_tls: tls } = results;
  const out: string[] = [];
  out.push(
    `NetSec-MSG load run ${meta.date}${
      meta.quick ? " (quick)" : ""
    } — suite ${asl.suite} — ${meta.nproc} CPU ${meta.cpu_model}, Deno ${meta.deno}`,
    "",
  );
  const hsRows: string[][] = [];
  const hsBlock = (
    suite: string,
    figures: LoadResults["asl"]["handshakes"],
    bound: number | null,
  ) => {
    for (const [k, h] of Object.entries(figures)) {
      hsRows.push([
        `${suite} ${k} connector${k === "1" ? "" : "s"}`,
        cell(h.per_s),
        cell(h.per_server_cpu_s),
        cell(h.p50_ms, 1),
        cell(h.p99_ms, 1),
      ]);
    }
    hsRows.push([`${suite} bound`, "-", cell(bound), "-", "-"]);
  };
  hsBlock(asl.suite, asl.handshakes, asl.handshake_bound_per_server_cpu_s);
  if (asl.suite !== "AES_GCM") {
    hsBlock("AES_GCM", results.asl_rsa.handshakes, asl.rsa_bound_handshakes_per_server_cpu_s);
  }
  out.push(
    "ASL handshakes (bound: the server's public-key work alone, WebCrypto, 8 in flight)",
    ...table(["", "per s", "per server CPU-s", "p50 ms", "p99 ms"], hsRows),
  );
  out.push("");
  const keys = [...new Set([...Object.keys(asl.relay), ...Object.keys(tls.relay)])];
  const relayRows: string[][] = [];
  for (const key of keys) {
    relayRows.push(relayRow(`ASL ${key}`, asl.relay[key], tls.relay[key]));
    const mem = asl.relay_memory_store[key];
    if (mem !== undefined) relayRows.push(relayRow(`ASL ${key} mem-store`, mem, tls.relay[key]));
    const sealed = asl.relay_sealed?.[key];
    if (sealed !== undefined) relayRows.push(relayRow(`ASL ${key} sealed`, sealed, tls.relay[key]));
    relayRows.push(relayRow(`TLS ${key}`, tls.relay[key], tls.relay[key]));
  }
  const disk = asl.commit_latency;
  if (disk !== undefined) {
    relayRows.push([
      "disk commit",
      "-",
      cell(disk.p50_ms, 2),
      cell(disk.p99_ms, 2),
      cell(disk.max_ms, 1),
      "-",
      "-",
    ]);
  }
  out.push(
    "Relay (pairs x in-flight; latency = send until recipient ack and sender OK)",
    ...table(["", "msgs/s", "p50 ms", "p99 ms", "max ms", "errors", "vs TLS"], relayRows),
    "",
  );
  const cpuRows: string[][] = [];
  const cpuRow = (label: string, f: RelayFigure | undefined) => {
    const server = f?.server_cpu_ms_per_msg;
    const clients = f?.client_cpu_ms_per_msg;
    if (server === undefined && clients === undefined) return;
    cpuRows.push([
      label,
      cell(server === undefined ? undefined : server * 1000, 1),
      cell(clients === undefined ? undefined : clients * 1000, 1),
      cell(totalCpuUsPerMsg(f), 1),
    ]);
  };
  for (const key of keys) {
    cpuRow(`ASL ${key}`, asl.relay[key]);
    cpuRow(`ASL ${key} sealed`, asl.relay_sealed?.[key]);
    cpuRow(`TLS ${key}`, tls.relay[key]);
  }
  if (asl.record_layer_cpu_us_per_msg !== undefined) {
    cpuRows.push([
      "ASL record layer alone",
      "-",
      "-",
      cell(asl.record_layer_cpu_us_per_msg, 1),
    ]);
  }
  if (cpuRows.length > 0) {
    out.push(
      "CPU per message, µs (both share the machine's cores; record layer alone: 4 records)",
      ...table(["", "server", "clients", "all"], cpuRows),
      "",
    );
  }
  const idleRows = Object.entries(asl.idle_rss_kib).map(([n, kib]) => [
    n,
    cell(kib / 1024, 1),
    cell(asl.idle_kib_per_session[n], 1),
    cell(asl.idle_kib_per_session_early?.[n], 1),
  ]);
  if (idleRows.length > 0) {
    out.push(
      `Idle sessions (RSS after ${asl.idle_settle_s ?? "?"} s idle)`,
      ...table(
        ["sessions", "server RSS MiB", "KiB/session", "KiB/session after 3 s"],
        idleRows,
      ),
      "",
    );
  }
  out.push(...postgresSection(results));
  if (results.faults !== undefined) {
    out.push("Faults");
    for (const [name, value] of Object.entries(results.faults)) {
      out.push(`  ${name}: ${JSON.stringify(value)}`);
    }
    out.push("");
  }
  out.push(
    "Targets",
    ...table(
      ["", "target", "measured", "met"],
      results.targets.map((
        t,
      ) => [t.name, t.target, t.measured, t.met === null ? "n/a" : t.met ? "yes" : "NO"]),
    ),
  );
  for (const note of meta.notes) out.push(`note: ${note}`);
  return out.join("\n") + "\n";
}

/** The PostgreSQL relay rows beside SQLite's of the same run (empty without `--store`). */
function postgresSection(results: LoadResults): string[] {
  const pg = results.postgres;
  if (pg === undefined) return [];
  const pairs = results.meta.pairs;
  const rows: string[][] = [];
  const us = (ms: number | undefined) => cell(ms === undefined ? undefined : ms * 1000, 1);
  const row = (label: string, f: PgRelayFigure | RelayFigure | undefined, base?: RelayFigure) => {
    if (f === undefined) return;
    rows.push([
      label,
      cell(f.msgs_per_s),
      cell(f.p50_ms, 2),
      cell(f.p99_ms, 2),
      cell(f.errors),
      base !== undefined && base.msgs_per_s > 0
        ? `${round(f.msgs_per_s / base.msgs_per_s, 2)}x`
        : "-",
      us(f.server_cpu_ms_per_msg),
      cell("db_cpu_us_per_msg" in f ? f.db_cpu_us_per_msg : undefined, 1),
    ]);
  };
  for (const w of [20, 1]) {
    const key = relayKey(pairs, w);
    const sqlite = results.asl.relay[key];
    row(`SQLite ${key}`, sqlite, sqlite);
    row(`PG 1 node ${key}`, pg.nodes1?.[key], sqlite);
    if (pg.nodes > 1) {
      const many = pg[`nodes${pg.nodes}`];
      row(`PG ${pg.nodes} nodes ${key} cross-node`, many?.[key], sqlite);
      row(`PG ${pg.nodes} nodes ${key} same-node`, many?.[sameNodeKey(pairs, w)], sqlite);
    }
  }
  return [
    `PostgreSQL store (${pg.store}${pg.throwaway ? ", throwaway cluster" : ""}${
      pg.server_version !== undefined ? `, PostgreSQL ${pg.server_version}` : ""
    }); CPU µs per message: server = all nodes, db = the postmaster's children`,
    ...table(
      ["", "msgs/s", "p50 ms", "p99 ms", "errors", "vs SQLite", "server µs", "db µs"],
      rows,
    ),
    "",
  ];
}
