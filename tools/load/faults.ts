// Probes of the load tool's robustness phases (issue #6, `--faults`): handshakes that stall
// after M1 (how and when the server cuts them), and a client that stops reading while it keeps
// sending (the server's RSS over time). What they do to a relay is measured in
// fault_phases.ts; the pass/fail checks of the same behaviours are tests (server_serve_test:
// silent peers, slow readers; server_crash_test: SIGKILL + restart).

import { connect } from "../../lib/asl/mod.ts";
import type { Duplex } from "../../lib/asl/types.ts";
import { closeQuietly } from "../../lib/asl/transport.ts";
import type { AslTarget } from "./asl_client.ts";
import { register, runTag, sleep } from "./relay.ts";
import { readRssKib } from "./proc.ts";

/** Result of the stalled-handshake phase. */
export interface StallOutcome {
  readonly stalled: number;
  /** Connections the server cut (EOF or ASL_ERROR) within timeout + 3 s. */
  readonly cut_in_time: number;
  /** Connections cut before the timeout had passed (should be 0). */
  readonly cut_early: number;
  /** Connections cut more than 3 s after the timeout. */
  readonly cut_late: number;
  /** Connections still open at the end (should be 0). */
  readonly never_cut: number;
  /** Slowest cut, ms after the connection was opened. */
  readonly slowest_cut_ms: number;
  /** What the server sent before closing (first bytes of one connection). */
  readonly sample_reply: string;
}

/**
 * Opens `count` TCP connections that send M1 (`SALAAM_ASL`) and then nothing, and waits
 * (at most timeout + 5 s) for the server to cut each.
 */
export async function stallHandshakes(
  hostname: string,
  port: number,
  count: number,
  timeoutMs: number,
): Promise<StallOutcome> {
  const m1 = new TextEncoder().encode("SALAAM_ASL\n\n");
  const conns: Deno.TcpConn[] = [];
  let cutInTime = 0;
  let cutEarly = 0;
  let cutLate = 0;
  let slowest = 0;
  let sample = "";
  const watchers: Promise<void>[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const conn = await Deno.connect({ hostname, port });
      conn.setNoDelay(true);
      conns.push(conn);
      const opened = performance.now();
      await conn.write(m1);
      watchers.push((async () => {
        const buf = new Uint8Array(8192);
        let text = "";
        try {
          for (let r = 0; r < 64; r++) {
            const n = await conn.read(buf);
            if (n === null) break;
            if (text.length < 100_000) text += new TextDecoder().decode(buf.subarray(0, n));
          }
        } catch {
          // a reset is a cut too
        }
        const after = performance.now() - opened;
        slowest = Math.max(slowest, after);
        if (after < timeoutMs - 250) cutEarly++;
        else if (after <= timeoutMs + 3000) cutInTime++;
        else cutLate++;
        if (sample === "" && text.includes("ASL_ERROR")) {
          sample = text.slice(text.indexOf("ASL_ERROR")).split("\n")[0] ?? "";
        }
      })());
    }
    const all = Promise.all(watchers);
    await Promise.race([all, sleep(timeoutMs + 5000)]);
    return {
      stalled: count,
      cut_in_time: cutInTime,
      cut_early: cutEarly,
      cut_late: cutLate,
      never_cut: count - cutInTime - cutEarly - cutLate,
      slowest_cut_ms: Math.round(slowest),
      sample_reply: sample,
    };
  } finally {
    for (const conn of conns) closeQuietly(conn);
  }
}

