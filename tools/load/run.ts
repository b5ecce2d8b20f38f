// The load tool's run (issue #6, #12): builds the throwaway PKI, measures the handshake bounds
// (the run's suite and AES_GCM's RSA bound), drives the ASL server child (handshakes with the
// run's suite and with AES_GCM, relay, idle memory, in-memory store), the Deno-TLS baseline
// and, with --faults, the robustness phases; fills a LoadResults. Every child process is
// stopped and the temp directory removed in `finally`.

import type { Suite } from "../../lib/asl/types.ts";
import type { LoadOptions, Phase } from "./args.ts";
import { IdlePool, openAsl, runHandshakes } from "./asl_client.ts";
import { cpuOf, type Ctx, measureRelay, openLoadPki, type Under, withServer } from "./context.ts";
import { phaseFaults } from "./fault_phases.ts";
import { phasePostgres } from "./postgres.ts";
import type { Child } from "../harness.ts";
import { Progress } from "../out.ts";
import { readProcText, readRssKib } from "./proc.ts";
import { sleep } from "./relay.ts";
import { makeSealer } from "./sealed.ts";
import {
  emptyResults,
  evaluate,
  type HandshakeFigure,
  type LoadResults,
  relayKey,
} from "./results.ts";
import { measureCommitLatency } from "./disk_commit.ts";
import { measureRecordLayer, relayedMessageLines } from "./record_layer.ts";
import { openTlsChannel, spawnTlsRelay } from "./tls_relay.ts";
import { type HandshakeBound, measureHandshakeBound } from "./rsa_bound.ts";
import { round, summarize } from "./stats.ts";

/** Machine facts for the report. */
export function machineInfo(): { nproc: number; cpu_model: string; kernel: string } {
  let model = "unknown";
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(readProcText("/proc/cpuinfo"))?.[1] ?? model;
  } catch {
    // not Linux
  }
  return {
    nproc: navigator.hardwareConcurrency,
    cpu_model: model.trim(),
    kernel: Deno.osRelease(),
  };
}

/** The relay against a server under test, optionally with every payload sealed. */
async function aslRelay(ctx: Ctx, u: Under, window: number, label: string, sealed = false) {
  const users = Array.from({ length: ctx.opts.pairs }, (_, i) => [`s${i}`, `r${i}`] as const);
  const sealer = sealed
    ? makeSealer(u.target.users, u.target.pki.trust, users.map((p) => p[0]), users.map((p) => p[1]))
    : undefined;
  const { figure } = await measureRelay(ctx, {
    label,
    serverPids: [u.pid],
    params: { window, open: (user) => openAsl(u.target, user), ...(sealer ? { sealer } : {}) },
  });
  return figure;
}

async function measureHandshakes(
  ctx: Ctx,
  u: Under,
  suite: Suite,
  c: number,
): Promise<HandshakeFigure> {
  const label = `handshakes ${suite} x${c}`;
  const cpu0 = cpuOf(u.pid);
  const h = await runHandshakes(
    { ...u.target, suite },
    c,
    ctx.opts.handshakeSeconds,
    (n) => ctx.progress.update(`${label}: ${n}`),
  );
  const cpu1 = cpuOf(u.pid);
  const s = summarize(h.latencies);
  const fig: HandshakeFigure = {
    per_s: round(h.count / h.seconds, 1),
    count: h.count,
    per_server_cpu_s: cpu0 !== undefined && cpu1 !== undefined && cpu1 > cpu0
      ? round(h.count / (cpu1 - cpu0), 1)
      : null,
    p50_ms: round(s.p50_ms, 2),
    p99_ms: round(s.p99_ms, 2),
  };
  ctx.progress.done(
    `${label}: ${fig.per_s}/s, ${
      fig.per_server_cpu_s ?? "n/a"
    } per server CPU-s, errors ${h.errors}${
      h.errorSamples.length > 0 ? ` (${h.errorSamples[0]})` : ""
    }`,
  );
  return fig;
}

/**
 * Handshakes with the run's suite and, interleaved on the same server so both see the same
 * machine load, with AES_GCM (RSA key transport); 1 and 8 concurrent connectors each.
 */
async function phaseHandshakes(ctx: Ctx, u: Under): Promise<void> {
  const { asl, asl_rsa: rsa } = ctx.results;
  for (const c of [1, 8]) {
    asl.handshakes[String(c)] = await measureHandshakes(ctx, u, asl.suite, c);
    rsa.handshakes[String(c)] = asl.suite === "AES_GCM"
      ? asl.handshakes[String(c)]!
      : await measureHandshakes(ctx, u, "AES_GCM", c);
  }
  // The CPU-bound figure is the one with connectors enough to keep both cores busy.
  asl.handshakes_per_server_cpu_s = asl.handshakes["8"]?.per_server_cpu_s ?? null;
  rsa.handshakes_per_server_cpu_s = rsa.handshakes["8"]?.per_server_cpu_s ?? null;
}

