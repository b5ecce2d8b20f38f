// The Deno-TLS baseline of the load tool (issue #6): a minimal in-memory relay on
// Deno.listenTls with the same RSA-2048 server certificate, speaking newline-delimited
// lines shaped like ASL's session commands (REGISTER / MESSAGE / OK) and framed like ASL's
// session messages (channel.ts), with no durability.
// Run as a child process (`spawnTlsRelay`): `deno run --allow-net=127.0.0.1 --allow-read
// tls_relay.ts --cert FILE --key FILE`; it prints `LISTENING <port>` on stdout.

import { parseArgs } from "node:util";
import { closeQuietly, prepareConn } from "../../lib/asl/transport.ts";
import { BatchWriter, readLines, TextLineChannel } from "./channel.ts";
import { type Child, spawnChild } from "../harness.ts";
import { writeErr, writeOut } from "../out.ts";

/** A running baseline relay. */
export interface TlsRelayHandle {
  readonly port: number;
  close(): void;
  readonly finished: Promise<void>;
}

interface Client {
  user: string | null;
  readonly writer: BatchWriter;
}

/** Starts the baseline relay on 127.0.0.1 (port 0 by default). */
export function startTlsRelay(
  options: { cert: string; key: string; port?: number },
): TlsRelayHandle {
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    cert: options.cert,
    key: options.key,
  });
  const online = new Map<string, Client>();
  const conns = new Set<Deno.TlsConn>();
  let nextSid = 0;

  const handle = (client: Client, line: string): void => {
    const sp1 = line.indexOf(" ");
    const verb = sp1 < 0 ? line : line.slice(0, sp1);
    if (verb === "REGISTER") {
      client.user = line.slice(sp1 + 1);
      online.set(client.user, client);
      void client.writer.write(`OK ${client.user}`).catch(() => {});
      return;
    }
    if (verb === "MESSAGE" && client.user !== null) {
      const sp2 = line.indexOf(" ", sp1 + 1);
      const sp3 = line.indexOf(" ", sp2 + 1);
      const id = line.slice(sp1 + 1, sp2);
      const to = online.get(line.slice(sp2 + 1, sp3));
      if (to === undefined || sp3 < 0) {
        void client.writer.write(`FAILED ${id} UNKNOWN_USER`).catch(() => {});
        return;
      }
      void to.writer.write(`MESSAGE s${nextSid++} ${client.user} ${line.slice(sp3 + 1)}`)
        .catch(() => {});
      void client.writer.write(`OK ${id}`).catch(() => {});
    }
    // `OK <sid>` acknowledgements need no work in a relay that keeps nothing.
  };

  const serveConn = async (conn: Deno.TlsConn) => {
    conns.add(conn);
    prepareConn(conn);
    const client: Client = { user: null, writer: new BatchWriter(conn) };
    try {
      for await (const line of readLines(conn)) handle(client, line);
    } catch {
      // a line past the framing rules ends this connection only
    } finally {
      conns.delete(conn);
      if (client.user !== null && online.get(client.user) === client) online.delete(client.user);
      closeQuietly(conn);
    }
  };

  const finished = (async () => {
    try {
      for await (const conn of listener) void serveConn(conn);
    } catch {
      // listener closed
    }
  })();

  return {
    port: (listener.addr as Deno.NetAddr).port,
    finished,
    close() {
      try {
        listener.close();
      } catch {
        // already closed
      }
      for (const conn of conns) closeQuietly(conn);
    },
  };
}

/**
 * A client channel to the baseline relay: connect + startTls, so the client socket gets
 * TCP_NODELAY (Deno.TlsConn has no setNoDelay; the relay's accepted sockets keep Deno's default).
 */
export async function openTlsChannel(port: number, caPem: string): Promise<TextLineChannel> {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  tcp.setNoDelay(true);
  const conn = await Deno.startTls(tcp, { hostname: "127.0.0.1", caCerts: [caPem] });
  await conn.handshake();
  return new TextLineChannel(conn);
}

/** Starts this relay as a child process with the run's server certificate and key files. */
export function spawnTlsRelay(
  pki: { readonly serverCertPath: string; readonly serverKeyPath: string },
  verbose: boolean,
): Promise<Child> {
  return spawnChild({
    cmd: [
      Deno.execPath(),
      ...["run", "--allow-net=127.0.0.1", "--allow-read"],
      new URL(import.meta.url).pathname,
      ...["--cert", pki.serverCertPath, "--key", pki.serverKeyPath],
    ],
    ready: /^LISTENING (\d+)$/,
    verbose,
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: { cert: { type: "string" }, key: { type: "string" } },
  });
  if (values.cert === undefined || values.key === undefined) {
    writeErr("tls_relay: --cert FILE and --key FILE are required\n");
    Deno.exit(2);
  }
  const relay = startTlsRelay({
    cert: Deno.readTextFileSync(values.cert),
    key: Deno.readTextFileSync(values.key),
  });
  writeOut(`LISTENING ${relay.port}\n`);
  Deno.addSignalListener("SIGTERM", () => relay.close());
  await relay.finished;
}
