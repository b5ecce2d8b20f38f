// Tests of tools/load/profile.ts: self time per function, file and category from a
// hand-made .cpuprofile, idle time excluded.

import assert from "node:assert/strict";
import { categorize, formatProfile, summarizeProfile } from "../tools/load/profile.ts";

const frame = (functionName: string, url: string, lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
});

const PROFILE = {
  nodes: [
    { id: 1, callFrame: frame("(root)", ""), children: [2, 3, 4, 5] },
    { id: 2, callFrame: frame("(idle)", "") },
    { id: 3, callFrame: frame("gcmNonce", "file:///w/lib/asl/records.ts", 82) },
    { id: 4, callFrame: frame("op_write", "") },
    { id: 5, callFrame: frame("next", "file:///w/lib/asl/framing.ts", 106) },
  ],
  // timeDeltas[i + 1] is the time of sample i.
  samples: [2, 3, 3, 4, 5, 2],
  timeDeltas: [0, 5000, 1000, 1000, 1000, 1000],
};

Deno.test("summarizeProfile attributes self time and leaves idle out of busy time", () => {
  const s = summarizeProfile(PROFILE);
  assert.equal(s.totalMs, 10); // 5 + 1 + 1 + 1 + 1 + the last sample's own 1
  assert.equal(s.busyMs, 4);
  assert.deepEqual(s.functions.map((r) => [r.name, r.ms, r.pct]), [
    ["gcmNonce lib/asl/records.ts:83", 2, 50],
    ["op_write (native)", 1, 25],
    ["next lib/asl/framing.ts:107", 1, 25],
  ]);
  assert.deepEqual(s.files.map((r) => r.name), [
    "lib/asl/records.ts",
    "(native)",
    "lib/asl/framing.ts",
  ]);
  assert.equal(summarizeProfile(PROFILE, 1).functions.length, 1);
});

Deno.test("categorize groups functions into the README's categories", () => {
  assert.deepEqual(categorize(PROFILE).map((r) => [r.name, r.pct]), [
    ["record crypto", 50],
    ["socket I/O", 25],
    ["framing", 25],
  ]);
  const text = formatProfile(summarizeProfile(PROFILE));
  assert.match(text, /\| `gcmNonce lib\/asl\/records.ts:83` \| 2 \| 50 \|/);
});
