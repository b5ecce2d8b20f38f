// Tests of tools/load/results.ts, report.ts and svg.ts: the JSON fields other tooling reads,
// the targets' verdicts, the stdout table and the SVG chart's shape.

import assert from "node:assert/strict";
import { formatReport } from "../tools/load/report.ts";
import {
  emptyResults,
  evaluate,
  type HandshakeFigure,
  type LoadResults,
  type RelayFigure,
  relayKey,
  toJson,
} from "../tools/load/results.ts";
import { escapeXml, renderChart } from "../tools/load/svg.ts";

const META: LoadResults["meta"] = {
  date: "2026-11-25T18:00:00.000Z",
  nproc: 2,
  cpu_model: "Test <CPU> & co",
  kernel: "6.1",
  deno: "2.9.6",
  quick: false,
  pairs: 50,
  payload_chars: 100,
  relay_seconds: 15,
  server: "spawn",
  notes: ["noisy machine"],
};

function fig(msgs: number, p99: number): RelayFigure {
  return {
    msgs_per_s: msgs,
    p50_ms: p99 / 2,
    p99_ms: p99,
    max_ms: p99 * 2,
    messages: msgs * 15,
    errors: 0,
    seconds: 15,
  };
}

function hs(perCpu: number): HandshakeFigure {
  return { per_s: perCpu / 2, count: perCpu * 4, per_server_cpu_s: perCpu, p50_ms: 9, p99_ms: 30 };
}

function sample(): LoadResults {
  const r = emptyResults(structuredClone(META));
  r.asl.handshakes = { "1": hs(300), "8": hs(360) };
  r.asl.handshakes_per_server_cpu_s = 360;
  r.asl.handshake_bound_per_server_cpu_s = 390;
  r.asl.rsa_bound_handshakes_per_server_cpu_s = 250;
  r.asl_rsa.handshakes = { "1": hs(180), "8": hs(200) };
  r.asl_rsa.handshakes_per_server_cpu_s = 200;
  r.asl.relay["50x20"] = fig(36_000, 30);
  r.asl.relay["50x1"] = fig(12_000, 3.5);
  r.asl.relay_memory_store["50x20"] = fig(40_000, 25);
  r.asl.idle_rss_kib = { "0": 50_000, "1000": 62_000, "10000": 180_000 };
  r.asl.idle_kib_per_session = { "1000": 12, "10000": 13 };
  r.baseline_tls.relay["50x20"] = fig(35_000, 40);
  r.baseline_tls.relay["50x1"] = fig(15_000, 2);
  return evaluate(r);
}

Deno.test("relayKey names workloads pairs x window", () => {
  assert.equal(relayKey(50, 20), "50x20");
  assert.equal(relayKey(3, 1), "3x1");
});

Deno.test("the JSON carries every field other tooling reads", () => {
  const json = JSON.parse(toJson(sample()));
  assert.equal(json.asl.suite, "X25519_AES_GCM");
  assert.equal(json.asl.handshakes_per_server_cpu_s, 360);
  assert.equal(json.asl.handshakes["8"].per_server_cpu_s, 360);
  assert.equal(json.asl.handshake_bound_per_server_cpu_s, 390);
  assert.equal(json.asl.rsa_bound_handshakes_per_server_cpu_s, 250);
  assert.equal(json.asl_rsa.suite, "AES_GCM");
  assert.equal(json.asl_rsa.handshakes_per_server_cpu_s, 200);
  assert.equal(json.asl_rsa.handshakes["1"].per_server_cpu_s, 180);
  assert.equal(json.ratios.handshakes_vs_aes_gcm, 360 / 200);
  assert.equal(json.ratios.handshakes_vs_bound, 360 / 390);
  assert.equal(json.ratios.handshakes_vs_rsa_bound, 200 / 250);
  for (const key of ["50x20", "50x1"]) {
    for (const side of [json.asl.relay[key], json.baseline_tls.relay[key]]) {
      assert.equal(typeof side.msgs_per_s, "number");
      assert.equal(typeof side.p50_ms, "number");
      assert.equal(typeof side.p99_ms, "number");
    }
  }
  assert.equal(json.asl.idle_kib_per_session["1000"], 12);
  assert.equal(json.asl.idle_kib_per_session["10000"], 13);
  assert.equal(json.asl.relay_memory_store["50x20"].msgs_per_s, 40_000);
  assert.equal(json.ratios["relay_50x20_msgs_per_s"], 36_000 / 35_000);
  assert.ok(toJson(sample()).endsWith("}\n"));
});

