// Robustness phases of the load tool (issue #6, `--faults`): 1 000 handshakes that stall
// after M1 while a relay runs; SIGKILL of the server during a relay and a restart on the
// same database (every OK'd message delivered exactly once by sid); and a client that stops
// reading while it keeps sending (server memory bounded, other pairs keep flowing).

import { connect } from "../../lib/asl/mod.ts";
import type { Duplex, SecureSession } from "../../lib/asl/types.ts";
import { type AslTarget, openAsl } from "./asl_client.ts";
import type { ChildServer } from "./harness.ts";
import { makePayload, readPayload, register, runTag, sleep } from "./relay.ts";
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
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }
}

/** Result of the crash-and-restart phase. */
export interface CrashOutcome {
  /** Messages the senders had an OK for when the server was killed. */
  readonly acknowledged: number;
  /** Of those, delivered (before or after the restart). */
  readonly acknowledged_delivered: number;
  /** Acknowledged messages never delivered (must be 0). */
  readonly lost: number;
  /** Messages delivered under two different sids (must be 0). */
  readonly duplicated: number;
  /** Deliveries repeating an already-seen sid (allowed: the ack was in flight). */
  readonly redelivered_same_sid: number;
  /** Delivered although the sender never got its OK (allowed: committed, reply lost). */
  readonly delivered_without_ok: number;
  readonly delivered_after_restart: number;
  readonly pass: boolean;
}

/**
 * Runs `pairs` sender→recipient pairs (window 20) against `server`, SIGKILLs it after
 * `runSeconds`, restarts it on the same data with `restart`, reconnects the recipients and
 * checks every OK'd message arrives exactly once (by sid).
 */
export async function crashAndRestart(
  first: { target: AslTarget; child: ChildServer },
  restart: () => Promise<{ target: AslTarget; child: ChildServer }>,
  pairs: number,
  runSeconds: number,
  payloadBytes: number,
): Promise<{ outcome: CrashOutcome; second: { target: AslTarget; child: ChildServer } }> {
  const tag = runTag();
  const oked = new Set<string>();
  const sidOf = new Map<string, string>(); // message key → first sid
  const seenSids = new Set<string>();
  let duplicated = 0;
  let redelivered = 0;
  let afterRestart = 0;
  let restarted = false;
  const sessions: SecureSession[] = [];

  const recipientLoop = async (s: SecureSession, it: AsyncIterator<string>) => {
    try {
      for (let r = await it.next(); r.done !== true; r = await it.next()) {
        const line = r.value;
        if (!line.startsWith("MESSAGE ")) continue;
        const [, sid = "", , payload = ""] = line.split(" ");
        void s.send(`OK ${sid}`).catch(() => {});
        const info = readPayload(payload);
        if (info === undefined || info[0] !== tag) continue;
        const key = `${info[1]}:${info[2]}`;
        if (restarted) afterRestart++;
        if (seenSids.has(sid)) {
          redelivered++;
          continue;
        }
        seenSids.add(sid);
        const prior = sidOf.get(key);
        if (prior === undefined) sidOf.set(key, sid);
        else if (prior !== sid) duplicated++;
      }
    } catch {
      // the server was killed
    }
  };

  const openRecipients = async (target: AslTarget) => {
    await Promise.all(Array.from({ length: pairs }, async (_, i) => {
      const s = await openAsl(target, `cr${i}`);
      sessions.push(s);
      const it = s[Symbol.asyncIterator]();
      const early: string[] = [];
      await register(s, `cr${i}`, (line) => early.push(line), it);
      // Lines that arrived before REGISTER's reply (none expected) are replayed first.
      const replay: AsyncIterator<string> = {
        next: () =>
          early.length > 0
            ? Promise.resolve({ done: false, value: early.shift() as string })
            : it.next(),
      };
      void recipientLoop(s, replay);
    }));
  };

  await openRecipients(first.target);
  let stop = false;
  await Promise.all(Array.from({ length: pairs }, async (_, i) => {
    const s = await openAsl(first.target, `cs${i}`);
    sessions.push(s);
    const it = s[Symbol.asyncIterator]();
    await register(s, `cs${i}`, () => {}, it);
    void (async () => {
      let seq = 0;
      let inFlight = 0;
      let wake: () => void = () => {};
      void (async () => {
        try {
          for (let r = await it.next(); r.done !== true; r = await it.next()) {
            if (r.value.startsWith(`OK ${tag}-`)) oked.add(`${i}:${r.value.slice(tag.length + 4)}`);
            inFlight--;
            wake();
          }
        } catch {
          // killed
        }
        stop = true;
        wake();
      })();
      while (!stop) {
        while (inFlight < 20 && !stop) {
          inFlight++;
          const n = seq++;
          void s.send(`MESSAGE ${tag}-${n} cr${i} ${makePayload(tag, i, n, payloadBytes)}`)
            .catch(() => {});
        }
        await new Promise<void>((r) => (wake = r));
      }
    })();
  }));
  await sleep(runSeconds * 1000);
  stop = true;
  await first.child.kill();
  await Promise.allSettled(sessions.splice(0).map((s) => s.close()));
  const acknowledged = new Set(oked);
  restarted = true;
  const second = await restart();
  try {
    await openRecipients(second.target);
    // Wait until every acknowledged message is in, or nothing new arrives for 3 s (max 60 s).
    const deadline = Date.now() + 60_000;
    let last = -1;
    let quietSince = Date.now();
    while (Date.now() < deadline) {
      const have = [...acknowledged].filter((k) => sidOf.has(k)).length;
      if (have === acknowledged.size) break;
      if (sidOf.size !== last) {
        last = sidOf.size;
        quietSince = Date.now();
      } else if (Date.now() - quietSince > 3000) break;
      await sleep(100);
    }
    await sleep(500);
  } finally {
    await Promise.allSettled(sessions.splice(0).map((s) => s.close()));
  }
  const delivered = [...acknowledged].filter((k) => sidOf.has(k)).length;
  const withoutOk = [...sidOf.keys()].filter((k) => !acknowledged.has(k)).length;
  const outcome: CrashOutcome = {
    acknowledged: acknowledged.size,
    acknowledged_delivered: delivered,
    lost: acknowledged.size - delivered,
    duplicated,
    redelivered_same_sid: redelivered,
    delivered_without_ok: withoutOk,
    delivered_after_restart: afterRestart,
    pass: acknowledged.size > 0 && delivered === acknowledged.size && duplicated === 0,
  };
  return { outcome, second };
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
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
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
