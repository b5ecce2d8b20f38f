// The --faults phases of the load tool (issues #6 and #13): the relay's throughput with 1 000
// stalled handshakes, with 20 hostile M3s a second, and the server's RSS with a client that
// stops reading; each figure and verdict goes into `results.faults`. The probes are in
// faults.ts and hostile_m3.ts. SIGKILL + restart ("nothing OK'd is lost") measures nothing:
// it is a test, tests/server_crash_test.ts.

import { openAsl } from "./asl_client.ts";
import { type Ctx, relayFigure, type Under, withServer } from "./context.ts";
import { stalledReader, type StalledReaderOutcome, stallHandshakes } from "./faults.ts";
import { hostileCertificate, hostileHandshakes, type HostileOutcome } from "./hostile_m3.ts";
import { runRelay } from "./relay.ts";
import { round } from "./stats.ts";

/** Runs the three robustness phases. */
export async function phaseFaults(ctx: Ctx): Promise<void> {
  const faults: Record<string, unknown> = {};
  ctx.results.faults = faults;
  const o = ctx.opts;
  const relayParams = (u: Under, seconds: number, onMeasureStart?: () => void) => ({
    senders: Array.from({ length: o.pairs }, (_, i) => `fs${i}`),
    recipients: Array.from({ length: o.pairs }, (_, i) => `fr${i}`),
    window: 20,
    warmupSeconds: 0.5,
    seconds,
    payloadBytes: o.payloadBytes,
    open: (user: string) => openAsl(u.target, user),
    ...(onMeasureStart !== undefined ? { onMeasureStart } : {}),
  });
  // 1. 1 000 stalled handshakes during a relay run.
  const timeoutMs = 3000;
  await withServer(ctx, "sqlite", async (u) => {
    ctx.progress.update("faults: relay without stalls");
    const clean = relayFigure(await runRelay(relayParams(u, o.quick ? 4 : 6)));
    let stall: Promise<unknown> = Promise.resolve();
    ctx.progress.update("faults: relay with 1 000 stalled handshakes");
    const stalled = relayFigure(
      await runRelay(relayParams(u, (timeoutMs + 2000) / 1000, () => {
        stall = stallHandshakes(u.target.hostname, u.target.port, 1000, timeoutMs);
      })),
    );
    const cut = await stall;
    const ratio = clean.msgs_per_s > 0 ? stalled.msgs_per_s / clean.msgs_per_s : 0;
    faults.stalled_handshakes = {
      handshake_timeout_ms: timeoutMs,
      ...(cut as object),
      relay_clean_msgs_per_s: clean.msgs_per_s,
      relay_stalled_msgs_per_s: stalled.msgs_per_s,
      throughput_ratio: round(ratio, 3),
      pass: ratio >= 0.8 && (cut as { never_cut: number }).never_cut === 0,
    };
    ctx.progress.done(`faults: stalled handshakes ${JSON.stringify(faults.stalled_handshakes)}`);
  }, { fdLimit: 4096, extraArgs: ["--handshake-timeout", String(timeoutMs / 1000)] });

  // 1b. 20 hostile M3s a second (1 500-extension certificates) during a relay run.
  const hostileDer = await hostileCertificate();
  await withServer(ctx, "sqlite", async (u) => {
    const seconds = o.quick ? 4 : 6;
    ctx.progress.update("faults: relay without hostile handshakes");
    const clean = relayFigure(await runRelay(relayParams(u, seconds)));
    let hostile: Promise<HostileOutcome> | undefined;
    ctx.progress.update("faults: relay with 20 hostile M3s a second");
    const during = relayFigure(
      await runRelay(relayParams(u, seconds, () => {
        hostile = hostileHandshakes(u.target.hostname, u.target.port, hostileDer, 20, seconds);
      })),
    );
    const h = await hostile!;
    const ratio = clean.msgs_per_s > 0 ? during.msgs_per_s / clean.msgs_per_s : 0;
    faults.hostile_m3 = {
      per_second: 20,
      ...h,
      relay_clean_msgs_per_s: clean.msgs_per_s,
      relay_hostile_msgs_per_s: during.msgs_per_s,
      throughput_ratio: round(ratio, 3),
      pass: ratio >= 0.8 && h.refused_bad_certificate === h.attempts,
    };
    ctx.progress.done(`faults: hostile M3 ${JSON.stringify(faults.hostile_m3)}`);
  });

  ctx.results.meta.notes.push(
    "SIGKILL + restart (every OK'd message delivered once) is a test: tests/server_crash_test.ts",
  );

  // 2. A client that stops reading while other pairs flow.
  await withServer(ctx, "sqlite", async (u) => {
    if (u.pid === undefined) return;
    const pid = u.pid;
    ctx.progress.update("faults: relay with a client that stops reading");
    let reader: Promise<unknown> = Promise.resolve();
    const during = relayFigure(
      await runRelay(relayParams(u, o.quick ? 8 : 20, () => {
        reader = stalledReader(u.target, pid, o.quick ? 7 : 19);
      })),
    );
    const r = await reader as StalledReaderOutcome;
    faults.stalled_reader = {
      ...r,
      relay_msgs_per_s_meanwhile: during.msgs_per_s,
      relay_errors: during.errors,
      pass: r.plateaued && during.msgs_per_s > 0,
    };
    ctx.progress.done(`faults: stalled reader ${JSON.stringify(faults.stalled_reader)}`);
  });
}