Deno.test("targets: met, not met, and not measured", () => {
  const met = sample().targets.map((t) => [t.name, t.met]);
  assert.deepEqual(met, [
    ["handshakes/server-CPU-s vs AES_GCM", true], // 360 / 200 = 1.8x
    ["handshakes/server-CPU-s vs bound", true], // 360 / 390 = 92 %
    ["relay 50x20 msgs/s", true], // 36 000 >= 35 000
    ["relay 50x1 p99", true], // 3.5 <= 2 x 2
    ["idle RSS per session @10 000", true], // 13 <= 20
  ]);
  const worse = sample();
  worse.asl.handshakes_per_server_cpu_s = 339; // 1.695x AES_GCM, 86.9 % of the bound
  worse.asl.relay["50x20"] = fig(34_999, 30);
  worse.asl.relay["50x1"] = fig(12_000, 4.01);
  worse.asl.idle_kib_per_session["10000"] = 20.5;
  assert.deepEqual(evaluate(worse).targets.map((t) => t.met), [false, false, false, false, false]);
  const none = evaluate(emptyResults(structuredClone(META)));
  assert.deepEqual(none.targets.map((t) => t.met), [null, null, null, null, null]);
  assert.equal(none.ratios["relay_50x20_msgs_per_s"], null);
});

Deno.test("targets are relative to the same run: AES_GCM, the bound, the baseline", () => {
  const r = sample();
  // The baseline's own p99 moves the 50x1 target: 3.5 ms fails against a 1.7 ms baseline.
  r.baseline_tls.relay["50x1"] = fig(15_000, 1.7);
  // A faster AES_GCM in the same run raises the bar: 360 vs 212 = 1.698x.
  r.asl_rsa.handshakes_per_server_cpu_s = 212;
  const e = evaluate(r);
  const by = (name: string) => e.targets.find((t) => t.name === name)!;
  assert.equal(by("relay 50x1 p99").met, false);
  assert.equal(by("relay 50x1 p99").measured, "3.5 ms vs 1.7 ms = 2.06x");
  assert.equal(by("relay 50x1 p99").target, "<= 2x the baseline's p99 (same run)");
  assert.equal(by("handshakes/server-CPU-s vs AES_GCM").met, false);
  assert.equal(by("handshakes/server-CPU-s vs AES_GCM").measured, "360 vs 212 = 1.698x");
  assert.equal(
    by("handshakes/server-CPU-s vs AES_GCM").target,
    "X25519_AES_GCM >= 1.7x AES_GCM (same run)",
  );
  assert.equal(by("handshakes/server-CPU-s vs bound").measured, "360 / 390 = 92.3 %");
  assert.equal(
    by("handshakes/server-CPU-s vs bound").target,
    ">= 90 % of the X25519_AES_GCM bound",
  );
  // A run with --suite AES_GCM has nothing to compare itself with.
  const same = emptyResults(structuredClone(META), "AES_GCM");
  same.asl.handshakes_per_server_cpu_s = 200;
  same.asl_rsa.handshakes_per_server_cpu_s = 200;
  same.asl.handshake_bound_per_server_cpu_s = 210;
  const s = evaluate(same);
  assert.equal(s.targets[0]!.met, null);
  assert.equal(s.targets[0]!.measured, "n/a (the run's suite is AES_GCM)");
  assert.equal(s.targets[1]!.met, true);
  assert.equal(s.targets[1]!.target, ">= 90 % of the AES_GCM bound");
});

