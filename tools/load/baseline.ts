// The Deno-TLS baseline phase of the load tool (issue #6): starts tls_relay.ts as a child
// process with the run's server certificate and drives the same relay workload through it.

import { spawnServer } from "./harness.ts";
import { TextLineChannel } from "./channel.ts";
import { readCpuSeconds } from "./proc.ts";
import { type RelayOutcome, type RelayParams, runRelay } from "./relay.ts";

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
  const child = await spawnServer({
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
    const open = async () => {
      // connect + startTls, so the client socket gets TCP_NODELAY (Deno.TlsConn has no
      // setNoDelay; the relay's accepted sockets keep Deno's default).
      const tcp = await Deno.connect({ hostname: "127.0.0.1", port: child.port });
      tcp.setNoDelay(true);
      const conn = await Deno.startTls(tcp, { hostname: "127.0.0.1", caCerts: [pki.caPem] });
      await conn.handshake();
      return new TextLineChannel(conn);
    };
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
