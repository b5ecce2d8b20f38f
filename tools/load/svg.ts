// The SVG chart of a load-tool run (issue #6): messages/s and p99 latency of NetSec-MSG
// (SQLite and in-memory store) next to the Deno-TLS baseline, one bar group per workload.
// Pure: results in, a standalone SVG document out.

import { type LoadResults, RELAY_SERIES, type RelayFigure, workloads } from "./results.ts";
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

/** The two panels: title, the figure each bar shows, its unit. */
const PANELS: readonly (readonly [string, (f: RelayFigure) => number, string])[] = [
  ["messages per second (higher is better)", (f) => f.msgs_per_s, "msgs/s"],
  ["p99 latency, ms (lower is better)", (f) => f.p99_ms, "ms"],
];

/** Escapes text for SVG element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** An element with escaped attributes; `content` (already markup) or none: `<tag …/>`. */
function el(tag: string, attrs: Record<string, string | number>, content?: string): string {
  const a = Object.entries(attrs).map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`).join("");
  return content === undefined ? `<${tag}${a}/>` : `<${tag}${a}>${content}</${tag}>`;
}

/** A `<text>` element of `size` px with escaped content; `more` attributes follow. */
function text(x: number, y: number, size: number, content: string, more = {}): string {
  const attrs = { x, y, "text-anchor": "middle", "font-size": size, ...more };
  return el("text", attrs, escapeXml(content));
}

function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const exp = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * exp >= value) return step * exp;
  return 10 * exp;
}

function panel(
  x0: number,
  [title, pick, unit]: (typeof PANELS)[number],
  keys: readonly string[],
  series: readonly Series[],
): string[] {
  const values = keys.flatMap((k) =>
    series.map((s) => s.figures[k]).filter((f) => f !== undefined).map(pick)
  );
  const max = niceMax(Math.max(0, ...values));
  const base = TOP + PANEL_H;
  const parts = [
    text(x0 + PANEL_W / 2, TOP - 20, 15, title, { "font-weight": "bold" }),
    el("line", { x1: x0, y1: base, x2: x0 + PANEL_W, y2: base, stroke: "#333" }),
    el("line", { x1: x0, y1: TOP, x2: x0, y2: base, stroke: "#333" }),
  ];
  for (let i = 0; i <= 4; i++) {
    const y = base - (PANEL_H * i) / 4;
    const label = round((max * i) / 4, 2).toLocaleString("en-US");
    parts.push(
      el("line", { x1: x0 - 4, y1: y, x2: x0 + PANEL_W, y2: y, stroke: "#ddd" }),
      text(x0 - 6, y + 4, 11, label, { "text-anchor": "end" }),
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
      const title = el("title", {}, escapeXml(`${s.name} ${key}: ${round(v, 2)} ${unit}`));
      const label = round(v, v >= 100 ? 0 : 2).toLocaleString("en-US");
      parts.push(
        el("rect", {
          class: "bar",
          "data-series": s.name,
          "data-key": key,
          x: round(x, 1),
          y: round(base - h, 1),
          width: round(barW - 4, 1),
          height: round(h, 1),
          fill: s.color,
        }, title),
        text(round(x + (barW - 4) / 2, 1), round(base - h - 4, 1), 10, label),
      );
    });
    parts.push(text(round(x0 + gi * groupW + groupW / 2, 1), base + 18, 12, key));
  });
  return parts;
}

/** Renders the relay comparison as a standalone SVG document. */
export function renderChart(results: LoadResults): string {
  const series: Series[] = RELAY_SERIES.flatMap((s) => {
    const figures = s.figures(results) ?? {};
    return s.bar === undefined || Object.keys(figures).length === 0
      ? []
      : [{ name: s.bar[0], color: s.bar[1], figures }];
  });
  const keys = workloads(results, RELAY_SERIES.filter((s) => s.bar !== undefined));
  const m = results.meta;
  const title =
    `Relay (${results.asl.suite}), ${m.pairs} pairs, ${m.payload_chars}-char payloads — ${m.date}${
      m.quick ? " (quick)" : ""
    } — ${m.nproc} CPU ${m.cpu_model}`;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">`,
    el("rect", { width: WIDTH, height: HEIGHT, fill: "#fff" }),
    text(WIDTH / 2, 22, 14, title),
    ...PANELS.flatMap((p, i) => panel(60 + i * (PANEL_W + 60), p, keys, series)),
  ];
  series.forEach((s, i) => {
    const x = 60 + i * 260;
    parts.push(
      el("rect", { x, y: HEIGHT - 28, width: 14, height: 14, fill: s.color }),
      el("text", { x: x + 20, y: HEIGHT - 16, "font-size": 12 }, escapeXml(s.name)),
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
