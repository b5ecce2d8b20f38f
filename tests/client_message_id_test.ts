// Tests lib/client/message_id.ts: MESSAGEIDs follow the grammar and do not repeat.

import assert from "node:assert/strict";
import { isMessageId } from "../lib/client/commands.ts";
import { newMessageId } from "../lib/client/message_id.ts";

Deno.test("message ids follow the MESSAGEID grammar", () => {
  for (let i = 0; i < 100; i++) assert.ok(isMessageId(newMessageId()));
  assert.ok(isMessageId(newMessageId(8.64e15)));
});

Deno.test("message ids are unique even at the same millisecond (as after a restart)", () => {
  const ids = new Set<string>();
  for (let i = 0; i < 10_000; i++) ids.add(newMessageId(1_700_000_000_000));
  assert.equal(ids.size, 10_000);
});

Deno.test("message ids start with the time, so later ones sort later at equal length", () => {
  const a = newMessageId(1_700_000_000_000);
  const b = newMessageId(1_700_000_000_001);
  assert.ok(a.split("-")[0]! < b.split("-")[0]!);
  assert.equal(a.split("-")[0], (1_700_000_000_000).toString(36));
});
