// The load tool's PostgreSQL phases (issue 15, docs/CLUSTER.md): the relay (50x20, 50x1)
// against server.ts children on one PostgreSQL database, with one node and with N nodes
// (pairs crossing nodes: sender on node i, recipient on node i+1; then the 50x1 with each
// pair on one node), beside the SQLite figures of the same run; plus the database's CPU per
// message (utime + stime of the postmaster's children, from /proc). The database is given by
// URL or is a throwaway cluster started here with tools/pg/cluster.sh and always stopped.

import postgres from "postgres";
import {
  parseStoreUrl,
  type PostgresLocation,
  redact,
  storeUrlText,
} from "../../lib/server/store_url.ts";
import { REPO_ROOT } from "../harness.ts";
import type { PgStoreTarget } from "./args.ts";
import { openAsl } from "./asl_client.ts";
import { cpuOf, type Ctx, relayFigure, spawnUnder, stopUnder, type Under } from "./context.ts";
import { parseStatPpid, readChildrenCpuSeconds, readCpuSeconds, readProcText } from "./proc.ts";
import { runRelay } from "./relay.ts";
import { type PgRelayFigure, type PostgresResults, relayKey, sameNodeKey } from "./results.ts";
import { round } from "./stats.ts";

const CLUSTER_SH = `${REPO_ROOT}tools/pg/cluster.sh`;

/** The database the phases run against, and how to let go of it. */
export interface PgStore {
  readonly location: PostgresLocation;
  /** The password, for the tool's own connection (never printed). */
  readonly password: string | undefined;
  /** Handed to the server nodes as `--store-password-file` (else they read PGPASSWORD). */
  readonly passwordFile: string | undefined;
  /** The throwaway cluster's directory (tools/pg/cluster.sh), when the tool started one. */
  readonly throwawayDir: string | undefined;
}

/** Throwaway cluster directories started and not yet stopped (for the SIGINT handler). */
const started = new Set<string>();

/**
 * Parses the `export NAME=VALUE` lines `tools/pg/cluster.sh start` prints (values quoted
 * by bash's `printf %q`; the ones it prints need no unquoting beyond a backslash).
 *
 * @example
 * ```ts
 * import { parseClusterExports } from "./postgres.ts";
 * parseClusterExports("export NETSEC_TEST_PG_DIR=/tmp/netsec-pg.ab\n").NETSEC_TEST_PG_DIR;
 * // "/tmp/netsec-pg.ab"
 * ```
 */
export function parseClusterExports(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m === null) continue;
    let value = m[2] as string;
    if (/^'.*'$/.test(value)) value = value.slice(1, -1);
    else value = value.replace(/\\(.)/g, "$1");
    out[m[1] as string] = value;
  }
  return out;
}

