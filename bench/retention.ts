// Figures of what the server keeps in memory, moved here from the tests (buffer and heap
// figures, not correctness checks). A script, not a `deno bench` file:
//   DENO_NO_UPDATE_CHECK=1 deno run bench/retention.ts [lines]
// Under `deno bench` (which loads every file in bench/) it registers nothing.
//
// 1. Inbox slots (lib/asl/session.ts `inboxSlots`; spec section 3, "Records"): a reader
//    takes one line per macrotask while 1 200 lines arrive, so the inbox is refilled before
//    it empties and taken lines must be dropped as they go. Expected: the line bound (256),
//    the compaction step (256) and one read's overshoot, well under 800; near 1 200 means
//    taken lines are kept.
// 2. Bytes retained per parsed MESSAGE (lib/server/command.ts; spec section 5): V8's
//    substrings can be views of their source, so a short reply built from the id, waiting
//    behind an unread socket, could hold the 11 000-character line it answers. Expected:
//    well under 1 000 bytes per line (holding the lines would be about 11 000).

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { failedReply, parseCommand } from "../lib/server/command.ts";
import { sessionPair } from "../tools/load/record_layer.ts";

/** The largest `inboxSlots` seen while a keeping-pace reader takes `total` lines. */
async function maxInboxSlots(total: number): Promise<number> {
  const [server, client] = await sessionPair("X25519_AES_GCM", 1 << 16);
  try {
    const line = (i: number) => `MESSAGE m${i} b ${"x".repeat(200)}`;
    const sends = Array.from({ length: total }, (_, i) => client.send(line(i)));
    const it = server[Symbol.asyncIterator]();
    let maxSlots = 0;
    for (let i = 0; i < total; i++) {
      const r = await it.next();
      if (r.value !== line(i)) throw new Error(`line ${i} came as ${r.value}`);
      maxSlots = Math.max(maxSlots, server.inboxSlots);
      await new Promise((r) => setTimeout(r, 0));
    }
    await Promise.all(sends);
    return maxSlots;
  } finally {
    await client.close();
    await server.close();
  }
}

/** Heap bytes retained per parsed 11 000-character MESSAGE by its reply and one recipient. */
function retainedPerMessageLine(count = 2_000): number {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const payload = "QUFB".repeat(2750);
  const replies: string[] = [];
  gc();
  const before = Deno.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) {
    const cmd = parseCommand(`MESSAGE a-long-message-id-${i} {somerecipientname,bob} ${payload}`);
    if (cmd.kind !== "message" || cmd.error !== undefined) throw new Error("not a MESSAGE");
    replies.push(failedReply(cmd.messageId, "QUEUE_FULL"), cmd.recipients[1]!);
  }
  gc();
  const retained = (Deno.memoryUsage().heapUsed - before) / count;
  if (replies.length !== 2 * count) throw new Error("lost replies");
  return retained;
}

if (import.meta.main) {
  const total = Number(Deno.args[0] ?? 1200);
  const slots = await maxInboxSlots(total);
  // deno-lint-ignore no-console
  console.log(`inbox slots held by a keeping-pace reader of ${total} lines: max ${slots}`);
  const retained = retainedPerMessageLine();
  // deno-lint-ignore no-console
  console.log(`heap retained per parsed 11 000-character MESSAGE: ${retained.toFixed(0)} bytes`);
}