Deno.test("the report table shows both systems, the ratio and the verdicts", () => {
  const text = formatReport(sample());
  assert.match(text, /ASL 50x20\s+36,000\s+15\s+30\s+60\s+0\s+1\.03x/);
  assert.match(text, /ASL 50x20 mem-store\s+40,000/);
  assert.match(text, /TLS 50x1\s+15,000/);
  assert.match(text, /suite X25519_AES_GCM/);
  assert.match(text, /X25519_AES_GCM 1 connector\s+150\s+300\s+9\s+30/);
  assert.match(text, /X25519_AES_GCM 8 connectors\s+180\s+360/);
  assert.match(text, /X25519_AES_GCM bound\s+-\s+390/);
  assert.match(text, /AES_GCM 8 connectors\s+100\s+200/);
  assert.match(text, /AES_GCM bound\s+-\s+250/);
  assert.match(text, /10000\s+175\.8\s+13/);
  assert.match(
    text,
    /relay 50x1 p99\s+<= 2x the baseline's p99 \(same run\)\s+3\.5 ms vs 2 ms = 1\.75x\s+yes/,
  );
  assert.match(
    text,
    /vs AES_GCM\s+X25519_AES_GCM >= 1\.7x AES_GCM \(same run\)\s+360 vs 200 = 1\.8x\s+yes/,
  );
  assert.match(text, /note: noisy machine/);
});

Deno.test("the SVG chart has one bar per series and workload in both panels", () => {
  const svg = renderChart(sample());
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.trimEnd().endsWith("</svg>"));
  const bars = [...svg.matchAll(/<rect class="bar" data-series="([^"]+)" data-key="([^"]+)"/g)];
  // 3 series x 2 workloads x 2 panels, minus the memory store's missing 50x1 (twice).
  assert.equal(bars.length, 10);
  assert.equal(bars.filter((b) => b[2] === "50x20").length, 6);
  assert.ok(svg.includes("messages per second"));
  assert.ok(svg.includes("p99 latency"));
  // Text from the results is escaped.
  assert.ok(svg.includes("Test &#60;CPU&#62; &#38; co"));
  assert.ok(!svg.includes("<CPU>"));
  // Every element that opens is closed: equal counts of <text and </text>.
  assert.equal(svg.split("<text").length, svg.split("</text>").length);
  assert.equal(escapeXml(`a"'<>&`), "a&#34;&#39;&#60;&#62;&#38;");
});

Deno.test("the SVG chart of a run without relay figures is still a document", () => {
  const svg = renderChart(emptyResults(structuredClone(META)));
  assert.ok(svg.startsWith("<svg"));
  assert.equal([...svg.matchAll(/class="bar"/g)].length, 0);
});

Deno.test("the record layer's CPU per message is set against the baseline's whole CPU", () => {
  const r = sample();
  r.asl.record_layer_cpu_us_per_msg = 80;
  r.asl.relay["50x20"] = {
    ...fig(12_000, 30),
    server_cpu_ms_per_msg: 0.07,
    client_cpu_ms_per_msg: 0.074,
  };
  r.baseline_tls.relay["50x20"] = {
    ...fig(27_000, 300),
    server_cpu_ms_per_msg: 0.03,
    client_cpu_ms_per_msg: 0.04,
  };
  const e = evaluate(r);
  assert.equal(round2(e.ratios["record_layer_vs_baseline_cpu_50x20"]), round2(80 / 70));
  const relay = e.targets.find((t) => t.name === "relay 50x20 msgs/s")!;
  assert.equal(
    relay.measured,
    "12000 vs 27000 = 0.44x (ASL records alone 80 µs CPU/msg, baseline 70 in all)",
  );
  assert.equal(relay.met, false);
  const text = formatReport(e);
  assert.match(text, /ASL 50x20\s+70\s+74\s+144/);
  assert.match(text, /TLS 50x20\s+30\s+40\s+70/);
  assert.match(text, /ASL record layer alone\s+-\s+-\s+80/);
  // Without the baseline's CPU figures there is nothing to set it against.
  const bare = sample();
  bare.asl.record_layer_cpu_us_per_msg = 80;
  const b = evaluate(bare);
  assert.equal(b.ratios["record_layer_vs_baseline_cpu_50x20"], null);
  assert.equal(b.targets[2]!.measured, "36000 vs 35000 = 1.03x");
});

