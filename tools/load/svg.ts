// The SVG chart of a load-tool run (issue #6): messages/s and p99 latency of NetSec-MSG
// (SQLite and in-memory store) next to the Deno-TLS baseline, one bar group per workload.
// Pure: results in, a standalone SVG document out.

import type { LoadResults, RelayFigure } from "./results.ts";
import { round } from "./stats.ts";

/** One series of bars. */
interface Series {
  readonly name: string;
  readonly color: string;
  readonly figures: Record<string, RelayFigure>;
}

const WIDTH = 880;
const HEIGHT = 400;
const PANEL_W = 400;
const PANEL_H = 260;
const TOP = 70;

/** Escapes text for SVG element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const exp = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * exp >= value) return step * exp;
  return 10 * exp;
}

function panel(
  x0: number,
  title: string,
  keys: readonly string[],
  series: readonly Series[],
  pick: (f: RelayFigure) => number,
  unit: string,
): string[] {
  const parts: string[] = [];
  const values = keys.flatMap((k) =>
    series.map((s) => s.figures[k]).filter((f) => f !== undefined).map(pick)
  );
  const max = niceMax(Math.max(0, ...values));
  const base = TOP + PANEL_H;
  parts.push(
    `<text x="${x0 + PANEL_W / 2}" y="${
      TOP - 20
    }" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<line x1="${x0}" y1="${base}" x2="${x0 + PANEL_W}" y2="${base}" stroke="#333"/>`,
    `<line x1="${x0}" y1="${TOP}" x2="${x0}" y2="${base}" stroke="#333"/>`,
  );
  for (let i = 0; i <= 4; i++) {
    const y = base - (PANEL_H * i) / 4;
    parts.push(
      `<line x1="${x0 - 4}" y1="${y}" x2="${x0 + PANEL_W}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${x0 - 6}" y="${y + 4}" text-anchor="end" font-size="11">${
        escapeXml(round((max * i) / 4, 2).toLocaleString("en-US"))
      }</text>`,
    );
  }
  const groupW = PANEL_W / Math.max(1, keys.length);
  const barW = Math.min(48, (groupW - 20) / Math.max(1, series.length));
  keys.forEach((key, gi) => {
    const gx = x0 + gi * groupW + (groupW - barW * series.length) / 2;
    series.forEach((s, si) => {
      const f = s.figures[key];
      if (f === undefined) return;
      const v = pick(f);
      const h = Math.max(0, (PANEL_H * v) / max);
      const x = gx + si * barW;
      parts.push(
        `<rect class="bar" data-series="${escapeXml(s.name)}" data-key="${escapeXml(key)}" x="${
          round(x, 1)
        }" y="${round(base - h, 1)}" width="${round(barW - 4, 1)}" height="${
          round(h, 1)
        }" fill="${s.color}"><title>${
          escapeXml(`${s.name} ${key}: ${round(v, 2)} ${unit}`)
        }</title></rect>`,
        `<text x="${round(x + (barW - 4) / 2, 1)}" y="${
          round(base - h - 4, 1)
        }" text-anchor="middle" font-size="10">${
          escapeXml(round(v, v >= 100 ? 0 : 2).toLocaleString("en-US"))
        }</text>`,
      );
    });
    parts.push(
      `<text x="${round(x0 + gi * groupW + groupW / 2, 1)}" y="${
        base + 18
      }" text-anchor="middle" font-size="12">${escapeXml(key)}</text>`,
    );
  });
  return parts;
}

/**
 * Renders the relay comparison as a standalone SVG document.
 *
 * @example
 * ```ts
 * import { renderChart } from "./svg.ts";
 * import { emptyResults } from "./results.ts";
 * const svg = renderChart(emptyResults({
 *   date: "2026-01-01T00:00:00Z", nproc: 2, cpu_model: "cpu", kernel: "6", deno: "2",
 *   quick: true, pairs: 50, payload_chars: 100, relay_seconds: 4, server: "spawn", notes: [],
 * }));
 * svg.startsWith("<svg"); // true
 * ```
 */
export function renderChart(results: LoadResults): string {
  const series: Series[] = [
    { name: "NetSec-MSG (SQLite)", color: "#2b6cb0", figures: results.asl.relay },
    {
      name: "NetSec-MSG (memory store)",
      color: "#63b3ed",
      figures: results.asl.relay_memory_store,
    },
    { name: "Deno TLS baseline", color: "#dd6b20", figures: results.baseline_tls.relay },
  ].filter((s) => Object.keys(s.figures).length > 0);
  const keys = [...new Set(series.flatMap((s) => Object.keys(s.figures)))];
  const m = results.meta;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="14">${
      escapeXml(
        `Relay (${results.asl.suite}), ${m.pairs} pairs, ${m.payload_chars}-char payloads — ${m.date}${
          m.quick ? " (quick)" : ""
        } — ${m.nproc} CPU ${m.cpu_model}`,
      )
    }</text>`,
    ...panel(
      60,
      "messages per second (higher is better)",
      keys,
      series,
      (f) => f.msgs_per_s,
      "msgs/s",
    ),
    ...panel(
      60 + PANEL_W + 60,
      "p99 latency, ms (lower is better)",
      keys,
      series,
      (f) => f.p99_ms,
      "ms",
    ),
  ];
  series.forEach((s, i) => {
    const x = 60 + i * 260;
    parts.push(
      `<rect x="${x}" y="${HEIGHT - 28}" width="14" height="14" fill="${s.color}"/>`,
      `<text x="${x + 20}" y="${HEIGHT - 16}" font-size="12">${escapeXml(s.name)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
