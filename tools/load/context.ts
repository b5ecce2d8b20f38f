// Shared plumbing of the load tool's phases (issue #6): the run's throwaway PKI (lib/pki's
// file layer and Issuer), the run context, starting and stopping the server under test per
// phase as a child (tools/harness.ts; or using the attached one), reading its CPU time, and
// turning a relay outcome into the JSON figure.

import type { Suite } from "../../lib/asl/types.ts";
import type { LoadOptions } from "./args.ts";
import type { AslTarget } from "./asl_client.ts";
import { type Child, spawnServerTs } from "../harness.ts";
import type { Progress } from "../out.ts";
import { generateRsaKeys } from "../../lib/pki/keys.ts";
import { initPki, loadIssuer } from "../../lib/pki/pki_files.ts";
import type { Credentials, TrustStore } from "../../lib/pki/types.ts";
import { readCpuSeconds } from "./proc.ts";
import { type RelayOutcome, type RelayParams, runRelay } from "./relay.ts";
import type { LoadResults, RelayFigure } from "./results.ts";
import { round, summarize } from "./stats.ts";

/** The PKI files the run uses. */
export interface LoadPki {
  readonly dir: string;
  /** The CA certificate, PEM. */
  readonly caPem: string;
  readonly trust: TrustStore;
  readonly caCertPath: string;
  readonly serverCertPath: string;
  readonly serverKeyPath: string;
}

/** Client credentials of the run's test users. */
export interface TestUsers {
  /** Credentials (CN = `userId`, EKU clientAuth) for one user; made once, then cached. */
  credentials(userId: string): Promise<Credentials>;
}

/**
 * Opens the run's PKI in `dir`: with `create`, a new one made by lib/pki's `initPki`
 * (RSA-2048, 2 days), else the existing DIR/ca.pem and DIR/ca.key (`--pki`). Test users
 * are issued by lib/pki's Issuer from that CA and share ONE RSA-2048 key, each with its
 * own CN: 10 000 RSA key generations would take longer than the whole run.
 */
export async function openLoadPki(
  dir: string,
  create: boolean,
): Promise<{ pki: LoadPki; users: TestUsers }> {
  if (create) await initPki({ dir, bits: 2048, days: 2, force: true });
  const issuer = await loadIssuer(dir);
  const keys = await generateRsaKeys(2048);
  const cache = new Map<string, Promise<Credentials>>();
  const users: TestUsers = {
    credentials(userId) {
      let creds = cache.get(userId);
      if (creds === undefined) {
        creds = issuer.user(userId, { keys, days: 2 }).then((leaf) => leaf.credentials());
        cache.set(userId, creds);
      }
      return creds;
    },
  };
  const pki: LoadPki = {
    dir,
    caPem: issuer.ca.pem,
    trust: issuer.trust,
    caCertPath: `${dir}/ca.pem`,
    serverCertPath: `${dir}/server.pem`,
    serverKeyPath: `${dir}/server.key`,
  };
  return { pki, users };
}

/** Turns a relay outcome (and the server CPU it cost) into the JSON figure. */
function relayFigure(
  o: RelayOutcome,
  serverCpuSeconds?: number,
  clientCpuSeconds?: number,
): RelayFigure {
  const s = summarize(o.latencies);
  return {
    msgs_per_s: round(o.seconds > 0 ? o.messages / o.seconds : 0, 1),
    p50_ms: round(s.p50_ms, 3),
    p99_ms: round(s.p99_ms, 3),
    max_ms: round(s.max_ms, 3),
    messages: o.messages,
    errors: o.errors,
    seconds: round(o.seconds, 2),
    ok_p50_ms: round(summarize(o.okLatencies).p50_ms, 3),
    delivery_p50_ms: round(summarize(o.deliveryLatencies).p50_ms, 3),
    ...(serverCpuSeconds !== undefined && o.messages > 0
      ? { server_cpu_ms_per_msg: round((serverCpuSeconds * 1000) / o.messages, 4) }
      : {}),
    ...(clientCpuSeconds !== undefined && o.messages > 0
      ? { client_cpu_ms_per_msg: round((clientCpuSeconds * 1000) / o.messages, 4) }
      : {}),
  };
}