function boundLine(b: HandshakeBound): string {
  return `${b.suite} bound: ${round(b.handshakes_per_cpu_s, 1)} handshakes per CPU-s (${
    Object.entries(b.op_cpu_ms).map(([k, v]) => `${k} ${round(v, 3)} ms`).join(", ")
  })`;
}

async function phaseIdle(ctx: Ctx, u: Under): Promise<void> {
  if (u.pid === undefined) {
    ctx.results.meta.notes.push("idle memory needs the server pid (--server-pid); skipped");
    return;
  }
  const pid = u.pid;
  const pool = new IdlePool(u.target);
  const asl = ctx.results.asl;
  // RSS is read twice per count: 3 s after the last REGISTER, and after the server has been
  // left idle long enough for V8's idle-time collection (its memory reducer) to have run,
  // which releases the garbage of the handshakes (seen here 12-16 s after the last one).
  // The settled reading is the idle figure; the early one is kept to show the difference.
  const settleSeconds = Math.max(3, ctx.opts.idleSettleSeconds);
  asl.idle_settle_s = settleSeconds;
  const early: Record<string, number> = {};
  const earlyPer: Record<string, number> = {};
  asl.idle_rss_kib_early = early;
  asl.idle_kib_per_session_early = earlyPer;
  const settle = async (n: number) => {
    await sleep(3000);
    early[String(n)] = readRssKib(pid);
    for (let s = 3; s < settleSeconds; s++) {
      ctx.progress.update(`idle ${n}: settling ${s} / ${settleSeconds} s`);
      await sleep(1000);
    }
    return readRssKib(pid);
  };
  try {
    const rss0 = await settle(0);
    asl.idle_rss_kib["0"] = rss0;
    let prevN = 0;
    let prevRss = rss0;
    for (const n of [...ctx.opts.idleCounts].sort((a, b) => a - b)) {
      await pool.growTo(n, 16, (k) => ctx.progress.update(`idle sessions: ${k} / ${n}`));
      if (pool.sessions.length < n) {
        ctx.progress.done(
          `idle sessions: only ${pool.sessions.length} of ${n} opened (${
            pool.errorSamples[0] ?? "timeout"
          })`,
        );
        ctx.results.meta.notes.push(`idle ${n}: only ${pool.sessions.length} sessions opened`);
        break;
      }
      const rss = await settle(n);
      asl.idle_rss_kib[String(n)] = rss;
      const perSession = round((rss - rss0) / n, 2);
      asl.idle_kib_per_session[String(n)] = perSession;
      earlyPer[String(n)] = round(((early[String(n)] ?? 0) - (early["0"] ?? 0)) / n, 2);
      if (prevN > 0) {
        asl.idle_marginal_kib_per_session[`${prevN}-${n}`] = round(
          (rss - prevRss) / (n - prevN),
          2,
        );
      }
      prevN = n;
      prevRss = rss;
      ctx.progress.done(
        `idle ${n}: server RSS ${
          round(rss / 1024, 1)
        } MiB, ${perSession} KiB/session after ${settleSeconds} s idle (${
          earlyPer[String(n)]
        } after 3 s)`,
      );
    }
  } finally {
    await pool.closeAll();
  }
}

