// The one child-process harness (issue 14, items 5 and 8) of the tests and the load tool:
// starts a program (usually `deno run server.ts`) as a child, waits for the line that
// announces its port, keeps its last output lines, and stops it (SIGTERM, then SIGKILL).
// `spawnServerTs` builds server.ts's command line from a PKI's file paths. Callers stop
// every child in `finally`; `killAllChildren` is for SIGINT handlers.

import { deadline } from "../lib/deadline.ts";
import { readProcText } from "./load/proc.ts";

/** server.ts of this checkout. */
export const SERVER_TS = new URL("../server.ts", import.meta.url).pathname;
/** The repository root. */
export const REPO_ROOT = new URL("../", import.meta.url).pathname;
/** server.ts's log line that carries the listening port. */
export const LISTEN_LINE = /listening\b.*?(?:127\.0\.0\.1|localhost|\]):(\d{1,5})\b/i;

/** A running child. */
export interface Child {
  readonly pid: number;
  /** The port it announced. */
  readonly port: number;
  /** The exit status, once it has exited and its output is drained. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Its last output lines (stdout and stderr), oldest first. */
  output(): string[];
  /** Sends `sig` (default SIGKILL); a child that has exited is ignored. */
  kill(sig?: Deno.Signal): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** How to start a child. */
export interface SpawnOptions {
  /** Program and arguments. */
  readonly cmd: readonly [string, ...string[]];
  /** Matches the line announcing the port; group 1 is the port. */
  readonly ready: RegExp;
  /** Milliseconds to wait for that line (default 60 000). */
  readonly timeoutMs?: number;
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** Echo the child's output to stderr. */
  readonly verbose?: boolean;
  /** Soft RLIMIT_NOFILE the child needs; raised through `sh -c "ulimit -n"` when above ours. */
  readonly fdLimit?: number;
  /** Output lines kept (default 2 000). */
  readonly keepLines?: number;
}

const live = new Set<Deno.ChildProcess>();

/** SIGKILLs every child this module started that is still running. */
export function killAllChildren(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }
}

/** The soft and hard RLIMIT_NOFILE from /proc/<pid>/limits text. */
export function parseFdLimits(text: string): { soft: number; hard: number } {
  const match = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
  const num = (s: string | undefined) => (s === "unlimited" ? Infinity : Number(s));
  return match === null ? { soft: 1024, hard: 1024 } : { soft: num(match[1]), hard: num(match[2]) };
}

/** Wraps `cmd` in `sh -c "ulimit -n N && exec …"` when `fdLimit` is above our soft limit. */
function withFdLimit(cmd: readonly string[], fdLimit: number | undefined): string[] {
  if (fdLimit === undefined) return [...cmd];
  const { soft, hard } = parseFdLimits(readProcText(`/proc/${Deno.pid}/limits`));
  if (fdLimit <= soft) return [...cmd];
  const quoted = cmd.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  return ["/bin/sh", "-c", `ulimit -n ${Math.min(fdLimit, hard)} && exec ${quoted}`];
}

/** Starts a child and waits until it announces its port; kills it if it never does. */
export async function spawnChild(o: SpawnOptions): Promise<Child> {
  const [program, ...args] = withFdLimit(o.cmd, o.fdLimit) as [string, ...string[]];
  const child = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...o.env },
    ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
  }).spawn();
  live.add(child);
  const recent: string[] = [];
  const keep = o.keepLines ?? 2000;
  let onPort: (port: number) => void = () => {};
  const portSeen = new Promise<number>((resolve) => (onPort = resolve));
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    let partial = "";
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        const lines = (partial + chunk).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) {
          recent.push(line);
          if (recent.length > keep) recent.shift();
          if (o.verbose === true) {
            Deno.stderr.writeSync(new TextEncoder().encode(`[child] ${line}\n`));
          }
          const m = o.ready.exec(line);
          if (m !== null) onPort(Number(m[1]));
        }
      }
    } catch {
      // the child went away
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const status = child.status.then(async (s) => {
    live.delete(child);
    await pumps;
    return s;
  });
  const kill = (sig: Deno.Signal = "SIGKILL") => {
    try {
      child.kill(sig);
    } catch {
      // already exited
    }
  };
  let stopping: Promise<void> | undefined;
  const handle = (port: number): Child => ({
    pid: child.pid,
    port,
    status,
    output: () => [...recent],
    kill,
    stop(graceMs = 3000) {
      stopping ??= (async () => {
        kill("SIGTERM");
        await deadline(status, graceMs, () => (kill("SIGKILL"), status));
      })();
      return stopping;
    },
  });
  const timeoutMs = o.timeoutMs ?? 60_000;
  const outcome = await deadline(
    Promise.race([portSeen, status.then((s) => `exited with code ${s.code}`)]),
    timeoutMs,
    () => `did not announce a port within ${timeoutMs} ms`,
  );
  if (typeof outcome === "number") return handle(outcome);
  await handle(0).stop(500);
  throw new Error(`child ${outcome}; last output:\n  ${recent.slice(-15).join("\n  ")}`);
}

/** The PKI files a server child is started with. */
export interface ServerPkiFiles {
  readonly caCertPath: string;
  readonly serverCertPath: string;
  readonly serverKeyPath: string;
}

/** How to start server.ts. */
export interface ServerSpawnOptions extends Omit<SpawnOptions, "cmd" | "ready"> {
  readonly pki: ServerPkiFiles;
  /** Flags after `--host 127.0.0.1 --port 0 --ca --cert --key`. */
  readonly args?: readonly string[];
  /** Deno flags after `--allow-net --allow-read --allow-write --allow-env`. */
  readonly denoFlags?: readonly string[];
}

/**
 * Runs `deno run --allow-net --allow-read --allow-write --allow-env server.ts` on 127.0.0.1
 * port 0 and waits until it logs its address. Stop it (or kill and await `status`) in `finally`.
 */
export function spawnServerTs(o: ServerSpawnOptions): Promise<Child> {
  const { pki, args = [], denoFlags = [], ...rest } = o;
  return spawnChild({
    cmd: [
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      ...denoFlags,
      SERVER_TS,
      ...["--host", "127.0.0.1", "--port", "0", "--ca", pki.caCertPath],
      ...["--cert", pki.serverCertPath, "--key", pki.serverKeyPath],
      ...args,
    ],
    ready: LISTEN_LINE,
    cwd: REPO_ROOT,
    ...rest,
  });
}