function round2(x: number | null | undefined): number | undefined {
  return x === null || x === undefined ? undefined : Math.round(x * 100) / 100;
}

/** A run with --store and --nodes 2: SQLite's 50x20 at 36 000 msgs/s (sample()). */
function withPostgres(): LoadResults {
  const r = sample();
  const pgFig = (msgs: number, p50: number, db: number) => ({
    ...fig(msgs, p50 * 3),
    p50_ms: p50,
    server_cpu_ms_per_msg: 0.05,
    db_cpu_us_per_msg: db,
  });
  r.postgres = {
    store: "postgres://netsec@127.0.0.1:5432/bench",
    throwaway: true,
    server_version: "15.18",
    nodes: 2,
    db_cpu_us_per_msg: null,
    nodes1: { "50x20": pgFig(24_000, 20, 31.5), "50x1": pgFig(6_000, 2.5, 120) },
    nodes2: {
      "50x20": pgFig(25_000, 22, 40),
      "50x1": pgFig(5_000, 4.9, 150),
      "50x1_same_node": pgFig(5_500, 2, 130),
    },
  };
  return evaluate(r);
}

Deno.test("PostgreSQL: summary fields, ratios and the three targets", () => {
  const r = withPostgres();
  const json = JSON.parse(toJson(r));
  assert.equal(json.postgres.nodes1["50x20"].msgs_per_s, 24_000);
  assert.equal(json.postgres.nodes2["50x1_same_node"].p50_ms, 2);
  assert.equal(json.postgres.cross_node_50x1_p50_ms, 4.9);
  assert.equal(json.postgres.same_node_50x1_p50_ms, 2);
  assert.equal(json.postgres.db_cpu_us_per_msg, 31.5);
  assert.equal(json.ratios.postgres_nodes1_vs_sqlite_50x20_msgs_per_s, 24_000 / 36_000);
  assert.equal(json.ratios.postgres_nodes2_vs_nodes1_50x20_msgs_per_s, 25_000 / 24_000);
  // The existing fields and targets are unchanged; the PostgreSQL ones follow.
  assert.equal(json.asl.relay["50x20"].msgs_per_s, 36_000);
  assert.deepEqual(r.targets.slice(5).map((t) => [t.name, t.measured, t.met]), [
    ["PostgreSQL 1 node 50x20 msgs/s", "24000 vs 36000 = 66.7 %", true],
    ["PostgreSQL 2 nodes 50x20 msgs/s", "25000 vs 24000 = 1.04x", true],
    ["PostgreSQL cross-node 50x1 p50", "4.9 ms vs 2 ms (+2.9 ms)", true],
  ]);
  assert.equal(r.targets[5]?.target, ">= 60 % of SQLite's (same run)");
  assert.equal(r.targets[7]?.target, "<= same-node p50 + 3 ms (2 nodes)");
  // Just below each bar.
  const worse = withPostgres();
  const pg = worse.postgres!;
  pg.nodes1 = { ...pg.nodes1, "50x20": { ...pg.nodes1!["50x20"]!, msgs_per_s: 21_599 } };
  pg.nodes2 = {
    ...pg.nodes2,
    "50x20": { ...pg.nodes2!["50x20"]!, msgs_per_s: 21_598 },
    "50x1": { ...pg.nodes2!["50x1"]!, p50_ms: 5.01 },
  };
  assert.deepEqual(evaluate(worse).targets.slice(5).map((t) => t.met), [false, false, false]);
});

