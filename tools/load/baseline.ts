// The Deno-TLS baseline phase of the load tool (issue #6): starts tls_relay.ts as a child
// process with the run's server certificate and drives the same relay workload through it.

import { spawnChild } from "../harness.ts";
import { readCpuSeconds } from "./proc.ts";
import { type RelayOutcome, type RelayParams, runRelay } from "./relay.ts";
import { openTlsChannel } from "./tls_relay.ts";

/** Files of the throwaway PKI the baseline needs. */
export interface BaselinePki {
  readonly caPem: string;
  readonly serverCertPath: string;
  readonly serverKeyPath: string;
}

/** Runs one relay measurement through a fresh baseline relay child; the child is stopped after. */
export async function runBaselineRelay(
  pki: BaselinePki,
  params: Omit<RelayParams, "open">,
  verbose = false,
): Promise<RelayOutcome & { serverCpuSeconds: number; clientCpuSeconds: number }> {
  const script = new URL("./tls_relay.ts", import.meta.url).pathname;
  const child = await spawnChild({
    cmd: [
      Deno.execPath(),
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      script,
      "--cert",
      pki.serverCertPath,
      "--key",
      pki.serverKeyPath,
    ],
    ready: /^LISTENING (\d+)$/,
    verbose,
  });
  try {
    const open = () => openTlsChannel(child.port, pki.caPem);
    let cpuStart = 0;
    let cpuEnd = 0;
    let selfStart = 0;
    let selfEnd = 0;
    const onMeasureStart = () => {
      cpuStart = readCpuSeconds(child.pid);
      selfStart = readCpuSeconds("self");
      params.onMeasureStart?.();
    };
    const onMeasureEnd = () => {
      cpuEnd = readCpuSeconds(child.pid);
      selfEnd = readCpuSeconds("self");
      params.onMeasureEnd?.();
    };
    const outcome = await runRelay({ ...params, open, onMeasureStart, onMeasureEnd });
    return {
      ...outcome,
      serverCpuSeconds: cpuEnd - cpuStart,
      clientCpuSeconds: selfEnd - selfStart,
    };
  } finally {
    await child.stop();
  }
}
