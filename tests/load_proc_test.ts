// Tests of tools/load/proc.ts: /proc/<pid>/stat CPU ticks and /proc/<pid>/status RSS parsing,
// and the readers against this very process.

import assert from "node:assert/strict";
import {
  parseStatCpuTicks,
  parseStatusRssKib,
  readCpuSeconds,
  readRssKib,
} from "../tools/load/proc.ts";

const STAT_TAIL = "S 1 42 42 0 -1 4194560 512 0 0 0 1234 567 0 0 20 0 9 0 100 3133440 396 " +
  "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

Deno.test("parseStatCpuTicks adds utime and stime", () => {
  assert.equal(parseStatCpuTicks(`42 (deno) ${STAT_TAIL}`), 1234 + 567);
});

Deno.test("parseStatCpuTicks counts fields after the last parenthesis of the name", () => {
  // A command name may hold spaces and parentheses: "(a) b) 1 2".
  assert.equal(parseStatCpuTicks(`42 ((a) b) 1 2) ${STAT_TAIL}`), 1801);
  assert.equal(parseStatCpuTicks(`7 (tokio-runtime-w) ${STAT_TAIL}\n`), 1801);
});

Deno.test("parseStatCpuTicks rejects text that is not a stat line", () => {
  assert.throws(() => parseStatCpuTicks(""), SyntaxError);
  assert.throws(() => parseStatCpuTicks("deno S 1 2 3"), SyntaxError);
  assert.throws(() => parseStatCpuTicks("42 (deno) S 1 2 3"), SyntaxError);
  assert.throws(
    () => parseStatCpuTicks(`42 (deno) ${STAT_TAIL.replace("1234", "-5")}`),
    SyntaxError,
  );
});

Deno.test("parseStatusRssKib reads VmRSS and rejects a status without it", () => {
  const status = "Name:\tdeno\nVmPeak:\t 999 kB\nVmRSS:\t   51234 kB\nRssAnon:\t 1 kB\n";
  assert.equal(parseStatusRssKib(status), 51234);
  assert.throws(() => parseStatusRssKib("Name:\tdeno\nVmPeak:\t 999 kB\n"), SyntaxError);
  assert.throws(() => parseStatusRssKib("VmRSS: lots"), SyntaxError);
});

Deno.test("readers work on this process: RSS positive, CPU time grows with work", () => {
  assert.ok(readRssKib("self") > 1000);
  assert.ok(readRssKib(Deno.pid) > 1000);
  const before = readCpuSeconds("self");
  // Burn CPU until the counter moves (bounded: at most 5 s of work).
  let after = before;
  const stop = Date.now() + 5000;
  let x = 0;
  while (after === before && Date.now() < stop) {
    for (let i = 0; i < 1e6; i++) x += Math.sqrt(i);
    after = readCpuSeconds("self");
  }
  assert.ok(x > 0);
  assert.ok(after > before, "CPU time did not advance after 5 s of work");
});
