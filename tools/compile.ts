// `deno task compile`: builds the standalone executables dist/netsec-msg-server and
// dist/netsec-msg-client with `deno compile` and the least permissions each needs.
// Without internet, `deno compile` cannot download its runtime (denort): it honours
// DENORT_BIN (a local denort binary); when no runtime can be had it fails with one line.

import { parseArgs } from "node:util";
import { errLine, outLine } from "./out.ts";

/** One executable to build. */
export interface Target {
  readonly name: "server" | "client";
  readonly entry: string;
  readonly output: string;
  /** Permission flags baked into the executable. */
  readonly permissions: readonly string[];
  /** Extra modules to embed (workers loaded by URL). */
  readonly include: readonly string[];
}

/** The two executables and the permissions they are given. */
export function targets(outDir = "dist"): Target[] {
  return [
    {
      name: "server",
      entry: "server.ts",
      output: `${outDir}/netsec-msg-server`,
      // Listens, reads certificates and the database, writes the database (and certs on
      // first use), reads its configuration from the environment.
      permissions: ["--allow-net", "--allow-read", "--allow-write", "--allow-env"],
      include: existing(["lib/server/store_worker.ts"]),
    },
    {
      name: "client",
      entry: "client.ts",
      output: `${outDir}/netsec-msg-client`,
      // Dials the server, reads certificates, writes its seen memory under the state
      // directory (and a user certificate on first use). Reads only HOME and
      // XDG_STATE_HOME (to find the state directory); no subprocesses.
      permissions: [
        "--allow-net",
        "--allow-read",
        "--allow-write",
        "--allow-env=HOME,XDG_STATE_HOME",
      ],
      include: [],
    },
  ];
}

function existing(paths: string[]): string[] {
  return paths.filter((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
}

/** Whether a denort runtime is at hand, and where (or why not). */
export interface RuntimeStatus {
  readonly available: boolean;
  readonly detail: string;
}

/**
 * Looks for a denort runtime without the network: `DENORT_BIN`, or the archive a previous
 * `deno compile` left in Deno's cache.
 */
export async function findRuntime(): Promise<RuntimeStatus> {
  const bin = Deno.env.get("DENORT_BIN");
  if (bin !== undefined && bin !== "") {
    try {
      if (Deno.statSync(bin).isFile) return { available: true, detail: `DENORT_BIN=${bin}` };
    } catch {
      // fall through
    }
    return { available: false, detail: `DENORT_BIN=${bin} is not a file` };
  }
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
    env: { DENO_NO_UPDATE_CHECK: "1" },
  }).output();
  let denoDir = "";
  try {
    denoDir = JSON.parse(new TextDecoder().decode(info.stdout)).denoDir ?? "";
  } catch {
    // no cache information
  }
  const version = Deno.version.deno;
  const target = Deno.build.target;
  const cached = `${denoDir}/dl/release/v${version}/denort-${target}.zip`;
  try {
    if (denoDir !== "" && Deno.statSync(cached).isFile) {
      return { available: true, detail: `cached ${cached}` };
    }
  } catch {
    // not cached
  }
  return {
    available: false,
    detail: `no denort ${version} for ${target}: DENORT_BIN is not set and none is cached ` +
      `(deno compile would download it, which needs the internet)`,
  };
}

/** Runs `deno compile` for one target; returns null on success or a one-line reason. */
export async function compileTarget(target: Target): Promise<string | null> {
  const args = [
    "compile",
    "--no-check",
    ...target.permissions,
    ...target.include.flatMap((p) => ["--include", p]),
    "--output",
    target.output,
    target.entry,
  ];
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  }).output();
  if (out.success) return null;
  const err = new TextDecoder().decode(out.stderr);
  if (/Setting up base binary|dl\.deno\.land|denort/i.test(err)) {
    return "deno compile could not get its runtime (denort) without the internet: " +
      "set DENORT_BIN to a local denort binary of the same Deno version";
  }
  const first = err.split("\n").map((l) => l.trim()).find((l) => /error/i.test(l)) ??
    err.trim().split("\n")[0] ?? "unknown failure";
  return first;
}

const HELP = `Usage: deno task compile [--only server|client] [--out DIR]

Builds DIR/netsec-msg-server and DIR/netsec-msg-client (DIR defaults to dist) with
deno compile. Without internet, point DENORT_BIN at a local denort binary of Deno
${Deno.version.deno} (the same file deno compile would download).`;

/** The task's entry: returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        only: { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    errLine(`error: ${(err as Error).message.split("\n")[0]}`);
    return 2;
  }
  if (values.help) {
    outLine(HELP);
    return 0;
  }
  if (values.only !== undefined && values.only !== "server" && values.only !== "client") {
    errLine(`error: --only must be server or client, not ${JSON.stringify(values.only)}`);
    return 2;
  }
  const runtime = await findRuntime();
  if (!runtime.available && Deno.env.get("DENORT_BIN")) {
    errLine(`error: ${runtime.detail}`);
    return 1;
  }
  const chosen = targets(values.out ?? "dist").filter((t) =>
    values.only === undefined || t.name === values.only
  );
  await Deno.mkdir(values.out ?? "dist", { recursive: true });
  for (const target of chosen) {
    const failure = await compileTarget(target);
    if (failure !== null) {
      errLine(`error: ${target.output}: ${failure}`);
      return 1;
    }
    outLine(`built ${target.output} (${target.permissions.join(" ")})`);
  }
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
