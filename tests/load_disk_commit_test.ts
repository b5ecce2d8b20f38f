// Tests of tools/load/disk_commit.ts: the probe commits real one-message transactions with
// the server's SQLite store and leaves nothing queued behind it.

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { measureCommitLatency } from "../tools/load/disk_commit.ts";

Deno.test("disk commit probe: commits and acks each message, percentiles in order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netsec-disk-" });
  try {
    const c = await measureCommitLatency(dir, 25);
    assert.equal(c.commits, 25);
    assert.ok(c.p50_ms > 0 && c.p50_ms <= c.p99_ms && c.p99_ms <= c.max_ms, JSON.stringify(c));
    const db = new DatabaseSync(`${dir}/commit-probe.db`);
    try {
      assert.equal(db.prepare("SELECT count(*) AS n FROM queue").get()?.n, 0);
      assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("disk commit probe: stops at its time bound", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netsec-disk-" });
  try {
    const c = await measureCommitLatency(dir, 1_000_000, 0.2);
    assert.ok(c.commits >= 1 && c.commits < 1_000_000, `${c.commits} commits`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
