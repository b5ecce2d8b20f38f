// Summarises a V8 .cpuprofile (from `deno run --cpu-prof`, e.g. `deno task load --cpu-prof
// DIR`) for bench/README.md (issue #6): self time per function and per source file, as a
// share of the profile's busy (non-idle) time. Pure aggregation plus a small CLI:
// `deno run --allow-read tools/load/profile.ts FILE.cpuprofile [TOP]`.

import { writeErr, writeOut } from "./out.ts";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

/** The parts of a .cpuprofile this summary reads. */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** One row of the summary. */
export interface ProfileRow {
  readonly name: string;
  /** Self time, ms. */
  readonly ms: number;
  /** Share of busy time, percent. */
  readonly pct: number;
}

/** The summary of one profile. */
export interface ProfileSummary {
  /** Sampled time, ms. */
  readonly totalMs: number;
  /** Time not in (idle), (program) or (garbage collector)… — the busy part, ms. */
  readonly busyMs: number;
  readonly functions: readonly ProfileRow[];
  readonly files: readonly ProfileRow[];
}

const IDLE = new Set(["(idle)"]);

function shortUrl(url: string): string {
  if (url === "") return "(native)";
  const i = url.indexOf("/lib/");
  if (i >= 0) return url.slice(i + 1);
  const npm = url.indexOf("/npm/registry.npmjs.org/");
  if (npm >= 0) return `npm:${url.slice(npm + 24).split("/").slice(0, 2).join("/")}`;
  return url.replace(/^.*\/(tools|bench|tests)\//, "$1/").replace(/^ext:/, "ext:");
}

/**
 * Aggregates self time by function (name + file:line) and by file.
 *
 * @example
 * ```ts
 * import { summarizeProfile } from "./profile.ts";
 * const s = summarizeProfile({
 *   nodes: [{ id: 1, callFrame: { functionName: "f", url: "file:///x/lib/a.ts", lineNumber: 3 } }],
 *   samples: [1, 1],
 *   timeDeltas: [1000, 1000],
 * }, 5);
 * s.files[0]?.name; // "lib/a.ts"
 * ```
 */
export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    // V8 attributes timeDeltas[i + 1] to sample i; the last sample gets its own delta.
    const dt = Math.max(0, profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0);
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    total += dt;
  }
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const name = node.callFrame.functionName || "(anonymous)";
    if (IDLE.has(name)) continue;
    busy += us;
    const where = shortUrl(node.callFrame.url);
    const key = `${name} ${where}${node.callFrame.url ? `:${node.callFrame.lineNumber + 1}` : ""}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const fileKey = name.startsWith("(") && node.callFrame.url === "" ? name : where;
    file.set(fileKey, (file.get(fileKey) ?? 0) + us);
  }
  const rows = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({
      name,
      ms: Math.round(us / 100) / 10,
      pct: busy > 0 ? Math.round((1000 * us) / busy) / 10 : 0,
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
    const cat = CATEGORIES.find(([, re]) => re.test(row.name))?.[0] ?? "other";
    sums.set(cat, (sums.get(cat) ?? 0) + row.ms);
  }
  return [...sums].sort((a, b) => b[1] - a[1]).map(([name, ms]) => ({
    name,
    ms: Math.round(ms),
    pct: all.busyMs > 0 ? Math.round((1000 * ms) / all.busyMs) / 10 : 0,
  }));
}

/** Formats a summary as Markdown tables. */
export function formatProfile(s: ProfileSummary): string {
  const table = (title: string, rows: readonly ProfileRow[]) =>
    [
      `| ${title} | self ms | % of busy |`,
      "| --- | ---: | ---: |",
      ...rows.map((r) => `| \`${r.name.replaceAll("|", "\\|")}\` | ${r.ms} | ${r.pct} |`),
    ].join("\n");
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
    writeOut("\n| category | self ms | % of busy |\n| --- | ---: | ---: |\n");
    for (const r of categorize(profile)) writeOut(`| ${r.name} | ${r.ms} | ${r.pct} |\n`);
  } catch (err) {
    writeErr(`profile: ${err instanceof Error ? err.message : String(err)}\n`);
    Deno.exit(2);
  }
}
