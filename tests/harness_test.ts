// Tests of tools/harness.ts, the child-process harness of the tests and the load tool:
// RLIMIT_NOFILE parsing, a child found by its port line and stopped, a child that exits or
// never announces a port killed and reported with its output, and server.ts itself.

import assert from "node:assert/strict";
import { parseFdLimits, spawnChild, spawnServerTs } from "../tools/harness.ts";
import { readProcText } from "../tools/load/proc.ts";
import { makeTestPki } from "./helpers/pki.ts";

Deno.test("parseFdLimits reads /proc/<pid>/limits", () => {
  const text = "Limit                     Soft Limit           Hard Limit           Units\n" +
    "Max cpu time              unlimited            unlimited            seconds\n" +
    "Max open files            1024                 524288               files\n";
  assert.deepEqual(parseFdLimits(text), { soft: 1024, hard: 524288 });
  assert.deepEqual(
    parseFdLimits("Max open files            unlimited            unlimited            files\n"),
    { soft: Infinity, hard: Infinity },
  );
  assert.deepEqual(parseFdLimits("nothing here"), { soft: 1024, hard: 1024 });
});

Deno.test("spawnChild finds the port line; stop() ends the child; output is kept", async () => {
  const script = "console.error('starting'); console.log('LISTENING 4321');" +
    "setInterval(() => {}, 1000);";
  const child = await spawnChild({
    cmd: [Deno.execPath(), "eval", script],
    ready: /^LISTENING (\d+)$/,
    timeoutMs: 30_000,
    fdLimit: 64, // below the current limit: no shell wrapper
  });
  try {
    assert.equal(child.port, 4321);
    assert.ok(readProcText(`/proc/${child.pid}/stat`).startsWith(`${child.pid} (`));
  } finally {
    await child.stop(2000);
  }
  assert.equal((await child.status).signal, "SIGTERM");
  assert.ok(child.output().includes("starting"));
});

Deno.test("spawnChild raises the fd limit through sh when asked for more", async () => {
  const { soft, hard } = parseFdLimits(readProcText(`/proc/${Deno.pid}/limits`));
  if (!(hard > soft)) return; // nothing to raise on this machine
  const want = Math.min(hard, soft + 1);
  const child = await spawnChild({
    cmd: [Deno.execPath(), "eval", "console.log('LISTENING 1'); setInterval(() => {}, 1000);"],
    ready: /^LISTENING (\d+)$/,
    fdLimit: want,
  });
  try {
    assert.equal(parseFdLimits(readProcText(`/proc/${child.pid}/limits`)).soft, want);
  } finally {
    await child.stop(2000);
  }
});

Deno.test("spawnChild kills a child that exits or stays silent and reports why", async () => {
  await assert.rejects(
    spawnChild({
      cmd: [Deno.execPath(), "eval", "console.error('bad flag'); Deno.exit(2)"],
      ready: /^LISTENING (\d+)$/,
    }),
    /exited with code 2;[\s\S]*bad flag/,
  );
  await assert.rejects(
    spawnChild({
      cmd: [Deno.execPath(), "eval", "setInterval(() => {}, 1000)"],
      ready: /^LISTENING (\d+)$/,
      timeoutMs: 1500,
    }),
    /did not announce a port within 1500 ms/,
  );
});

Deno.test("spawnServerTs starts server.ts on a free port; kill() and status", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harness-test-" });
  try {
    const pki = await makeTestPki(`${dir}/pki`);
    const child = await spawnServerTs({ pki, args: ["--data", `${dir}/h.db`] });
    try {
      assert.ok(child.port > 0);
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: child.port });
      conn.close();
      assert.ok(child.output().some((line) => line.includes(`:${child.port}`)));
    } finally {
      child.kill("SIGTERM");
      assert.equal((await child.status).code, 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