/** One relay measurement: the workload's own parameters plus whose CPU is the server's. */
export interface RelayMeasure {
  /** Progress and report label, e.g. `ASL relay 50x20`. */
  readonly label: string;
  /** Processes whose CPU (summed) over the measured window is the server side's. */
  readonly serverPids: readonly (number | undefined)[];
  /** Prefix of the user ids: senders `<prefix>s<i>`, recipients `<prefix>r<i>`. */
  readonly prefix?: string;
  /** Messages in flight per sender, how to open a channel, and any overrides. */
  readonly params: Pick<RelayParams, "window" | "open"> & Partial<RelayParams>;
  /** More for the figure's progress line, e.g. the database's CPU. */
  readonly note?: (outcome: RelayOutcome) => string;
}

/**
 * Runs the relay workload with the run's pairs, payload, warm-up and seconds, and turns it
 * into the JSON figure with the server side's CPU and this process's (the load tool's) CPU
 * over the measured window; prints the figure's line when done.
 */
export async function measureRelay(
  ctx: Ctx,
  m: RelayMeasure,
): Promise<{ figure: RelayFigure; outcome: RelayOutcome }> {
  const o = ctx.opts;
  const ids = (role: string) =>
    Array.from({ length: o.pairs }, (_, i) => `${m.prefix ?? ""}${role}${i}`);
  const serverCpu = () => {
    let sum = 0;
    for (const pid of m.serverPids) {
      const c = cpuOf(pid);
      if (c === undefined) return undefined;
      sum += c;
    }
    return sum;
  };
  let server0: number | undefined;
  let server1: number | undefined;
  let self0 = 0;
  let self1 = 0;
  const outcome = await runRelay({
    senders: ids("s"),
    recipients: ids("r"),
    warmupSeconds: o.quick ? 0.5 : 2,
    seconds: o.relaySeconds,
    payloadBytes: o.payloadBytes,
    onProgress: (n) => ctx.progress.update(`${m.label}: ${n} messages`),
    ...m.params,
    onMeasureStart: () => {
      server0 = serverCpu();
      self0 = readCpuSeconds("self");
      m.params.onMeasureStart?.();
    },
    onMeasureEnd: () => {
      server1 = serverCpu();
      self1 = readCpuSeconds("self");
      m.params.onMeasureEnd?.();
    },
  });
  const figure = relayFigure(
    outcome,
    server0 !== undefined && server1 !== undefined ? server1 - server0 : undefined,
    self1 - self0,
  );
  const notes = [
    `p50 ${figure.p50_ms} ms (OK ${figure.ok_p50_ms}, delivery ${figure.delivery_p50_ms})`,
    `p99 ${figure.p99_ms} ms`,
    `server CPU ${figure.server_cpu_ms_per_msg ?? "n/a"} ms/msg`,
    `load-tool CPU ${figure.client_cpu_ms_per_msg ?? "n/a"} ms/msg`,
    ...(m.note === undefined ? [] : [m.note(outcome)]),
    `errors ${figure.errors}${outcome.errorSamples[0] ? ` (${outcome.errorSamples[0]})` : ""}`,
  ];
  ctx.progress.done(`${m.label}: ${figure.msgs_per_s} msgs/s, ${notes.join(", ")}`);
  return { figure, outcome };
}

/** What every phase of one run shares. */
export interface Ctx {
  readonly opts: LoadOptions;
  readonly pki: LoadPki;
  readonly users: TestUsers;
  readonly tmp: string;
  readonly results: LoadResults;
  readonly progress: Progress;
  readonly children: Set<Child>;
  dataSeq: number;
}

