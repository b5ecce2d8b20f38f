// The load tool's PostgreSQL phases (issue 15, docs/CLUSTER.md): the relay (50x20, 50x1)
// against server.ts children on one PostgreSQL database, with one node and with N nodes
// (pairs crossing nodes: sender on node i, recipient on node i+1; then the 50x1 with each
// pair on one node), beside the SQLite figures of the same run; plus the database's CPU per
// message (utime + stime of the postmaster's children, from /proc). The database is given by
// URL or is a throwaway cluster started here with tools/pg/cluster.sh and always stopped.

import type postgres from "postgres";
import { connectPostgres } from "../../lib/server/pg_connect.ts";
import {
  parseStoreUrl,
  type PostgresLocation,
  redact,
  storeUrlText,
} from "../../lib/server/store_url.ts";
import { REPO_ROOT } from "../harness.ts";
import type { PgStoreTarget } from "./args.ts";
import { openAsl } from "./asl_client.ts";
import { type Ctx, measureRelay, spawnUnder, stopUnder, type Under } from "./context.ts";
import { parseStatPpid, readChildrenCpuSeconds, readProcText } from "./proc.ts";
import { type PgRelayFigure, type PostgresResults, relayKey, sameNodeKey } from "./results.ts";
import { round } from "./stats.ts";

const CLUSTER_SH = `${REPO_ROOT}tools/pg/cluster.sh`;

/** The database the phases run against. */
export interface PgStore {
  readonly location: PostgresLocation;
  /** The password, for the tool's own connection (never printed). */
  readonly password: string | undefined;
  /** Handed to the server nodes as `--store-password-file` (else they read PGPASSWORD). */
  readonly passwordFile: string | undefined;
  /** The throwaway cluster's directory, when the tool started one. */
  readonly throwawayDir: string | undefined;
}

/** Throwaway cluster directories started and not yet stopped (for the SIGINT handler). */
const started = new Set<string>();

const firstLine = async (file: string) => (await Deno.readTextFile(file)).split(/\r?\n/)[0];

/**
 * Opens the given database, or starts a throwaway cluster: bash evaluates the `export` lines
 * of `tools/pg/cluster.sh start` (as documented) and prints the three values one a line.
 */
export async function openPgStore(target: PgStoreTarget): Promise<PgStore> {
  if (target.kind === "url") {
    const file = target.passwordFile;
    const password = file === undefined
      ? Deno.env.get("PGPASSWORD") || undefined
      : await firstLine(file).catch((err) => {
        throw new Error(`--store-password-file ${file}: ${(err as Error).message}`);
      });
    return { location: target.location, password, passwordFile: file, throwawayDir: undefined };
  }
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      'e=$(bash "$0" start) && eval "$e" && printf "%s\\n" "$NETSEC_TEST_PG_DIR" ' +
      '"$NETSEC_TEST_PG_URL" "$NETSEC_TEST_PG_PASSWORD_FILE"',
      CLUSTER_SH,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const [dir = "", url = "", passwordFile = ""] = new TextDecoder().decode(out.stdout).split("\n");
  if (dir !== "") started.add(dir);
  const location = parseStoreUrl(url);
  if (
    !out.success || typeof location === "string" || location.kind !== "postgres" || !passwordFile
  ) {
    if (dir !== "") stopThrowaway(dir);
    const why = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1);
    throw new Error(`cannot start a throwaway PostgreSQL cluster: ${why || "no URL printed"}`);
  }
  return { location, password: await firstLine(passwordFile), passwordFile, throwawayDir: dir };
}

/** Stops and removes a throwaway cluster (`tools/pg/cluster.sh stop DIR`; synchronous). */
export function stopThrowaway(dir: string): void {
  new Deno.Command("bash", { args: [CLUSTER_SH, "stop", dir], stdout: "null", stderr: "null" })
    .outputSync();
  started.delete(dir);
}

/** Stops every throwaway cluster still running (also from a SIGINT handler). */
export function stopThrowawayClustersSync(): void {
  for (const dir of started) stopThrowaway(dir);
}

/** Runs `fn` on a one-connection client of the store's database, closed after. */
async function withSql<T>(store: PgStore, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = connectPostgres(store.location, { password: store.password });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 2 }).catch(() => {});
  }
}

