// Handshake tracing for `--verbose` and the demo (spec section 2, M1–M7): one secret-free
// line per step. Events never carry keys, nonces or message text.

import type { Logger } from "../log.ts";
import type { HandshakeTraceEvent } from "./types.ts";

/**
 * What `traceToLogger` needs of a logger: its debug level. lib/log.ts's `Logger` fits.
 *
 * @example
 * ```ts
 * import type { TraceLogger } from "./trace.ts";
 * const lines: string[] = [];
 * const logger: TraceLogger = { debug: (event, fields) => lines.push(`${event} ${fields?.step}`) };
 * logger.debug("asl.handshake", { step: "M1" });
 * ```
 */
export type TraceLogger = Pick<Logger, "debug">;

const NAMES: Record<HandshakeTraceEvent["step"], string> = {
  M1: "SALAAM_ASL",
  M2: "ASL_SALAAM",
  M3: "ASYMCRYPO",
  M4: "ASYMCRYPOOK",
  M5: "SESSIONKEY",
  M6: "SESSIONKEYOK",
  M7: "LETS_TALK",
  ASL_ERROR: "ASL_ERROR",
};

/**
 * Formats one trace event as a single line, e.g. `-> M3 ASYMCRYPO (1234 B) offer AES_GCM`.
 *
 * @example
 * ```ts
 * import { formatTraceEvent } from "./trace.ts";
 * const line = formatTraceEvent({ step: "M4", direction: "received", bytes: 21, detail: "suite AES_GCM" });
 * console.log(line); // "<- M4 ASYMCRYPOOK (21 B) suite AES_GCM"
 * ```
 */
export function formatTraceEvent(event: HandshakeTraceEvent): string {
  const arrow = event.direction === "sent" ? "->" : "<-";
  const name = event.step === "ASL_ERROR" ? "" : ` ${NAMES[event.step]}`;
  return `${arrow} ${event.step}${name} (${event.bytes} B) ${event.detail}`;
}

/**
 * A trace hook that writes each event to `logger` at debug level (`asl.handshake`).
 *
 * @example
 * ```ts
 * import { createLogger } from "../log.ts";
 * import { traceToLogger } from "./trace.ts";
 * const trace = traceToLogger(createLogger("debug"));
 * trace({ step: "M1", direction: "sent", bytes: 12, detail: "SALAAM_ASL" });
 * ```
 */
export function traceToLogger(logger: TraceLogger): (event: HandshakeTraceEvent) => void {
  return (event) =>
    logger.debug("asl.handshake", {
      step: event.step,
      dir: event.direction,
      bytes: event.bytes,
      detail: event.detail,
    });
}
