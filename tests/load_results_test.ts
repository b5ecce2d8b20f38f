// Tests of tools/load/results.ts, report.ts and svg.ts: the JSON fields other tooling reads,
// the targets' verdicts, the stdout table and the SVG chart's shape.

import assert from "node:assert/strict";
import { formatReport } from "../tools/load/report.ts";
import {
  emptyResults,
  evaluate,
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

function sample(): LoadResults {
  const r = emptyResults(structuredClone(META));
  r.asl.handshakes_per_server_cpu_s = 320;
  r.asl.rsa_bound_handshakes_per_server_cpu_s = 350;
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
  assert.equal(typeof json.asl.handshakes_per_server_cpu_s, "number");
  assert.equal(typeof json.asl.rsa_bound_handshakes_per_server_cpu_s, "number");
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
    ["handshakes per server CPU-s", true], // 320 / 350 = 91 %
    ["relay 50x20 msgs/s", true], // 36 000 >= 35 000
    ["relay 50x1 p99", true], // 3.5 <= 4
    ["idle RSS per session @10 000", true], // 13 <= 20
  ]);
  const worse = sample();
  worse.asl.handshakes_per_server_cpu_s = 300; // 86 %
  worse.asl.relay["50x20"] = fig(34_999, 30);
  worse.asl.relay["50x1"] = fig(12_000, 4.01);
  worse.asl.idle_kib_per_session["10000"] = 20.5;
  assert.deepEqual(evaluate(worse).targets.map((t) => t.met), [false, false, false, false]);
  const none = evaluate(emptyResults(structuredClone(META)));
  assert.deepEqual(none.targets.map((t) => t.met), [null, null, null, null]);
  assert.equal(none.ratios["relay_50x20_msgs_per_s"], null);
});

Deno.test("the report table shows both systems, the ratio and the verdicts", () => {
  const text = formatReport(sample());
  assert.match(text, /ASL 50x20\s+36,000\s+15\s+30\s+60\s+0\s+1\.03x/);
  assert.match(text, /ASL 50x20 mem-store\s+40,000/);
  assert.match(text, /TLS 50x1\s+15,000/);
  assert.match(text, /RSA bound\s+-\s+350/);
  assert.match(text, /10000\s+175\.8\s+13/);
  assert.match(text, /relay 50x1 p99\s+<= 4 ms\s+3\.5 ms\s+yes/);
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
    "12000 vs 27000 (ASL records alone 80 µs CPU/msg, baseline 70 in all)",
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
  assert.equal(b.targets[1]!.measured, "36000 vs 35000");
});

function round2(x: number | null | undefined): number | undefined {
  return x === null || x === undefined ? undefined : Math.round(x * 100) / 100;
}
