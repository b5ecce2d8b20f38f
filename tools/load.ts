// `deno task load` (issue #6): the load tool's entry point. Parses flags, runs the phases
// (tools/load/run.ts), prints the table, writes the JSON and the SVG chart under
// bench/results/. Usage errors: one line on stderr, exit code 2.

import { parseLoadArgs, USAGE, UsageError } from "./load/args.ts";
import { killAllChildren } from "./harness.ts";
import { writeErr, writeOut } from "./out.ts";
import { stopThrowawayClustersSync } from "./load/postgres.ts";
import { formatReport } from "./load/report.ts";
import { toJson } from "./load/results.ts";
import { runLoad } from "./load/run.ts";
import { renderChart } from "./load/svg.ts";

/** Runs the load tool with `argv`; returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let opts;
  try {
    opts = parseLoadArgs(argv);
    const file = opts.pgStore?.kind === "url" ? opts.pgStore.passwordFile : undefined;
    if (file !== undefined) {
      await Deno.stat(file).catch(() => {
        throw new UsageError(`--store-password-file: cannot read ${file}`);
      });
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    writeErr(`load: ${err.message} (see --help)\n`);
    return 2;
  }
  if (opts.help) {
    writeOut(USAGE + "\n");
    return 0;
  }
  const onSignal = () => {
    killAllChildren();
    stopThrowawayClustersSync();
    writeErr("\nload: interrupted; child servers (and a throwaway PostgreSQL) stopped\n");
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const results = await runLoad(opts);
    writeOut("\n" + formatReport(results));
    await Deno.mkdir(opts.outDir, { recursive: true });
    const stamp = results.meta.date.replace(/[:.]/g, "-");
    const jsonPath = opts.jsonPath ?? `${opts.outDir}/load-${stamp}.json`;
    const svgPath = `${opts.outDir}/load-${stamp}.svg`;
    await Deno.writeTextFile(jsonPath, toJson(results));
    await Deno.writeTextFile(svgPath, renderChart(results));
    writeOut(`results: ${jsonPath}\nchart:   ${svgPath}\n`);
    return 0;
  } catch (err) {
    writeErr(`load: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    killAllChildren();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
