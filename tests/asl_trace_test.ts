// Tests of lib/asl/trace.ts: one secret-free line per handshake step.

import assert from "node:assert/strict";
import { formatTraceEvent, traceToLogger } from "../lib/asl/trace.ts";
import { createLogger } from "../lib/log.ts";

Deno.test("trace: events format as one line naming the step", () => {
  assert.equal(
    formatTraceEvent({ step: "M3", direction: "sent", bytes: 1234, detail: "offer AES_GCM" }),
    "-> M3 ASYMCRYPO (1234 B) offer AES_GCM",
  );
  assert.equal(
    formatTraceEvent({ step: "ASL_ERROR", direction: "received", bytes: 0, detail: "TIMEOUT" }),
    "<- ASL_ERROR (0 B) TIMEOUT",
  );
});

Deno.test("trace: traceToLogger logs at debug level only", () => {
  const lines: string[] = [];
  traceToLogger(createLogger("debug", (l) => lines.push(l)))({
    step: "M4",
    direction: "received",
    bytes: 21,
    detail: "suite AES_GCM",
  });
  traceToLogger(createLogger("info", (l) => lines.push(l)))({
    step: "M4",
    direction: "received",
    bytes: 21,
    detail: "suite AES_GCM",
  });
  assert.equal(lines.length, 1);
  assert.match(
    lines[0]!,
    /DEBUG asl\.handshake step=M4 dir=received bytes=21 detail="suite AES_GCM"$/,
  );
});
