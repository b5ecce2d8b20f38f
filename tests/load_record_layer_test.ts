// Tests of tools/load/record_layer.ts: the four lines of a relayed message and a small real
// measurement through two Sessions over the in-memory pipe.

import assert from "node:assert/strict";
import { measureRecordLayer, relayedMessageLines } from "../tools/load/record_layer.ts";
import { parseCommand } from "../lib/server/command.ts";

Deno.test("relayedMessageLines gives MESSAGE, its delivery and both OKs with the payload size", () => {
  const lines = relayedMessageLines(100);
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /^MESSAGE \S+ \S+ (QUFB){25}$/);
  assert.match(lines[1]!, /^MESSAGE \S+ \S+ (QUFB){25}$/);
  assert.match(lines[2]!, /^OK \S+$/);
  assert.match(lines[3]!, /^OK \S+$/);
  // The client's MESSAGE is one the server would accept as well formed.
  const command = parseCommand(lines[0]!);
  assert.equal(command.kind, "message");
  assert.equal("error" in command ? command.error : undefined, undefined);
});

Deno.test("measureRecordLayer sends every line through and reports CPU per record", async () => {
  const f = await measureRecordLayer(relayedMessageLines(100), 400, 20, 40);
  assert.equal(f.records, 400);
  assert.ok(f.cpu_us_per_record > 0);
  assert.ok(f.wall_us_per_record > 0);
});
