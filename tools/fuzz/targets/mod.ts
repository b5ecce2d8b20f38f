// The fuzz targets of `deno task fuzz` (issue 13), by name, in the order they run.

import type { FuzzTarget } from "../types.ts";
import { commandTarget } from "./command.ts";
import { envelopeTarget } from "./envelope.ts";
import { framingTarget } from "./framing.ts";
import { messagesTarget } from "./messages.ts";
import { certTarget, crlTarget } from "./pki.ts";
import { recordsTarget } from "./records.ts";

/** Every target. */
export const TARGETS: readonly FuzzTarget[] = [
  framingTarget, // lib/asl/framing.ts FrameParser, RecordLineSplitter
  messagesTarget, // lib/asl/messages.ts parseM1..parseM7, X25519 forms, throwIfAslError
  certTarget, // lib/pki validateChain (certificate parsing, size bounds, chain rules)
  crlTarget, // lib/pki/crl.ts parseCrl, and revocation in validateChain
  recordsTarget, // lib/asl/records.ts decodeRecordLine / openLine, GCM and CBC
  commandTarget, // lib/server/command.ts parseCommand
  envelopeTarget, // lib/e2e/envelope.ts decodeEnvelope (section 7, receiving step 1)
];

/** The target called `name`, or undefined. */
export function findTarget(name: string): FuzzTarget | undefined {
  return TARGETS.find((t) => t.name === name);
}
