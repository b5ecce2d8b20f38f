// Per-record CPU of the ASL record layer's node:crypto fast path (spec section 3, "Records"):
// sealSync + openSync of a 120-byte plaintext; the same per command line when 20 such lines
// share one record (revision 4, X25519_AES_GCM) against one record each (AES_GCM), the record
// plaintext decoded into its lines in both; and Session-level send/receive over the in-memory
// pipe (base64, framing and the session's own work included) for both suites. Prints µs per
// record or per line (wall) and process CPU µs (node:process cpuUsage). A script, not a
// `deno bench` file:
//   DENO_NO_UPDATE_CHECK=1 deno task bench:records [records] [sessionRecords]
// Under `deno bench` (which loads every file in bench/) it registers nothing and measures nothing.

import process from "node:process";
import { createRecordCipher } from "../lib/asl/records.ts";
import { decodeRecordPlaintext, encodeRecordPlaintext } from "../lib/asl/records_codec.ts";
import { measureRecordLayer, type RecordLayerSuite } from "../tools/load/record_layer.ts";

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function report(name: string, n: number, wallMs: number, cpuUs: number, unit = "record"): void {
  const wall = (wallMs * 1000 / n).toFixed(2);
  const cpu = (cpuUs / n).toFixed(2);
  // deno-lint-ignore no-console
  console.log(`${name.padEnd(44)} ${wall.padStart(7)} µs/${unit} wall ${cpu.padStart(7)} µs CPU`);
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

/**
 * `lines` lines of 120 bytes: sealed, opened and decoded into lines `perRecord` to a record
 * (1: AES_GCM's one line per record; 20: a batch of X25519_AES_GCM). Reports µs per line.
 */
async function linesLoop(lines: number, perRecord: number): Promise<void> {
  const sealer = await createRecordCipher({ ...keys, suite: "X25519_AES_GCM" });
  const opener = await createRecordCipher({ ...keys, suite: "X25519_AES_GCM" });
  const pt = encodeRecordPlaintext(Array(perRecord).fill("A".repeat(120)));
  const records = Math.ceil(lines / perRecord);
  const out: string[] = [];
  const round = (count: number) => {
    let got = 0;
    for (let i = 0; i < count; i++) {
      out.length = 0;
      got += decodeRecordPlaintext(opener.openSync!(sealer.sealSync!(pt, i), i), out).length;
    }
    return got;
  };
  round(Math.ceil(20_000 / perRecord)); // warm-up
  const c0 = cpuMicros();
  const t0 = performance.now();
  const got = round(records);
  const name = `GCM seal+open+split, 120 B, ${perRecord} line${perRecord > 1 ? "s" : ""}/record`;
  report(name, got, performance.now() - t0, cpuMicros() - c0, "line");
  if (got !== records * perRecord) throw new Error("round trip lost lines");
}

async function sessionLoop(n: number, window: number, suite: RecordLayerSuite): Promise<void> {
  const line = "MESSAGE m1 bob " + "QUFB".repeat(25); // 115 characters, ~ a relayed message
  const f = await measureRecordLayer([line], n, window, 10_000, suite);
  report(
    `Session ${suite}, window ${window}`,
    n,
    f.wall_us_per_record * n / 1000,
    f.cpu_us_per_record * n,
    "line",
  );
}

if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 200_000);
  const sessionN = Number(Deno.args[1] ?? 100_000);
  await cipherLoop(n);
  await linesLoop(n, 1);
  await linesLoop(n, 20);
  for (const suite of ["AES_GCM", "X25519_AES_GCM"] as const) {
    await sessionLoop(sessionN, 20, suite);
    await sessionLoop(sessionN / 5, 1, suite);
  }
}
