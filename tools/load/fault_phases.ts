// The --faults phases of the load tool (issues #6 and #13): the relay's throughput with 1 000
// stalled handshakes, with 20 hostile M3s a second, and the server's RSS with a client that
// stops reading; each figure and verdict goes into `results.faults`. The probes are in
// faults.ts and hostile_m3.ts. SIGKILL + restart ("nothing OK'd is lost") measures nothing:
// it is a test, tests/server_crash_test.ts.

import { openAsl } from "./asl_client.ts";
import { type Ctx, measureRelay, type Under, withServer } from "./context.ts";
import { stalledReader, stallHandshakes } from "./faults.ts";
import { hostileCertificate, hostileHandshakes } from "./hostile_m3.ts";
import { round } from "./stats.ts";

/** Runs the three robustness phases. */
export async function phaseFaults(ctx: Ctx): Promise<void> {
  const faults: Record<string, unknown> = {};
  ctx.results.faults = faults;
  const o = ctx.opts;
  /** A relay on `u` with `probe` started as it measures, after a clean one (unless 0 s). */
  const underFault = async <T>(
    u: Under,
    [cleanSeconds, seconds]: [number, number],
    what: string,
    probe: () => Promise<T>,
  ) => {
    let running: Promise<T> | undefined;
    const relay = async (seconds: number, what: string, onMeasureStart = () => {}) =>
      (await measureRelay(ctx, {
        label: `faults: relay ${what}`,
        serverPids: [u.pid],
        prefix: "f",
        params: {
          window: 20,
          warmupSeconds: 0.5,
          seconds,
          open: (user) => openAsl(u.target, user),
          onMeasureStart,
        },
      })).figure;
    const clean = cleanSeconds > 0 ? (await relay(cleanSeconds, `without ${what}`)).msgs_per_s : 0;
    const fig = await relay(seconds, `with ${what}`, () => void (running = probe()));
    return { out: await running!, fig, clean, ratio: clean > 0 ? fig.msgs_per_s / clean : 0 };
  };

  // 1. 1 000 stalled handshakes during a relay run.
  const timeoutMs = 3000;
  await withServer(ctx, "sqlite", async (u) => {
    const s = await underFault(
      u,
      [o.quick ? 4 : 6, (timeoutMs + 2000) / 1000],
      "1 000 stalled handshakes",
      () => stallHandshakes(u.target.hostname, u.target.port, 1000, timeoutMs),
    );
    faults.stalled_handshakes = {
      handshake_timeout_ms: timeoutMs,
      ...s.out,
      relay_clean_msgs_per_s: s.clean,
      relay_stalled_msgs_per_s: s.fig.msgs_per_s,
      throughput_ratio: round(s.ratio, 3),
      pass: s.ratio >= 0.8 && s.out.never_cut === 0,
    };
    ctx.progress.done(`faults: stalled handshakes ${JSON.stringify(faults.stalled_handshakes)}`);
  }, { fdLimit: 4096, extraArgs: ["--handshake-timeout", String(timeoutMs / 1000)] });

  // 1b. 20 hostile M3s a second (1 500-extension certificates) during a relay run.
  const der = await hostileCertificate();
  await withServer(ctx, "sqlite", async (u) => {
    const seconds = o.quick ? 4 : 6;
    const s = await underFault(
      u,
      [seconds, seconds],
      "20 hostile M3s a second",
      () => hostileHandshakes(u.target.hostname, u.target.port, der, 20, seconds),
    );
    faults.hostile_m3 = {
      per_second: 20,
      ...s.out,
      relay_clean_msgs_per_s: s.clean,
      relay_hostile_msgs_per_s: s.fig.msgs_per_s,
      throughput_ratio: round(s.ratio, 3),
      pass: s.ratio >= 0.8 && s.out.refused_bad_certificate === s.out.attempts,
    };
    ctx.progress.done(`faults: hostile M3 ${JSON.stringify(faults.hostile_m3)}`);
  });

  ctx.results.meta.notes.push(
    "SIGKILL + restart (every OK'd message delivered once) is a test: tests/server_crash_test.ts",
  );

  // 2. A client that stops reading while other pairs flow.
  await withServer(ctx, "sqlite", async (u) => {
    const pid = u.pid;
    if (pid === undefined) return;
    const { fig, out: r } = await underFault(
      u,
      [0, o.quick ? 8 : 20],
      "a client that stops reading",
      () => stalledReader(u.target, pid, o.quick ? 7 : 19),
    );
    faults.stalled_reader = {
      ...r,
      relay_msgs_per_s_meanwhile: fig.msgs_per_s,
      relay_errors: fig.errors,
      pass: r.plateaued && fig.msgs_per_s > 0,
    };
    ctx.progress.done(`faults: stalled reader ${JSON.stringify(faults.stalled_reader)}`);
  });
}
