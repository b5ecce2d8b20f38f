// The disk-commit probe of the load tool (issue #6): how long one durable commit of one
// message takes on the disk the server's database lives on, with the server's own SQLite
// store (WAL, synchronous = FULL). Every message's `OK` waits for at least one such commit,
// so its p99 is a floor under the relay's p99 latency that no CPU work can lower.

import { SqliteStore } from "../../lib/server/store_sqlite.ts";
import { summarize } from "./stats.ts";

/** Latency of single-message commits, ms. */
export interface CommitLatency {
  readonly commits: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
}

/**
 * Commits `count` one-message transactions (each followed by the ack that removes it, as a
 * relay does) into a fresh database under `dir`, one at a time, and summarises the time of
 * the message commits. Bounded by `count` and by `maxSeconds`.
 */
export async function measureCommitLatency(
  dir: string,
  count: number,
  maxSeconds = 20,
): Promise<CommitLatency> {
  await Deno.mkdir(dir, { recursive: true });
  const store = new SqliteStore(`${dir}/commit-probe.db`);
  try {
    await store.apply([{ kind: "user", userId: "a", at: Date.now() }]);
    const samples: number[] = [];
    const payload = "QUFB".repeat(25);
    const end = performance.now() + maxSeconds * 1000;
    for (let i = 0; i < count && performance.now() < end; i++) {
      const sid = i + 1;
      const started = performance.now();
      await store.apply([{
        kind: "accept",
        sender: "a",
        messageId: `m${i}`,
        recipients: ["a"],
        payload,
        firstSid: sid,
        precheck: "pass",
        at: Date.now(),
      }]);
      samples.push(performance.now() - started);
      await store.apply([{ kind: "ack", recipient: "a", sid, sender: "a" }]);
    }
    const s = summarize(samples);
    return { commits: s.count, p50_ms: s.p50_ms, p99_ms: s.p99_ms, max_ms: s.max_ms };
  } finally {
    await store.close();
  }
}
