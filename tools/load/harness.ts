// Process control for the load tool (issue #6): starts a server as a child process, waits
// for the line that announces its port, keeps its last log lines, and stops it (SIGTERM,
// then SIGKILL) — every child is stopped by the caller's `finally`.

import { LineSplitter } from "./lines.ts";
import { writeErr } from "./out.ts";
import { readProcText } from "./proc.ts";

/** A running child server. */
export interface ChildServer {
  /** The child's pid (its /proc entry gives CPU time and RSS). */
  readonly pid: number;
  /** The port it announced. */
  readonly port: number;
  /** The child's exit status, once it has exited. */
  readonly status: Promise<Deno.CommandStatus>;
  /** The last lines it wrote (stdout and stderr), oldest first. */
  recentOutput(): string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once; resolves when it has exited. */
  kill(): Promise<void>;
}

/** How to start a child server. */
export interface SpawnOptions {
  /** Program and arguments (the program is usually Deno.execPath()). */
  readonly cmd: readonly [string, ...string[]];
  /** Matches the line announcing the port; group 1 is the port. */
  readonly ready: RegExp;
  /** Milliseconds to wait for that line (default 60 000). */
  readonly timeoutMs?: number;
  /** Environment additions. */
  readonly env?: Record<string, string>;
  /** Echo the child's output to stderr. */
  readonly verbose?: boolean;
  /** Soft RLIMIT_NOFILE the child needs; raised through `sh -c "ulimit -n"` when above ours. */
  readonly fdLimit?: number;
  /** Working directory. */
  readonly cwd?: string;
}

const live = new Set<Deno.ChildProcess>();

/** SIGKILLs every child this module started that is still running (for SIGINT handlers). */
export function killAllChildren(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }
}

/** The soft and hard RLIMIT_NOFILE of this process, from /proc/self/limits. */
export function readFdLimits(text = readProcText(`/proc/${Deno.pid}/limits`)): {
  soft: number;
  hard: number;
} {
  const match = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
  const num = (s: string | undefined) => (s === "unlimited" ? Infinity : Number(s));
  if (match === null) return { soft: 1024, hard: 1024 };
  return { soft: num(match[1]), hard: num(match[2]) };
}

function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Starts a child and waits until it announces its port; kills it if it never does. */
export async function spawnServer(o: SpawnOptions): Promise<ChildServer> {
  let [program, ...args] = o.cmd;
  if (o.fdLimit !== undefined) {
    const { soft, hard } = readFdLimits();
    if (o.fdLimit > soft) {
      const target = Math.min(o.fdLimit, hard);
      args = ["-c", `ulimit -n ${target} && exec ${[program, ...args].map(shellQuote).join(" ")}`];
      program = "/bin/sh";
    }
  }
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
  let onPort: (port: number) => void = () => {};
  const portSeen = new Promise<number>((resolve) => (onPort = resolve));
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const splitter = new LineSplitter(1 << 20);
    try {
      for await (const chunk of stream) {
        for (const line of splitter.push(chunk)) {
          recent.push(line);
          if (recent.length > 60) recent.shift();
          if (o.verbose === true) writeErr(`[server] ${line}\n`);
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
  let stopping: Promise<void> | null = null;
  const signal = (sig: Deno.Signal) => {
    try {
      child.kill(sig);
    } catch {
      // already exited
    }
  };
  const handle = (port: number): ChildServer => ({
    pid: child.pid,
    port,
    status,
    recentOutput: () => [...recent],
    stop(graceMs = 3000) {
      stopping ??= (async () => {
        signal("SIGTERM");
        const timer = setTimeout(() => signal("SIGKILL"), graceMs);
        await status;
        clearTimeout(timer);
      })();
      return stopping;
    },
    async kill() {
      signal("SIGKILL");
      await status;
    },
  });
  const timeoutMs = o.timeoutMs ?? 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    portSeen.then((port) => ({ port })),
    status.then((s) => ({ exited: s.code })),
    new Promise<{ timeout: true }>((
      r,
    ) => (timer = setTimeout(() => r({ timeout: true }), timeoutMs))),
  ]);
  clearTimeout(timer);
  if ("port" in outcome) return handle(outcome.port);
  await handle(0).stop(500);
  const why = "exited" in outcome
    ? `exited with code ${outcome.exited}`
    : `did not announce a port within ${timeoutMs} ms`;
  throw new Error(`child server ${why}; last output:\n  ${recent.slice(-15).join("\n  ")}`);
}