/** Runs every phase the options ask for and returns the evaluated results. */
export async function runLoad(opts: LoadOptions): Promise<LoadResults> {
  const tmp = await Deno.makeTempDir({ prefix: "netsec-load-" });
  const progress = new Progress();
  const children = new Set<Child>();
  const m = machineInfo();
  const results = emptyResults({
    date: new Date().toISOString(),
    ...m,
    deno: Deno.version.deno,
    quick: opts.quick,
    pairs: opts.pairs,
    payload_chars: Math.ceil(opts.payloadBytes / 3) * 4,
    relay_seconds: opts.relaySeconds,
    server: opts.server.kind === "spawn"
      ? "spawned child (deno run server.ts)"
      : `${opts.server.hostname}:${opts.server.port}`,
    notes: [],
  }, opts.suite);
  try {
    progress.update("creating the throwaway PKI");
    const { pki, users } = opts.pkiDir !== undefined
      ? await openLoadPki(opts.pkiDir, false)
      : await openLoadPki(`${tmp}/pki`, true);
    const ctx: Ctx = { opts, pki, users, tmp, results, progress, children, dataSeq: 0 };
    progress.done(`PKI ready in ${pki.dir}`);

    const on = (p: Phase) => opts.phases.has(p);
    if (on("rsa")) {
      const seconds = opts.quick ? 2 : 5;
      progress.update("measuring the RSA bound (AES_GCM)");
      const rsaBound = await measureHandshakeBound("AES_GCM", seconds);
      results.asl.rsa_bound_handshakes_per_server_cpu_s = round(rsaBound.handshakes_per_cpu_s, 1);
      progress.done(boundLine(rsaBound));
      let own = rsaBound;
      if (opts.suite === "X25519_AES_GCM") {
        progress.update(`measuring the ${opts.suite} bound`);
        own = await measureHandshakeBound(opts.suite, seconds);
        progress.done(boundLine(own));
      }
      // AES_CBC's server does AES_GCM's public-key work: the RSA bound is its bound too.
      results.asl.handshake_bound_per_server_cpu_s = round(own.handshakes_per_cpu_s, 1);
    }

    if (on("records")) {
      progress.update("measuring the record layer alone");
      const lines = relayedMessageLines(results.meta.payload_chars);
      const f = await measureRecordLayer(lines, opts.quick ? 40_000 : 200_000);
      results.asl.record_layer_cpu_us_per_msg = round(f.cpu_us_per_record * lines.length, 1);
      progress.done(
        `record layer alone (sealed + opened, in-memory pipe): ${
          round(f.cpu_us_per_record, 2)
        } µs CPU per record, ${results.asl.record_layer_cpu_us_per_msg} µs per relayed message (${lines.length} records)`,
      );
    }

    if (on("disk") && opts.server.kind === "spawn") {
      progress.update("measuring one-message commits on the database's disk");
      const c = await measureCommitLatency(`${tmp}/disk`, opts.quick ? 300 : 1000);
      results.asl.commit_latency = {
        commits: c.commits,
        p50_ms: round(c.p50_ms, 3),
        p99_ms: round(c.p99_ms, 3),
        max_ms: round(c.max_ms, 3),
      };
      progress.done(
        `disk commit (SQLite WAL, synchronous = FULL), ${c.commits} one-message commits: p50 ${
          round(c.p50_ms, 2)
        } ms, p99 ${round(c.p99_ms, 2)} ms, max ${round(c.max_ms, 2)} ms`,
      );
    }

    const w20 = relayKey(opts.pairs, 20);
    const w1 = relayKey(opts.pairs, 1);
    if (on("handshakes") || on("relay")) {
      await withServer(ctx, "sqlite", async (u) => {
        if (on("handshakes")) await phaseHandshakes(ctx, u);
        if (on("relay")) {
          results.asl.relay[w20] = await aslRelay(ctx, u, 20, `ASL relay ${w20}`);
          results.asl.relay[w1] = await aslRelay(ctx, u, 1, `ASL relay ${w1}`);
          if (opts.sealed) {
            results.asl.relay_sealed = {
              [w20]: await aslRelay(ctx, u, 20, `ASL relay ${w20} sealed`, true),
            };
          }
        }
      });
    }

    if (on("relay") && opts.pgStore !== undefined) await phasePostgres(ctx);

    if (!opts.noBaseline && on("baseline")) {
      const child = await spawnTlsRelay(pki, opts.verbose);
      children.add(child);
      try {
        for (const window of [20, 1]) {
          const key = relayKey(opts.pairs, window);
          const { figure } = await measureRelay(ctx, {
            label: `TLS baseline ${key}`,
            serverPids: [child.pid],
            params: { window, open: () => openTlsChannel(child.port, pki.caPem) },
          });
          results.baseline_tls.relay[key] = figure;
        }
      } finally {
        await child.stop();
        children.delete(child);
      }
    }

    if (!on("memory")) {
      // not asked for
    } else if (opts.server.kind === "spawn") {
      await withServer(ctx, "memory", async (u) => {
        for (const window of [20, 1]) {
          const key = relayKey(opts.pairs, window);
          results.asl.relay_memory_store[key] = await aslRelay(
            ctx,
            u,
            window,
            `ASL relay ${key} (memory store)`,
          );
        }
      });
    } else {
      results.meta.notes.push("in-memory store run needs a spawned server; skipped with --server");
    }

    const maxIdle = Math.max(0, ...opts.idleCounts);
    if (on("idle")) {
      await withServer(ctx, "sqlite", (u) => phaseIdle(ctx, u), { fdLimit: maxIdle + 1024 });
    }

    if (opts.faults) await phaseFaults(ctx);
  } finally {
    await Promise.allSettled([...children].map((c) => c.stop()));
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  return evaluate(results);
}
