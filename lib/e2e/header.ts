// The header H of an ASL-E2E/1 envelope (ASL spec section 7, "Envelope"): its strict parser
// (receiving step 1: UTF-8 without a byte order mark, one JSON object with exactly the six
// members, each once, of the stated types) and its compact encoding for sealing. Pure: bytes
// in, a Header or an E2eError (`header`) out.

import type { Bytes } from "../asl/bytes.ts";
import { decodeBase64Strict } from "../base64.ts";
import { isMessageId, isUserId } from "../grammar.ts";
import { E2eError } from "./errors.ts";

/** Most bytes of H. */
export const HEADER_MAX = 4096;
/** Largest `H.ts`: 2^53 - 1. */
export const MAX_TS = Number.MAX_SAFE_INTEGER;
/** The media type of chat text. */
export const CHAT_TYPE = "text/plain;charset=utf-8";

/** The six members of H, decoded (ASL section 7). */

/** The six members of H, decoded (ASL section 7). */
export interface Header {
  /** The sender's USERID. */
  readonly from: string;
  /** Fingerprint of the signing leaf: SHA-256 of its DER, canonical base64 (44 characters). */
  readonly fp: string;
  /** The recipients, distinct, in the order of the wrapped keys. */
  readonly to: readonly string[];
  /** The sender's replay key (a MESSAGEID with at least 128 random bits). */
  readonly id: string;
  /** Milliseconds since 1970-01-01 UTC when sealed, 0 to 2^53 - 1. */
  readonly ts: number;
  /** The media type of the plaintext. */
  readonly type: string;
}

export function headerFault(message: string): never {
  throw new E2eError("header", `H ${message}`);
}

const MEMBERS = ["from", "fp", "to", "id", "ts", "type"] as const;
const TS_TEXT = /^(?:0|[1-9][0-9]*)$/;
const FP_TEXT = /^[A-Za-z0-9+/]{43}=$/;
const JSON_SPACE = " \t\n\r";

/**
 * The top-level members of a JSON object, by name and raw value text, in order and with
 * duplicates kept. `text` must already be known to be one valid JSON object (JSON.parse
 * accepted it), so the scan only has to skip strings and nested values.
 */
function topLevelMembers(text: string): { name: string; raw: string }[] {
  let i = 0;
  const space = () => {
    while (i < text.length && JSON_SPACE.includes(text.charAt(i))) i++;
  };
  const skipString = () => {
    i++; // opening quote
    while (i < text.length && text.charAt(i) !== '"') i += text.charAt(i) === "\\" ? 2 : 1;
    i++;
  };
  const skipValue = () => {
    const c = text.charAt(i);
    if (c === '"') return skipString();
    if (c === "{" || c === "[") {
      let depth = 0;
      do {
        const d = text.charAt(i);
        if (d === '"') {
          skipString();
          continue;
        }
        if (d === "{" || d === "[") depth++;
        else if (d === "}" || d === "]") depth--;
        i++;
      } while (depth > 0 && i < text.length);
      return;
    }
    while (
      i < text.length && !",}]".includes(text.charAt(i)) && !JSON_SPACE.includes(text.charAt(i))
    ) i++;
  };
  const members: { name: string; raw: string }[] = [];
  space();
  i++; // "{"
  space();
  if (text.charAt(i) === "}") return members;
  while (i < text.length) {
    space();
    const nameStart = i;
    skipString();
    const name = JSON.parse(text.slice(nameStart, i)) as string;
    space();
    i++; // ":"
    space();
    const valueStart = i;
    skipValue();
    members.push({ name, raw: text.slice(valueStart, i) });
    space();
    if (text.charAt(i) !== ",") break;
    i++;
  }
  return members;
}

/** True when `fp` is canonical padded base64 of 32 bytes (44 characters). */
export function isFingerprint(fp: string): boolean {
  if (!FP_TEXT.test(fp)) return false;
  return decodeBase64Strict(fp)?.length === 32;
}

/**
 * Parses H strictly (receiving step 1, second half): UTF-8 without a byte order mark, one
 * JSON object with exactly the six members `from`, `fp`, `to`, `id`, `ts`, `type`, each
 * once; `from` a USERID, `fp` canonical base64 of 32 bytes, `to` a list of distinct USERIDs,
 * `id` a MESSAGEID, `ts` an integer written without sign, fraction or exponent, 0 to
 * 2^53 - 1, `type` a string. Throws `E2eError("header")`. (`len(to) = n` is checked by
 * `decodeEnvelope`, which knows n.)
 *
 * @example
 * ```ts
 * import { parseHeader } from "./header.ts";
 * try {
 *   parseHeader(new TextEncoder().encode('{"from":"alice"}'));
 * } catch (e) {
 *   console.log((e as { code: string }).code); // "header"
 * }
 * ```
 */
export function parseHeader(bytes: Uint8Array): Header {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    headerFault("begins with a byte order mark");
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    headerFault("is not UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    headerFault("is not one JSON value");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    headerFault("is not a JSON object");
  }
  const members = topLevelMembers(text);
  const seen = new Set<string>();
  for (const { name } of members) {
    if (seen.has(name)) headerFault(`has the member ${JSON.stringify(name)} twice`);
    seen.add(name);
  }
  for (const name of MEMBERS) {
    if (!seen.has(name)) headerFault(`lacks the member ${JSON.stringify(name)}`);
  }
  if (members.length !== MEMBERS.length) {
    headerFault(`has ${members.length} members (exactly ${MEMBERS.length})`);
  }
  const h = value as Record<string, unknown>;
  const { from, fp, to, id, type } = h;
  if (typeof from !== "string" || !isUserId(from)) headerFault("member from is not a USERID");
  if (typeof fp !== "string" || !isFingerprint(fp)) {
    headerFault("member fp is not a canonical base64 SHA-256 fingerprint");
  }
  if (!Array.isArray(to)) headerFault("member to is not a list");
  const recipients: string[] = [];
  const distinct = new Set<string>();
  for (const entry of to as unknown[]) {
    if (typeof entry !== "string" || !isUserId(entry)) {
      headerFault("member to holds something that is not a USERID");
    }
    if (distinct.has(entry)) headerFault("member to names a recipient twice");
    distinct.add(entry);
    recipients.push(entry);
  }
  if (typeof id !== "string" || !isMessageId(id)) headerFault("member id is not a MESSAGEID");
  const tsRaw = members.find((m) => m.name === "ts")!.raw;
  if (!TS_TEXT.test(tsRaw) || Number(tsRaw) > MAX_TS) {
    headerFault(
      "member ts is not an integer from 0 to 2^53 - 1 without sign, fraction or exponent",
    );
  }
  if (typeof type !== "string") headerFault("member type is not a string");
  return Object.freeze({
    from,
    fp,
    to: Object.freeze(recipients),
    id,
    ts: Number(tsRaw),
    type,
  });
}

/** H as sealed: compact JSON with the members in the order from, fp, to, id, ts, type. */
export function encodeHeader(header: Header): Bytes {
  const { from, fp, to, id, ts, type } = header;
  return new TextEncoder().encode(JSON.stringify({ from, fp, to, id, ts, type }));
}