/** The pid of the cluster's postmaster: the parent of this connection's backend, if local. */
function postmasterOf(backendPid: number): number | undefined {
  try {
    const ppid = parseStatPpid(readProcText(`/proc/${backendPid}/stat`));
    return /postgres/.test(readProcText(`/proc/${ppid}/cmdline`)) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** An error's message without the password. */
function why(err: unknown, store: PgStore): string {
  return redact(err instanceof Error ? err.message : String(err), store.password);
}

/** The server's version and its postmaster's pid when it runs here; undefined: no connection. */
async function aboutServer(store: PgStore, notes: string[]) {
  // The backend's parent is read while the connection (and so the backend) is open.
  const found = await withSql(store, async (sql) => {
    const [row] = await sql<{ v: string; pid: number }[]>`
      SELECT current_setting('server_version') AS v, pg_backend_pid() AS pid`;
    return row && { version: row.v, postmaster: postmasterOf(row.pid) };
  }).catch((err) =>
    void notes.push(`PostgreSQL: the load tool cannot connect itself (${why(err, store)})`)
  );
  if (found && found.postmaster === undefined) {
    notes.push("PostgreSQL's processes are not on this machine: no database CPU figure");
  }
  return found;
}

const dropSql = (name: string) => `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`;

/** Creates database `name` afresh; false (with a note) when the tool may not. */
async function createDatabase(store: PgStore, name: string, notes: string[]): Promise<boolean> {
  try {
    await withSql(store, async (sql) => {
      await sql.unsafe(dropSql(name));
      await sql.unsafe(`CREATE DATABASE "${name}"`);
    });
    return true;
  } catch (err) {
    const reason = why(err, store);
    notes.push(
      `PostgreSQL: cannot create a database of its own (${reason}); the phases share ${store.location.database}`,
    );
    return false;
  }
}

/** The CPU seconds of the postmaster's children, or undefined when unknown. */
function dbCpu(postmaster: number | undefined): number | undefined {
  try {
    return postmaster === undefined ? undefined : readChildrenCpuSeconds(postmaster).cpuSeconds;
  } catch {
    return undefined;
  }
}

/**
 * One relay on the nodes: pair i's sender on node i, its recipient on node i + `offset` (both
 * modulo the node count). Server CPU is every node's; database CPU the postmaster's children.
 */
async function pgRelay(
  ctx: Ctx,
  nodes: readonly Under[],
  window: number,
  offset: number,
  postmaster: number | undefined,
  label: string,
): Promise<PgRelayFigure> {
  const nodeOf = (user: string) =>
    nodes[(Number(user.slice(1)) + (user[0] === "r" ? offset : 0)) % nodes.length] as Under;
  let db0: number | undefined;
  let db1: number | undefined;
  const perMsg = (messages: number) =>
    db0 !== undefined && db1 !== undefined && messages > 0
      ? { db_cpu_us_per_msg: round(((db1 - db0) * 1e6) / messages, 1) }
      : {};
  const { figure } = await measureRelay(ctx, {
    label,
    serverPids: nodes.map((n) => n.pid),
    params: {
      window,
      open: (user) => openAsl(nodeOf(user).target, user),
      onMeasureStart: () => (db0 = dbCpu(postmaster)),
      onMeasureEnd: () => (db1 = dbCpu(postmaster)),
    },
    note: (o) => `database CPU ${perMsg(o.messages).db_cpu_us_per_msg ?? "n/a"} µs/msg`,
  });
  return { ...figure, ...perMsg(figure.messages) };
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
    const notes = ctx.results.meta.notes;
    const server = await aboutServer(store, notes);
    const results: PostgresResults = {
      store: storeUrlText(store.location),
      throwaway: store.throwawayDir !== undefined,
      ...(server !== undefined ? { server_version: server.version } : {}),
      nodes: ctx.opts.nodes,
      db_cpu_us_per_msg: null,
    };
    ctx.results.postgres = results;
    ctx.progress.done(
      `PostgreSQL ${server?.version ?? "(version unknown)"} at ${results.store}${
        results.throwaway ? " (throwaway cluster)" : ""
      }, postmaster ${server?.postmaster ?? "not on this machine"}`,
    );
    const pairs = ctx.opts.pairs;
    // A fresh database per node count (the given one if the tool may not create any).
    let own = server !== undefined;
    for (const n of ctx.opts.nodes > 1 ? [1, ctx.opts.nodes] : [1]) {
      const name = `netsec_load_${Deno.pid}_${n}`;
      own &&= await createDatabase(store, name, notes);
      const figures: Record<string, PgRelayFigure> = {};
      results[`nodes${n}`] = figures;
      // [key, window, recipient's node offset, label suffix]: pairs cross nodes (with one
      // node: the same node); with several, the 50x1 once more with each pair on one node.
      const cross = n > 1 ? " cross-node" : "";
      const runs: [string, number, number, string][] = [
        [relayKey(pairs, 20), 20, 1, cross],
        [relayKey(pairs, 1), 1, 1, cross],
      ];
      if (n > 1) runs.push([sameNodeKey(pairs, 1), 1, 0, " same-node"]);
      const storeArgs = [
        ...["--store", storeUrlText(own ? { ...store.location, database: name } : store.location)],
        ...(store.passwordFile !== undefined ? ["--store-password-file", store.passwordFile] : []),
      ];
      const nodes: Under[] = [];
      try {
        // One at a time: the first creates the schema, the others find it (safe at once too,
        // under the advisory lock, but the load tool wants a clean start, not a race).
        for (let i = 0; i < n; i++) nodes.push(await spawnUnder(ctx, "postgres", { storeArgs }));
        for (const [key, window, offset, where] of runs) {
          const label = `PG ${n === 1 ? "1 node" : `${n} nodes`} relay ${relayKey(pairs, window)}`;
          figures[key] = await pgRelay(
            ctx,
            nodes,
            window,
            offset,
            server?.postmaster,
            label + where,
          );
        }
      } finally {
        for (const u of nodes) await stopUnder(ctx, u);
        if (own) {
          await withSql(store, (sql) => sql.unsafe(dropSql(name))).catch((err) =>
            notes.push(`PostgreSQL: could not drop ${name}: ${why(err, store)}`)
          );
        }
      }
    }
  } finally {
    if (store.throwawayDir !== undefined) {
      ctx.progress.update("stopping the throwaway PostgreSQL cluster");
      stopThrowaway(store.throwawayDir);
      ctx.progress.done("throwaway PostgreSQL cluster stopped and removed");
    }
  }
}