Deno.test("PostgreSQL with one node: the cluster targets are not measured", () => {
  const r = sample();
  r.postgres = {
    store: "postgres://netsec@db:5432/x",
    throwaway: false,
    nodes: 1,
    db_cpu_us_per_msg: null,
    nodes1: { "50x20": fig(30_000, 30) },
  };
  const e = evaluate(r);
  assert.deepEqual(e.targets.slice(5).map((t) => [t.measured, t.met]), [
    ["30000 vs 36000 = 83.3 %", true],
    ["n/a (--nodes 1)", null],
    ["n/a (needs --nodes 2 or more)", null],
  ]);
  assert.equal(e.postgres?.cross_node_50x1_p50_ms, null);
  assert.equal(e.postgres?.db_cpu_us_per_msg, null);
  assert.equal(sample().postgres, undefined);
  assert.equal(sample().targets.length, 5);
});

Deno.test("the report puts PostgreSQL's rows beside SQLite's, with the database's CPU", () => {
  const text = formatReport(withPostgres());
  const lines = text.split("\n");
  const head = lines.findIndex((l) => l.startsWith("PostgreSQL store ("));
  assert.ok(head > 0, text);
  assert.match(lines[head]!, /postgres:\/\/netsec@127\.0\.0\.1:5432\/bench, throwaway cluster/);
  const rows = lines.slice(head + 3, head + 10).map((l) => l.split(/\s{2,}/));
  assert.deepEqual(rows.map((r) => r[0]), [
    "SQLite 50x20",
    "PG 1 node 50x20",
    "PG 2 nodes 50x20 cross-node",
    "SQLite 50x1",
    "PG 1 node 50x1",
    "PG 2 nodes 50x1 cross-node",
    "PG 2 nodes 50x1 same-node",
  ]);
  // msgs/s, p50, p99, errors, vs SQLite, server µs, db µs
  assert.deepEqual(rows[1]?.slice(1), ["24,000", "20", "60", "0", "0.67x", "50", "31.5"]);
  assert.deepEqual(rows[0]?.slice(-3), ["1x", "-", "-"]);
  assert.match(text, /PostgreSQL cross-node 50x1 p50 .* yes/);
  assert.ok(!formatReport(sample()).includes("PostgreSQL"));
});

Deno.test("a committed run's JSON comes out of evaluate and toJson byte for byte", async () => {
  for (const name of ["full", "postgres", "faults"]) {
    const text = await Deno.readTextFile(
      new URL(`../bench/results/2026-12-04-${name}.json`, import.meta.url),
    );
    // The record as run.ts hands it over: figures only, nothing evaluate derives.
    const run = JSON.parse(text) as LoadResults;
    run.ratios = {};
    run.targets = [];
    if (run.postgres !== undefined) {
      delete run.postgres.cross_node_50x1_p50_ms;
      delete run.postgres.same_node_50x1_p50_ms;
      run.postgres.db_cpu_us_per_msg = null;
    }
    assert.equal(toJson(evaluate(run)), text, name);
  }
});

Deno.test("the sealed relay and the disk commit are report rows, not chart bars", () => {
  const r = sample();
  r.asl.relay_sealed = {
    "50x20": { ...fig(20_000, 50), server_cpu_ms_per_msg: 0.09, client_cpu_ms_per_msg: 0.01 },
  };
  r.asl.commit_latency = { commits: 1000, p50_ms: 0.125, p99_ms: 0.341, max_ms: 3.343 };
  r.faults = { stalled_reader: { pass: true } };
  const text = formatReport(evaluate(r));
  assert.match(text, /ASL 50x20 sealed\s+20,000\s+25\s+50\s+100\s+0\s+0\.57x/);
  assert.match(text, /ASL 50x20 sealed\s+90\s+10\s+100\n/); // the CPU table
  assert.match(text, /disk commit\s+-\s+0\.13\s+0\.34\s+3\.3\s+-\s+-/);
  assert.match(text, /\nFaults\n {2}stalled_reader: \{"pass":true\}\n\nTargets\n/);
  // Only the sealed relay has CPU figures, so it is the CPU table's only row.
  assert.equal(text.match(/^ASL 50x20 sealed/gm)?.length, 2);
  assert.equal(text.match(/^ASL 50x20 /gm)?.length, 4); // relay, mem-store, sealed, sealed CPU
  const svg = renderChart(r);
  assert.ok(!svg.includes("sealed"));
  assert.equal([...svg.matchAll(/class="bar"/g)].length, 10);
});
