// Probes of the load tool's robustness phases (issue #6, `--faults`): handshakes that stall
// after M1 (how and when the server cuts them), and a client that stops reading while it keeps
// sending (the server's RSS over time). What they do to a relay is measured in
// fault_phases.ts; the pass/fail checks of the same behaviours are tests
// (server_serve_test: silent peers; server_slow_reader_test).

import { FrameReader } from "../../lib/asl/framing.ts";
import { serializeM1 } from "../../lib/asl/messages.ts";
import { connect } from "../../lib/asl/mod.ts";
import type { Duplex } from "../../lib/asl/types.ts";
import { closeQuietly, dial, writeAll } from "../../lib/asl/transport.ts";
import type { AslTarget } from "./asl_client.ts";
import { register, runTag, sleep } from "./relay.ts";
import { readRssKib } from "./proc.ts";

/** Result of the stalled-handshake phase. */
export interface StallOutcome {
  readonly stalled: number;
  /** Connections the server cut (ASL_ERROR or EOF) within timeout + 3 s. */
  readonly cut_in_time: number;
  /** Connections cut before the timeout had passed (should be 0). */
  readonly cut_early: number;
  /** Connections cut more than 3 s after the timeout. */
  readonly cut_late: number;
  /** Connections still open at the end (should be 0). */
  readonly never_cut: number;
  /** Slowest cut, ms after the connection was opened. */
  readonly slowest_cut_ms: number;
  /** The `ASL_ERROR` line the server sent before closing (one connection's). */
  readonly sample_reply: string;
}

/**
 * Reads messages until the first `ASL_ERROR` (its line) or the end of input, a reset or a
 * framing fault ("").
 */
export async function errorReply(reader: FrameReader): Promise<string> {
  try {
    for (let f; (f = await reader.next()) !== null;) {
      if (f.lines[0]?.startsWith("ASL_ERROR")) return f.lines[0];
    }
  } catch {
    // a cut too
  }
  return "";
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
  const conns: Deno.TcpConn[] = [];
  const cuts = { early: 0, inTime: 0, late: 0 };
  let slowest = 0;
  let sample = "";
  const watchers: Promise<void>[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const conn = await dial({ hostname, port });
      conns.push(conn);
      const opened = performance.now();
      await writeAll(conn, serializeM1());
      watchers.push(
        errorReply(new FrameReader(conn)).then((reply) => {
          const after = performance.now() - opened;
          slowest = Math.max(slowest, after);
          cuts[after < timeoutMs - 250 ? "early" : after <= timeoutMs + 3000 ? "inTime" : "late"]++;
          sample ||= reply;
        }),
      );
    }
    await Promise.race([Promise.all(watchers), sleep(timeoutMs + 5000)]);
    return {
      stalled: count,
      cut_in_time: cuts.inTime,
      cut_early: cuts.early,
      cut_late: cuts.late,
      never_cut: count - cuts.inTime - cuts.early - cuts.late,
      slowest_cut_ms: Math.round(slowest),
      sample_reply: sample,
    };
  } finally {
    for (const conn of conns) closeQuietly(conn);
  }
}

/**
 * A Duplex over a TCP connection whose reads can be frozen (a client that stops reading) and
 * thawed; a read frozen at close returns end of input.
 */
export class FreezableConn implements Duplex {
  #gate: PromiseWithResolvers<void> | undefined;
  #closed = false;
  constructor(readonly conn: Deno.TcpConn) {}
  freeze(): void {
    this.#gate ??= Promise.withResolvers<void>();
  }
  thaw(): void {
    this.#gate?.resolve();
    this.#gate = undefined;
  }
  async read(p: Uint8Array): Promise<number | null> {
    while (this.#gate) await this.#gate.promise;
    return this.#closed ? null : await this.conn.read(p);
  }
  write(p: Uint8Array): Promise<number> {
    return this.conn.write(p);
  }
  closeWrite(): Promise<void> {
    return this.conn.closeWrite();
  }
  close(): void {
    this.#closed = true;
    this.thaw();
    closeQuietly(this.conn);
  }
  setNoDelay(on: boolean): void {
    this.conn.setNoDelay(on);
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
): Promise<StalledReaderOutcome> {
  const conn = new FreezableConn(await dial(t));
  const user = "stalled0";
  const session = await connect(conn, {
    credentials: await t.users.credentials(user),
    trust: t.pki.trust,
    serverName: t.hostname,
  });
  const rss: number[] = [readRssKib(serverPid)];
  const sample = () => {
    try {
      rss.push(readRssKib(serverPid));
      return true;
    } catch {
      return false; // the server is gone: reported, not thrown
    }
  };
  const sampler = setInterval(sample, 1000);
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
    for (let i = 0; Date.now() < end; i++) {
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
    const serverExited = !sample();
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
