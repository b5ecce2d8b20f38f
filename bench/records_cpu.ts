// Per-record CPU of the ASL record layer's node:crypto fast path (spec section 3, "Records"):
// sealSync + openSync of a 120-byte plaintext; the same per command line when 20 such lines
// share one record (revision 4, X25519_AES_GCM) against one record each (AES_GCM), the record
// plaintext decoded into its lines in both; and Session-level send/receive over the in-memory
// pipe (base64, framing and the session's own work included; the load tool's record-layer
// engine, tools/load/record_layer.ts) for both suites. Prints µs per record or per line (wall)
// and process CPU µs. A script, not a `deno bench` file:
//   DENO_NO_UPDATE_CHECK=1 deno task bench:records [records] [sessionRecords]
// Under `deno bench` (which loads every file in bench/) it registers nothing and measures nothing.

import { createRecordCipher } from "../lib/asl/records.ts";
import { decodeRecordPlaintext, encodeRecordPlaintext } from "../lib/asl/records_codec.ts";
import { measureRecordLayer, type RecordLayerSuite } from "../tools/load/record_layer.ts";
import { readCpuSeconds } from "../tools/load/proc.ts";

function report(name: string, n: number, wallMs: number, cpuUs: number, unit: string): void {
  const wall = (wallMs * 1000 / n).toFixed(2);
  const cpu = (cpuUs / n).toFixed(2);
  // deno-lint-ignore no-console
  console.log(`${name.padEnd(44)} ${wall.padStart(7)} µs/${unit} wall ${cpu.padStart(7)} µs CPU`);
}

/**
 * `lines` lines of 120 bytes, `perRecord` to a record, sealed and opened with sealSync/openSync;
 * with `split` (X25519_AES_GCM's codec) each record is decoded into its lines and µs are per
 * line, else (AES_GCM, one line per record) per record.
 */
async function cipherLoop(lines: number, perRecord: number, split: boolean): Promise<void> {
  const keys = {
    suite: split ? "X25519_AES_GCM" as const : "AES_GCM" as const,
    key: new Uint8Array(32).fill(7),
    iv: new Uint8Array(12).fill(3),
  };
  const sealer = await createRecordCipher(keys);
  const opener = await createRecordCipher(keys);
  const pt = encodeRecordPlaintext(Array(perRecord).fill("A".repeat(120)));
  const out: string[] = [];
  const round = (count: number) => {
    let got = 0;
    for (let i = 0; i < count; i++) {
      const opened = opener.openSync!(sealer.sealSync!(pt, i), i);
      if (!split) {
        got += opened.length / 120;
        continue;
      }
      out.length = 0;
      got += decodeRecordPlaintext(opened, out).length;
    }
    return got;
  };
  round(Math.ceil(20_000 / perRecord)); // warm-up
  const records = Math.ceil(lines / perRecord);
  const c0 = readCpuSeconds("self");
  const t0 = performance.now();
  const got = round(records);
  const wall = performance.now() - t0;
  const cpu = (readCpuSeconds("self") - c0) * 1e6;
  if (!split) report("GCM sealSync+openSync, 120 B", got, wall, cpu, "record");
  else {
    const name = `GCM seal+open+split, 120 B, ${perRecord} line${perRecord > 1 ? "s" : ""}/record`;
    report(name, got, wall, cpu, "line");
  }
  if (got !== records * perRecord) throw new Error("round trip lost lines");
}

async function sessionLoop(n: number, window: number, suite: RecordLayerSuite): Promise<void> {
  const line = "MESSAGE m1 bob " + "QUFB".repeat(25); // 115 characters, ~ a relayed message
  const f = await measureRecordLayer([line], n, window, 10_000, suite);
  const name = `Session ${suite}, window ${window}`;
  report(name, n, f.wall_us_per_record * n / 1000, f.cpu_us_per_record * n, "line");
}

if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 200_000);
  const sessionN = Number(Deno.args[1] ?? 100_000);
  await cipherLoop(n, 1, false);
  await cipherLoop(n, 1, true);
  await cipherLoop(n, 20, true);
  for (const suite of ["AES_GCM", "X25519_AES_GCM"] as const) {
    await sessionLoop(sessionN, 20, suite);
    await sessionLoop(sessionN / 5, 1, suite);
  }
}
