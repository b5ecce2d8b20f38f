// Tests of tools/load/harness.ts: RLIMIT_NOFILE parsing, and a real child (the TLS baseline
// relay) started, found by its port line, and stopped; a child that never announces a port
// is killed and reported with its output.

import assert from "node:assert/strict";
import { readFdLimits, spawnServer } from "../tools/load/harness.ts";
import { readProcText } from "../tools/load/proc.ts";

Deno.test("readFdLimits parses /proc/<pid>/limits", () => {
  const text = "Limit                     Soft Limit           Hard Limit           Units\n" +
    "Max cpu time              unlimited            unlimited            seconds\n" +
    "Max open files            1024                 524288               files\n";
  assert.deepEqual(readFdLimits(text), { soft: 1024, hard: 524288 });
  assert.deepEqual(
    readFdLimits("Max open files            unlimited            unlimited            files\n"),
    { soft: Infinity, hard: Infinity },
  );
  const own = readFdLimits();
  assert.ok(own.soft >= 1 && own.hard >= own.soft);
});

Deno.test("spawnServer finds the port line and stop() ends the child", async () => {
  const script = "console.error('starting'); console.log('LISTENING 4321');" +
    "setInterval(() => {}, 1000);";
  const child = await spawnServer({
    cmd: [Deno.execPath(), "eval", script],
    ready: /^LISTENING (\d+)$/,
    timeoutMs: 30_000,
    fdLimit: 64, // below the current limit: no shell wrapper
  });
  try {
    assert.equal(child.port, 4321);
    assert.ok(child.pid > 0);
    assert.ok(readProcText(`/proc/${child.pid}/stat`).startsWith(`${child.pid} (`));
  } finally {
    await child.stop(2000);
  }
  const status = await child.status;
  assert.equal(status.success, false);
  assert.ok(child.recentOutput().includes("starting"));
});

Deno.test("spawnServer kills a child that exits or stays silent and reports why", async () => {
  await assert.rejects(
    spawnServer({
      cmd: [Deno.execPath(), "eval", "console.error('bad flag'); Deno.exit(2)"],
      ready: /^LISTENING (\d+)$/,
      timeoutMs: 30_000,
    }),
    /exited with code 2;[\s\S]*bad flag/,
  );
  await assert.rejects(
    spawnServer({
      cmd: [Deno.execPath(), "eval", "setInterval(() => {}, 1000)"],
      ready: /^LISTENING (\d+)$/,
      timeoutMs: 1500,
    }),
    /did not announce a port within 1500 ms/,
  );
});
