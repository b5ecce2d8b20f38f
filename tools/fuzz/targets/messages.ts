// Fuzz target `messages` (issue 13; ASL spec section 2): every handshake message parser
// (parseM1 … parseM7, parseM5X25519, parseM6X25519, parsePemChain, throwIfAslError) on the
// lines of the input — the frame's lines when the input is one well-framed message, else
// the input split at LF. Oracle: a message that parses serialises back to its exact bytes
// (M1, M4–M7, both X25519 forms), and M2/M3 parse again to the same values.

import { AslError } from "../../../lib/asl/errors.ts";
import { FrameParser, HANDSHAKE_LIMITS } from "../../../lib/asl/framing.ts";
import {
  parseM1,
  parseM2,
  parseM3,
  parseM4,
  parseM5,
  parseM5X25519,
  parseM6,
  parseM6X25519,
  parseM7,
  parsePemChain,
  serializeM1,
  serializeM2,
  serializeM3,
  serializeM4,
  serializeM5,
  serializeM5X25519,
  serializeM6,
  serializeM6X25519,
  serializeM7,
  throwIfAslError,
} from "../../../lib/asl/messages.ts";
import { type FuzzTarget, InvariantViolation } from "../types.ts";
import { loadSession, SESSION_FILES, utf8 } from "../vectors.ts";

const decoder = new TextDecoder();

/** The lines of `input`: its only frame's, or the input split at LF. */
function linesOf(input: Uint8Array): { lines: string[]; exact: boolean } {
  const parser = new FrameParser(HANDSHAKE_LIMITS);
  parser.push(input);
  try {
    const frame = parser.next();
    if (frame && !parser.hasPending) return { lines: [...frame.lines], exact: true };
  } catch (err) {
    if (!(err instanceof AslError)) throw err;
  }
  const lines = decoder.decode(input).split("\n");
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return { lines, exact: false };
}

function lines(bytes: Uint8Array): string[] {
  const l = decoder.decode(bytes).split("\n");
  return l.slice(0, -2);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

type Check = (l: readonly string[], input: Uint8Array, exact: boolean) => void;

function roundTrip(name: string, bytes: Uint8Array, input: Uint8Array, exact: boolean): void {
  if (exact && !same(bytes, input)) {
    throw new InvariantViolation(`${name} parses but does not serialise back to its bytes`);
  }
}

const PARSERS: readonly (readonly [string, Check])[] = [
  ["err", (l) => throwIfAslError(l)],
  ["M1", (l, input, exact) => {
    parseM1(l);
    roundTrip("M1", serializeM1(), input, exact);
  }],
  ["M2", (l) => {
    const m = parseM2(l);
    const again = parseM2(lines(serializeM2(m)));
    if (
      !same(again.serverRandom, m.serverRandom) || again.chain.length !== m.chain.length ||
      !again.chain.every((der, i) => same(der, m.chain[i]!))
    ) throw new InvariantViolation("M2 does not parse again to the same values");
  }],
  ["M3", (l) => {
    const m = parseM3(l);
    const again = parseM3(lines(serializeM3(m)));
    if (
      again.suites.join(" ") !== m.suites.join(" ") || again.chain.length !== m.chain.length ||
      !again.chain.every((der, i) => same(der, m.chain[i]!))
    ) throw new InvariantViolation("M3 does not parse again to the same values");
  }],
  ["pem", (l) => void parsePemChain(l.slice(1))],
  ["M4", (l, input, exact) => roundTrip("M4", serializeM4(parseM4(l)), input, exact)],
  ["M5", (l, input, exact) => roundTrip("M5", serializeM5(parseM5(l)), input, exact)],
  ["M5X", (l, input, exact) => roundTrip("M5X", serializeM5X25519(parseM5X25519(l)), input, exact)],
  ["M6", (l, input, exact) => roundTrip("M6", serializeM6(parseM6(l)), input, exact)],
  ["M6X", (l, input, exact) => roundTrip("M6X", serializeM6X25519(parseM6X25519(l)), input, exact)],
  ["M7", (l, input, exact) => {
    parseM7(l);
    roundTrip("M7", serializeM7(), input, exact);
  }],
];

export const messagesTarget: FuzzTarget = {
  name: "messages",
  description: "parseM1..parseM7, parseM5X25519, parseM6X25519, parsePemChain, throwIfAslError",
  maxBytes: 40_000,
  maxMs: 250,
  dictionary: [
    "\n",
    "\n\n",
    " ",
    "=",
    "ASL_ERROR ",
    "ASL_ERROR BAD_SIGNATURE",
    "SALAAM_ASL",
    "ASL_SALAAM ",
    "ASYMCRYPO ",
    "ASYMCRYPOOK ",
    "SESSIONKEY ",
    "SESSIONKEYOK ",
    "LETS_TALK",
    "NONE",
    "X25519_AES_GCM",
    "AES_GCM",
    "AES_CBC",
    "-----BEGIN CERTIFICATE-----\n",
    "-----END CERTIFICATE-----\n",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
  ].map(utf8),
  async seeds() {
    const seeds: Uint8Array[] = [utf8("ASL_ERROR TIMEOUT\n\n"), utf8("ASYMCRYPOOK NONE\n\n")];
    for (const file of SESSION_FILES) {
      const s = await loadSession(file);
      seeds.push(...Object.values(s.messages).map(utf8));
    }
    return seeds;
  },
  run(input) {
    const { lines: l, exact } = linesOf(input);
    let label = exact ? "f" : "r";
    for (const [name, check] of PARSERS) {
      try {
        check(l, input, exact);
        label += ` ${name}`;
      } catch (err) {
        if (!(err instanceof AslError)) throw err;
        if (err.remote) label += ` ${name}:remote`;
      }
    }
    return label;
  },
  expected: (err) => err instanceof AslError,
};