/** Starts a throwaway cluster with tools/pg/cluster.sh, or opens the given database. */
export async function openPgStore(target: PgStoreTarget): Promise<PgStore> {
  if (target.kind === "url") {
    const file = target.passwordFile;
    let password = Deno.env.get("PGPASSWORD") || undefined;
    if (file !== undefined) {
      try {
        password = (await Deno.readTextFile(file)).split(/\r?\n/)[0];
      } catch (err) {
        throw new Error(
          `--store-password-file ${file}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    return {
      location: target.location,
      password,
      passwordFile: file,
      throwawayDir: undefined,
    };
  }
  const out = await new Deno.Command("bash", {
    args: [CLUSTER_SH, "start"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const vars = parseClusterExports(new TextDecoder().decode(out.stdout));
  const dir = vars.NETSEC_TEST_PG_DIR;
  if (dir !== undefined) started.add(dir);
  const errText = new TextDecoder().decode(out.stderr).trim().split("\n");
  if (!out.success || dir === undefined || vars.NETSEC_TEST_PG_URL === undefined) {
    if (dir !== undefined) await stopThrowaway(dir);
    throw new Error(
      `cannot start a throwaway PostgreSQL cluster: ${errText.at(-1) ?? "no output"}`,
    );
  }
  const location = parseStoreUrl(vars.NETSEC_TEST_PG_URL);
  const passwordFile = vars.NETSEC_TEST_PG_PASSWORD_FILE;
  if (typeof location === "string" || location.kind !== "postgres" || passwordFile === undefined) {
    await stopThrowaway(dir);
    throw new Error("tools/pg/cluster.sh start printed no usable URL and password file");
  }
  return {
    location,
    password: (await Deno.readTextFile(passwordFile)).split(/\r?\n/)[0],
    passwordFile,
    throwawayDir: dir,
  };
}

/** Stops and removes a throwaway cluster (tools/pg/cluster.sh stop DIR). */
export async function stopThrowaway(dir: string): Promise<void> {
  await new Deno.Command("bash", {
    args: [CLUSTER_SH, "stop", dir],
    stdout: "null",
    stderr: "null",
  }).output();
  started.delete(dir);
}

/** Stops every throwaway cluster still running, synchronously (for a SIGINT handler). */
export function stopThrowawayClustersSync(): void {
  for (const dir of started) {
    new Deno.Command("bash", { args: [CLUSTER_SH, "stop", dir], stdout: "null", stderr: "null" })
      .outputSync();
    started.delete(dir);
  }
}

function sqlFor(store: PgStore, database = store.location.database): postgres.Sql {
  return postgres({
    host: store.location.host,
    port: store.location.port,
    database,
    username: store.location.user,
    ...(store.password !== undefined ? { password: store.password } : {}),
    max: 1,
    connect_timeout: 10,
    onnotice: () => {},
  });
}

function message(err: unknown, store: PgStore): string {
  return redact(err instanceof Error ? err.message : String(err), store.password);
}

/** The pid of the cluster's postmaster: the parent of this connection's backend, if local. */
function postmasterOf(backendPid: number): number | undefined {
  try {
    const ppid = parseStatPpid(readProcText(`/proc/${backendPid}/stat`));
    const cmdline = readProcText(`/proc/${ppid}/cmdline`);
    return /postgres/.test(cmdline) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** What the tool learnt about the database, and a fresh database per node count. */
interface Admin {
  readonly version: string | undefined;
  readonly postmaster: number | undefined;
  /** A fresh database for one group of phases (or the given one) and how to drop it. */
  database(n: number): Promise<{ name: string; drop(): Promise<void> }>;
}

async function openAdmin(ctx: Ctx, store: PgStore): Promise<Admin> {
  const notes = ctx.results.meta.notes;
  let version: string | undefined;
  let postmaster: number | undefined;
  const sql = sqlFor(store);
  try {
    const [row] = await sql<{ v: string; pid: number }[]>`
      SELECT current_setting('server_version') AS v, pg_backend_pid() AS pid`;
    version = row?.v;
    postmaster = row === undefined ? undefined : postmasterOf(row.pid);
    if (postmaster === undefined) {
      notes.push("PostgreSQL's processes are not on this machine: no database CPU figure");
    }
  } catch (err) {
    notes.push(`PostgreSQL: the load tool cannot connect itself (${message(err, store)})`);
  } finally {
    await sql.end({ timeout: 2 }).catch(() => {});
  }
  let ownDatabases = version !== undefined;
  return {
    version,
    postmaster,
    async database(n) {
      const given = { name: store.location.database, drop: () => Promise.resolve() };
      if (!ownDatabases) return given;
      const name = `netsec_load_${Deno.pid}_${n}`;
      const admin = sqlFor(store);
      try {
        await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await admin.unsafe(`CREATE DATABASE "${name}"`);
      } catch (err) {
        ownDatabases = false;
        notes.push(
          `PostgreSQL: cannot create a database of its own (${
            message(err, store)
          }); the phases share ${store.location.database}`,
        );
        return given;
      } finally {
        await admin.end({ timeout: 2 }).catch(() => {});
      }
      return {
        name,
        drop: async () => {
          const sql = sqlFor(store);
          try {
            await sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
          } catch (err) {
            notes.push(`PostgreSQL: could not drop ${name}: ${message(err, store)}`);
          } finally {
            await sql.end({ timeout: 2 }).catch(() => {});
          }
        },
      };
    },
  };
}

/** The CPU seconds of the postmaster's children, or undefined when unknown. */
function dbCpu(postmaster: number | undefined): number | undefined {
  if (postmaster === undefined) return undefined;
  try {
    return readChildrenCpuSeconds(postmaster).cpuSeconds;
  } catch {
    return undefined;
  }
}

/**
 * One relay on the nodes: pair i's sender on node `senderNode(i)`, its recipient on node
 * `recipientNode(i)`. Server CPU is every node's; database CPU the postmaster's children.
 */
async function pgRelay(
  ctx: Ctx,
  nodes: readonly Under[],
  window: number,
  place: (pair: number) => [number, number],
  postmaster: number | undefined,
  label: string,
): Promise<PgRelayFigure> {
  const o = ctx.opts;
  const senders = Array.from({ length: o.pairs }, (_, i) => `s${i}`);
  const recipients = Array.from({ length: o.pairs }, (_, i) => `r${i}`);
  const nodeOf = new Map<string, Under>();
  for (let i = 0; i < o.pairs; i++) {
    const [s, r] = place(i);
    nodeOf.set(`s${i}`, nodes[s % nodes.length] as Under);
    nodeOf.set(`r${i}`, nodes[r % nodes.length] as Under);
  }
  const serverCpu = () => {
    let sum = 0;
    for (const n of nodes) {
      const c = cpuOf(n.pid);
      if (c === undefined) return undefined;
      sum += c;
    }
    return sum;
  };
  let cpu0: number | undefined;
  let cpu1: number | undefined;
  let db0: number | undefined;
  let db1: number | undefined;
  let self0 = 0;
  let self1 = 0;
  const outcome = await runRelay({
    senders,
    recipients,
    window,
    warmupSeconds: o.quick ? 0.5 : 2,
    seconds: o.relaySeconds,
    payloadBytes: o.payloadBytes,
    open: (user) => openAsl((nodeOf.get(user) as Under).target, user),
    onMeasureStart: () => {
      cpu0 = serverCpu();
      db0 = dbCpu(postmaster);
      self0 = readCpuSeconds("self");
    },
    onMeasureEnd: () => {
      cpu1 = serverCpu();
      db1 = dbCpu(postmaster);
      self1 = readCpuSeconds("self");
    },
    onProgress: (n) => ctx.progress.update(`${label}: ${n} messages`),
  });
  const base = relayFigure(
    outcome,
    cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined,
    self1 - self0,
  );
  const fig: PgRelayFigure = {
    ...base,
    ...(db0 !== undefined && db1 !== undefined && outcome.messages > 0
      ? { db_cpu_us_per_msg: round(((db1 - db0) * 1e6) / outcome.messages, 1) }
      : {}),
  };
  ctx.progress.done(
    `${label}: ${fig.msgs_per_s} msgs/s, p50 ${fig.p50_ms} ms, p99 ${fig.p99_ms} ms, server CPU ${
      fig.server_cpu_ms_per_msg ?? "n/a"
    } ms/msg, database CPU ${fig.db_cpu_us_per_msg ?? "n/a"} µs/msg, errors ${fig.errors}${
      outcome.errorSamples.length > 0 ? ` (${outcome.errorSamples[0]})` : ""
    }`,
  );
  return fig;
}

/** Starts `n` server nodes on `database`, runs `fn`, stops them (also on failure). */
async function withNodes<T>(
  ctx: Ctx,
  store: PgStore,
  database: string,
  n: number,
  fn: (nodes: Under[]) => Promise<T>,
): Promise<T> {
  const url = storeUrlText({ ...store.location, database });
  const storeArgs = [
    "--store",
    url,
    ...(store.passwordFile !== undefined ? ["--store-password-file", store.passwordFile] : []),
  ];
  const nodes: Under[] = [];
  try {
    // One at a time: the first creates the schema, the others find it (it is safe at once
    // too, under the advisory lock, but the load tool wants a clean start, not a race).
    for (let i = 0; i < n; i++) nodes.push(await spawnUnder(ctx, "postgres", { storeArgs }));
    return await fn(nodes);
  } finally {
    for (const u of nodes) await stopUnder(ctx, u);
  }
}

/**
 * The PostgreSQL phases: the relay with one node, then with `opts.nodes` nodes (pairs
 * crossing nodes, and the 50x1 once more with each pair on one node). Fills
 * `ctx.results.postgres`; the throwaway cluster (if any) is stopped before it returns.
 */
export async function phasePostgres(ctx: Ctx): Promise<void> {
  const target = ctx.opts.pgStore;
  if (target === undefined) return;
  ctx.progress.update(
    target.kind === "throwaway"
      ? "starting a throwaway PostgreSQL cluster"
      : "connecting to PostgreSQL",
  );
  const store = await openPgStore(target);
  try {
    const admin = await openAdmin(ctx, store);
    const results: PostgresResults = {
      store: storeUrlText(store.location),
      throwaway: store.throwawayDir !== undefined,
      ...(admin.version !== undefined ? { server_version: admin.version } : {}),
      nodes: ctx.opts.nodes,
      db_cpu_us_per_msg: null,
    };
    ctx.results.postgres = results;
    ctx.progress.done(
      `PostgreSQL ${admin.version ?? "(version unknown)"} at ${results.store}${
        results.throwaway ? " (throwaway cluster)" : ""
      }, postmaster ${admin.postmaster ?? "not on this machine"}`,
    );
    const pairs = ctx.opts.pairs;
    const counts = ctx.opts.nodes > 1 ? [1, ctx.opts.nodes] : [1];
    for (const n of counts) {
      const db = await admin.database(n);
      try {
        const figures: Record<string, PgRelayFigure> = {};
        results[`nodes${n}`] = figures;
        await withNodes(ctx, store, db.name, n, async (nodes) => {
          // Pair i: sender on node i, recipient on node i+1 (with one node: the same node).
          const cross = (i: number): [number, number] => [i, i + 1];
          const same = (i: number): [number, number] => [i, i];
          const tag = n === 1 ? "1 node" : `${n} nodes`;
          for (const w of [20, 1]) {
            const key = relayKey(pairs, w);
            figures[key] = await pgRelay(
              ctx,
              nodes,
              w,
              cross,
              admin.postmaster,
              `PG ${tag} relay ${key}${n > 1 ? " cross-node" : ""}`,
            );
          }
          if (n > 1) {
            figures[sameNodeKey(pairs, 1)] = await pgRelay(
              ctx,
              nodes,
              1,
              same,
              admin.postmaster,
              `PG ${tag} relay ${relayKey(pairs, 1)} same-node`,
            );
          }
        });
      } finally {
        await db.drop();
      }
    }
  } finally {
    if (store.throwawayDir !== undefined) {
      ctx.progress.update("stopping the throwaway PostgreSQL cluster");
      await stopThrowaway(store.throwawayDir);
      ctx.progress.done("throwaway PostgreSQL cluster stopped and removed");
    }
  }
}