/** A Duplex over a TCP connection whose reads can be frozen (a client that stops reading). */
export class FreezableConn implements Duplex {
  readonly #conn: Deno.TcpConn;
  #frozen = false;
  #release: () => void = () => {};
  readonly #closed: Promise<void>;

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#closed = new Promise((r) => (this.#release = r));
  }

  /** From now on reads never complete (until close). */
  freeze(): void {
    this.#frozen = true;
  }

  async read(p: Uint8Array): Promise<number | null> {
    if (this.#frozen) {
      await this.#closed;
      return null;
    }
    return await this.#conn.read(p);
  }

  write(p: Uint8Array): Promise<number> {
    return this.#conn.write(p);
  }

  closeWrite(): Promise<void> {
    return this.#conn.closeWrite();
  }

  close(): void {
    this.#release();
    closeQuietly(this.#conn);
  }

  setNoDelay(on: boolean): void {
    this.#conn.setNoDelay(on);
  }
}

/** Result of the stalled-reader phase. */
export interface StalledReaderOutcome {
  /** Commands the stalled client got onto the wire. */
  readonly commands_sent: number;
  /** Bytes of commands it sent. */
  readonly bytes_sent: number;
  /** Whether a send stayed blocked for 2 s (the server stopped reading it). */
  readonly sends_blocked: boolean;
  /** Server RSS (MiB) sampled once a second from the freeze on. */
  readonly server_rss_mib: readonly number[];
  readonly server_rss_growth_kib: number;
  /** RSS grew less than 16 MiB over the last third of the samples (and the server lived). */
  readonly plateaued: boolean;
  /** The server process was gone at the end of the phase. */
  readonly server_exited: boolean;
}

/**
 * Connects a client that registers, stops reading, and for `seconds` sends MESSAGEs to
 * itself with 11 000-character payloads: deliveries (up to the in-flight cap) and replies
 * pile up unread in the server. The server's RSS is sampled every second.
 */
export async function stalledReader(
  t: AslTarget,
  serverPid: number,
  seconds: number,
  maxCommands = 200_000,
): Promise<StalledReaderOutcome> {
  const tcp = await Deno.connect({ hostname: t.hostname, port: t.port });
  const conn = new FreezableConn(tcp);
  const user = "stalled0";
  const session = await connect(conn, {
    credentials: await t.users.credentials(user),
    trust: t.pki.trust,
    serverName: t.hostname,
  });
  const rss: number[] = [readRssKib(serverPid)];
  const sampler = setInterval(() => {
    try {
      rss.push(readRssKib(serverPid));
    } catch {
      // the server is gone; the caller sees it
    }
  }, 1000);
  let sent = 0;
  let bytes = 0;
  let blocked = false;
  try {
    const it = session[Symbol.asyncIterator]();
    await register(session, user, () => {}, it);
    conn.freeze();
    const tag = runTag();
    const payload = "QUFB".repeat(2750); // 11 000 characters of base64
    const end = Date.now() + seconds * 1000;
    for (let i = 0; i < maxCommands && Date.now() < end; i++) {
      const line = `MESSAGE ${tag}-${i} ${user} ${payload}`;
      const sendDone = session.send(line).then(() => true, () => false);
      const ok = await Promise.race([sendDone, sleep(2000).then(() => "blocked" as const)]);
      if (ok === "blocked") {
        blocked = true;
        await sleep(Math.max(0, end - Date.now()));
        break;
      }
      if (ok === false) break;
      sent++;
      bytes += line.length;
    }
    await sleep(1000);
    let serverExited = false;
    try {
      rss.push(readRssKib(serverPid));
    } catch {
      serverExited = true; // the server died under the load: reported, not thrown
    }
    const third = rss[Math.floor((rss.length * 2) / 3)] as number;
    const last = rss[rss.length - 1] as number;
    return {
      commands_sent: sent,
      bytes_sent: bytes,
      sends_blocked: blocked,
      server_rss_mib: rss.map((k) => Math.round(k / 102.4) / 10),
      server_rss_growth_kib: last - (rss[0] as number),
      plateaued: !serverExited && last - third < 16 * 1024,
      server_exited: serverExited,
    };
  } finally {
    clearInterval(sampler);
    conn.close();
    await Promise.race([session.close(), sleep(2000)]);
  }
}