/** A server under test: spawned child, or the attached one. */
export interface Under {
  readonly target: AslTarget;
  /** Known when spawned or given by --server-pid. */
  readonly pid?: number;
  readonly child?: Child;
}

/**
 * The suites a spawned server accepts: the run's suite, then `AES_GCM` (the handshake phase's
 * comparison). Each client offers one of them alone, so the order only documents intent.
 */
export function serverSuites(suite: Suite): Suite[] {
  return suite === "AES_GCM" ? ["AES_GCM"] : [suite, "AES_GCM"];
}

/**
 * Starts a server.ts child for a phase (recorded for cleanup) on a temporary `--data`
 * database, `--store memory:`, or for `postgres` `extra.storeArgs` (`--store URL …`). The
 * limits that would cap the tool's own load are lifted: the per-USERID rate (the tool measures
 * capacity) and the pending-handshake bounds (all load comes from one loopback address;
 * --faults opens 1 000 stalled handshakes).
 */
export async function spawnUnder(
  ctx: Ctx,
  store: "sqlite" | "memory" | "postgres",
  extra: { fdLimit?: number; extraArgs?: string[]; storeArgs?: readonly string[] } = {},
): Promise<Under> {
  const dataDir = `${ctx.tmp}/data${ctx.dataSeq++}`;
  await Deno.mkdir(dataDir, { recursive: true });
  const o = ctx.opts;
  const stores = {
    sqlite: ["--data", `${dataDir}/netsec-msg.db`],
    memory: ["--store", "memory:"],
    postgres: extra.storeArgs ?? [],
  };
  const child = await spawnServerTs({
    pki: ctx.pki,
    args: [
      ...["--suites", serverSuites(o.suite).join(",")],
      ...["--rate", "0", "--max-pending", "1000000", "--max-pending-ip", "1000000"],
      ...stores[store],
      ...(extra.extraArgs ?? []),
    ],
    denoFlags: [
      ...(o.cpuProfDir !== undefined ? ["--cpu-prof", `--cpu-prof-dir=${o.cpuProfDir}`] : []),
      ...(o.serverV8Flags !== undefined ? [`--v8-flags=${o.serverV8Flags}`] : []),
    ],
    verbose: o.verbose,
    ...(extra.fdLimit !== undefined ? { fdLimit: extra.fdLimit } : {}),
  });
  ctx.children.add(child);
  return {
    target: {
      hostname: "127.0.0.1",
      port: child.port,
      pki: ctx.pki,
      users: ctx.users,
      suite: o.suite,
    },
    pid: child.pid,
    child,
  };
}

/** Stops a phase's server child. */
export async function stopUnder(ctx: Ctx, u: Under): Promise<void> {
  if (u.child !== undefined) {
    await u.child.stop();
    ctx.children.delete(u.child);
  }
}

/** Runs `fn` against a fresh server child (or the attached server) and stops it after. */
export async function withServer<T>(
  ctx: Ctx,
  store: "sqlite" | "memory",
  fn: (u: Under) => Promise<T>,
  extra: { fdLimit?: number; extraArgs?: string[] } = {},
): Promise<T> {
  if (ctx.opts.server.kind === "attach") {
    const s = ctx.opts.server;
    return await fn({
      target: {
        hostname: s.hostname,
        port: s.port,
        pki: ctx.pki,
        users: ctx.users,
        suite: ctx.opts.suite,
      },
      ...(ctx.opts.serverPid !== undefined ? { pid: ctx.opts.serverPid } : {}),
    });
  }
  const u = await spawnUnder(ctx, store, extra);
  try {
    return await fn(u);
  } finally {
    await stopUnder(ctx, u);
  }
}

/** The CPU seconds of `pid`, or undefined when unknown or gone. */
export function cpuOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return readCpuSeconds(pid);
  } catch {
    return undefined;
  }
}
