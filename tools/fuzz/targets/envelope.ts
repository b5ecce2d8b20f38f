// Fuzz target `envelope` (issue 13; ASL spec section 7, receiving step 1): the end-to-end
// envelope parser (lib/e2e/envelope.ts decodeEnvelope: framing, then the header H). Only
// E2eError may escape. Oracle: an accepted envelope starts with the magic, its header obeys
// section 7 (six members, USERIDs, distinct `to` of length n, a MESSAGEID `id`, an integer
// `ts` in range, a 44-character canonical base64 `fp`), and the signed part is a prefix of it.

import { decodeEnvelope, isEnvelope } from "../../../lib/e2e/envelope.ts";
import { isFingerprint } from "../../../lib/e2e/header.ts";
import { E2eError } from "../../../lib/e2e/errors.ts";
import { isMessageId, isUserId } from "../../../lib/grammar.ts";
import { type FuzzTarget, InvariantViolation } from "../types.ts";
import { readVectorText, utf8 } from "../vectors.ts";

function bad(what: string): never {
  throw new InvariantViolation(`decodeEnvelope accepted ${what}`);
}

export const envelopeTarget: FuzzTarget = {
  name: "envelope",
  description: "the end-to-end envelope parser (decodeEnvelope: framing and header H)",
  maxBytes: 16_384,
  maxMs: 250,
  dictionary: [
    "ASLE2E1\0",
    '"from":',
    '"fp":',
    '"to":[',
    '"id":',
    '"ts":',
    '"type":',
    "-0",
    "1e3",
    "\\u0000",
  ].map(utf8),
  async seeds() {
    const seeds: Uint8Array[] = [];
    const good = JSON.parse(await readVectorText("e2e-envelope.json"));
    for (const e of good.envelopes) seeds.push(Uint8Array.fromHex(e.envelope));
    const negative = JSON.parse(await readVectorText("e2e-negative.json"));
    for (const c of negative) seeds.push(Uint8Array.fromHex(c.envelope));
    return seeds;
  },
  run(input) {
    const { frame, header } = decodeEnvelope(input);
    if (!isEnvelope(input)) bad("bytes without the magic");
    if (!isUserId(header.from)) bad("a `from` that is not a USERID");
    if (!isFingerprint(header.fp)) bad("an `fp` that is not a fingerprint");
    if (!isMessageId(header.id)) bad("an `id` that is not a MESSAGEID");
    if (!Number.isSafeInteger(header.ts) || header.ts < 0) bad(`ts ${header.ts}`);
    if (header.to.length !== frame.wrapped.length) bad("len(to) ≠ n");
    if (new Set(header.to).size !== header.to.length) bad("a recipient twice");
    if (!header.to.every(isUserId)) bad("a recipient that is not a USERID");
    if (typeof header.type !== "string") bad("a `type` that is not a string");
    const signed = frame.signedPart;
    if (signed.length >= input.length || !signed.every((b, i) => b === input[i])) {
      bad("a signed part that is not a prefix of the envelope");
    }
    return `open:${Math.min(header.to.length, 3)}`;
  },
  expected: (err) => err instanceof E2eError,
};
