// Summarises a V8 .cpuprofile (from `deno run --cpu-prof`, e.g. `deno task load --cpu-prof
// DIR`) for bench/README.md (issue #6): self time per function and per source file, as a
// share of the profile's busy (non-idle) time. Pure aggregation plus a small CLI:
// `deno run --allow-read tools/load/profile.ts FILE.cpuprofile [TOP]`.

import { writeErr, writeOut } from "../out.ts";

/** The parts of a .cpuprofile this summary reads. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { functionName: string; url: string; lineNumber: number };
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** One row of the summary: self time in ms and as a percent of busy time. */
export interface ProfileRow {
  readonly name: string;
  readonly ms: number;
  readonly pct: number;
}

/** The summary of one profile: sampled and busy ms (not idle), the top functions and files. */
export interface ProfileSummary {
  readonly totalMs: number;
  readonly busyMs: number;
  readonly functions: readonly ProfileRow[];
  readonly files: readonly ProfileRow[];
}

/** `part` as a percent of `whole`, one decimal. */
const percent = (part: number, whole: number) =>
  whole > 0 ? Math.round((1000 * part) / whole) / 10 : 0;

function shortUrl(url: string): string {
  if (url === "") return "(native)";
  const i = url.indexOf("/lib/");
  if (i >= 0) return url.slice(i + 1);
  const npm = url.indexOf("/npm/registry.npmjs.org/");
  if (npm >= 0) return `npm:${url.slice(npm + 24).split("/").slice(0, 2).join("/")}`;
  return url.replace(/^.*\/(tools|bench|tests)\//, "$1/");
}

function add(map: Map<string, number>, key: string, amount: number): void {
  map.set(key, (map.get(key) ?? 0) + amount);
}

/** Aggregates self time by function (name + file:line) and by file; the `top` of each. */
export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  let busy = 0;
  profile.samples.forEach((id, i) => {
    // V8 attributes timeDeltas[i + 1] to sample i; the last sample gets its own delta.
    const us = Math.max(0, profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0);
    total += us;
    const frame = frames.get(id);
    const name = frame?.functionName || "(anonymous)";
    if (frame === undefined || name === "(idle)") return;
    busy += us;
    const where = shortUrl(frame.url);
    add(fn, `${name} ${where}${frame.url ? `:${frame.lineNumber + 1}` : ""}`, us);
    add(file, name.startsWith("(") && frame.url === "" ? name : where, us);
  });
  const rows = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({
      name,
      ms: Math.round(us / 100) / 10,
      pct: percent(us, busy),
    }));
  return {
    totalMs: Math.round(total / 1000),
    busyMs: Math.round(busy / 1000),
    functions: rows(fn),
    files: rows(file),
  };
}

/** Where a function's self time goes in the per-message breakdown of bench/README.md. */
export const CATEGORIES: readonly (readonly [string, RegExp])[] = [
  ["framing", /lib\/asl\/framing\.ts|op_encoding_decode|08_text_encoding/],
  ["base64", /lib\/base64\.ts|toBase64|fromBase64|RegExp: \^\(\?:\[A-Za-z0-9\+\//],
  [
    "record crypto",
    /lib\/asl\/records\.ts|lib\/asl\/bytes\.ts|internal\/crypto\/|internal\/buffer\.mjs|deno_node\/crypto|op_node_|Cipheriv|Decipheriv/,
  ],
  [
    "handshake crypto (RSA, HKDF, SHA-256)",
    /^(sign|verify|encrypt|decrypt|digest|deriveBits|importKey|exportKey) |deno_crypto/,
  ],
  ["certificates (ASN.1)", /npm:|lib\/pki\//],
  ["ASL session", /lib\/asl\/(session|endpoint|handshake|messages|transcript|key_schedule)\.ts/],
  [
    "routing (router, outbox, commands, limits)",
    /lib\/server\/(router|outbox|command|rate_limit|committer)\.ts/,
  ],
  [
    "store (SQLite, worker messaging)",
    /lib\/server\/store|op_host_post_message|op_worker|serialize|deserialize|^(exec|run|get|all|prepare) \(native\)/,
  ],
  ["socket I/O", /op_write|op_read|deno_net|op_close|op_net/],
  ["logging", /lib\/log\.ts|op_write_sync|op_print/],
  ["garbage collector", /^\(garbage collector\)/],
];

/** Self time per category (percent of busy time), using the full function list. */
export function categorize(profile: CpuProfile): ProfileRow[] {
  const all = summarizeProfile(profile, Number.MAX_SAFE_INTEGER);
  const sums = new Map<string, number>();
  for (const row of all.functions) {
    add(sums, CATEGORIES.find(([, re]) => re.test(row.name))?.[0] ?? "other", row.ms);
  }
  return [...sums].sort((a, b) => b[1] - a[1]).map(([name, ms]) => ({
    name,
    ms: Math.round(ms),
    pct: percent(ms, all.busyMs),
  }));
}

function table(title: string, rows: readonly ProfileRow[], code = true): string {
  const name = (r: ProfileRow) => code ? `\`${r.name.replaceAll("|", "\\|")}\`` : r.name;
  return [
    `| ${title} | self ms | % of busy |`,
    "| --- | ---: | ---: |",
    ...rows.map((r) => `| ${name(r)} | ${r.ms} | ${r.pct} |`),
  ].join("\n");
}

/** Formats a summary as Markdown tables. */
export function formatProfile(s: ProfileSummary): string {
  return `sampled ${s.totalMs} ms, busy ${s.busyMs} ms\n\n${table("file", s.files)}\n\n${
    table("function", s.functions)
  }\n`;
}

if (import.meta.main) {
  const [path, top] = Deno.args;
  if (path === undefined) {
    writeErr("usage: profile.ts FILE.cpuprofile [TOP]\n");
    Deno.exit(2);
  }
  try {
    const profile = JSON.parse(await Deno.readTextFile(path)) as CpuProfile;
    writeOut(formatProfile(summarizeProfile(profile, Number(top ?? 25))));
    writeOut(`\n${table("category", categorize(profile), false)}\n`);
  } catch (err) {
    writeErr(`profile: ${err instanceof Error ? err.message : String(err)}\n`);
    Deno.exit(2);
  }
}
