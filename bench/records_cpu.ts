// Per-record CPU of the ASL record layer's node:crypto fast path (spec section 3, "Records"):
// sealSync + openSync of a 120-byte plaintext, and Session-level send/receive over the in-memory
// pipe (base64, framing and the session's own work included). Prints µs per record (wall) and
// process CPU µs per record (node:process cpuUsage). A script, not a `deno bench` file:
//   DENO_NO_UPDATE_CHECK=1 deno task bench:records [records] [sessionRecords]
// Under `deno bench` (which loads every file in bench/) it registers nothing and measures nothing.

import process from "node:process";
import { createRecordCipher } from "../lib/asl/records.ts";
import { measureRecordLayer } from "../tools/load/record_layer.ts";

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function report(name: string, n: number, wallMs: number, cpuUs: number): void {
  const wall = (wallMs * 1000 / n).toFixed(2);
  const cpu = (cpuUs / n).toFixed(2);
  // deno-lint-ignore no-console
  console.log(`${name.padEnd(34)} ${wall.padStart(7)} µs/record wall ${cpu.padStart(7)} µs CPU`);
}

const keys = {
  suite: "AES_GCM" as const,
  key: new Uint8Array(32).fill(7),
  iv: new Uint8Array(12).fill(3),
};

async function cipherLoop(n: number): Promise<void> {
  const sealer = await createRecordCipher(keys);
  const opener = await createRecordCipher(keys);
  const pt = new Uint8Array(120).fill(65);
  for (let i = 0; i < 20_000; i++) opener.openSync!(sealer.sealSync!(pt, i), i); // warm-up
  const c0 = cpuMicros();
  const t0 = performance.now();
  let check = 0;
  for (let i = 0; i < n; i++) check += opener.openSync!(sealer.sealSync!(pt, i), i).length;
  report("GCM sealSync+openSync, 120 B", n, performance.now() - t0, cpuMicros() - c0);
  if (check !== n * 120) throw new Error("round trip lost bytes");
}

async function sessionLoop(n: number, window: number): Promise<void> {
  const line = "MESSAGE m1 bob " + "QUFB".repeat(25); // 115 characters, ~ a relayed message
  const f = await measureRecordLayer([line], n, window);
  report(
    `Session send/receive, window ${window}`,
    n,
    f.wall_us_per_record * n / 1000,
    f.cpu_us_per_record * n,
  );
}

if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 200_000);
  const sessionN = Number(Deno.args[1] ?? 100_000);
  await cipherLoop(n);
  await sessionLoop(sessionN, 20);
  await sessionLoop(sessionN / 5, 1);
}
