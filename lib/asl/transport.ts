// The one seam between ASL and the network (spec section 1: a TCP byte stream): dialling
// and listening on TCP with TCP_NODELAY, and writing whole messages.

import type { Duplex } from "./types.ts";

/** Sets TCP_NODELAY when the stream is a TCP connection. */
export function prepareConn(conn: Duplex): void {
  const tcp = conn as Partial<Deno.TcpConn>;
  if (typeof tcp.setNoDelay === "function") {
    try {
      tcp.setNoDelay(true);
    } catch {
      // Not a TCP socket after all (or already closed): nothing to tune.
    }
  }
}

/** Opens a TCP connection with TCP_NODELAY set. */
export async function dial(address: { hostname: string; port: number }): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: address.hostname, port: address.port });
  conn.setNoDelay(true);
  return conn;
}

/** Listens on TCP (port 0 picks a free port); accepted connections need `prepareConn`. */
export function listen(options: { hostname?: string; port?: number } = {}): Deno.TcpListener {
  return Deno.listen({ hostname: options.hostname ?? "127.0.0.1", port: options.port ?? 0 });
}

/** Writes all of `bytes` (a whole message or a batch of records) in as few calls as it takes. */
export async function writeAll(conn: Duplex, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await conn.write(offset === 0 ? bytes : bytes.subarray(offset));
  }
}

/** Closes a stream, ignoring a stream that is already closed. */
export function closeQuietly(conn: Duplex): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
