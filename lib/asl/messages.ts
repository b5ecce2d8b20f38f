// ASL handshake messages (spec section 2): strict parsing and serialising of M1–M7 and
// ASL_ERROR, including the PEM certificate chains of M2 and M3.

import { decodeBase64Strict, encodeBase64 } from "../base64.ts";
import { MAX_CHAIN_LENGTH } from "../limits.ts";
import { concatBytes } from "./bytes.ts";
import { AslError } from "./errors.ts";

/** Names of the handshake steps, in protocol order. */
export type Step = "M1" | "M2" | "M3" | "M4" | "M5" | "M6" | "M7";

/** M2: the server's random and certificate chain (DER, leaf first). */
export interface M2 {
  readonly serverRandom: Uint8Array;
  readonly chain: readonly Uint8Array[];
}
/** M3: the client's suite offer (as sent, unknown names included) and chain. */
export interface M3 {
  readonly suites: readonly string[];
  readonly chain: readonly Uint8Array[];
}
/** M4: the suite the server chose, or `NONE`; `Q_S` for a key-agreement suite. */
export interface M4 {
  readonly suite: string;
  /** The server's ephemeral X25519 public key (32 bytes), only with `X25519_AES_GCM`. */
  readonly Q_S?: Uint8Array;
}
/** M5 (SESSIONKEY) fields, decoded. */
export interface M5 {
  readonly E: Uint8Array;
  readonly SIG_C: Uint8Array;
  readonly MAC: Uint8Array;
}
/** M6 (SESSIONKEYOK) fields, decoded. */
export interface M6 {
  readonly E2: Uint8Array;
  readonly SIG_S: Uint8Array;
}
/** M5 (SESSIONKEY) fields with `X25519_AES_GCM`, decoded and length-checked. */
export interface M5X25519 {
  readonly Q_C: Uint8Array;
  readonly SIG_C: Uint8Array;
  readonly MAC: Uint8Array;
}
/** M6 (SESSIONKEYOK) fields with `X25519_AES_GCM`, decoded and length-checked. */
export interface M6X25519 {
  readonly MAC_S: Uint8Array;
  readonly SIG_S: Uint8Array;
}

/** Length of `server_random`, `N` and `K` in bytes. */
export const RANDOM_BYTES = 32;
/** Most suites in an offer. */
export const MAX_SUITES = 16;
/** Length of Q_S, Q_C, MAC and MAC_S with `X25519_AES_GCM`. */
export const X25519_FIELD_BYTES = 32;
/** The key-agreement suite, whose M4 carries Q_S. */
const KEY_AGREEMENT_SUITE = "X25519_AES_GCM";

const PEM_BEGIN = "-----BEGIN CERTIFICATE-----";
const PEM_END = "-----END CERTIFICATE-----";
const PEM_LINE = /^[A-Za-z0-9+/=]{1,64}$/;
const SUITE_NAME = /^[A-Z0-9_]{1,32}$/;
const ERROR_CODE = /^[A-Z0-9_]{1,64}$/;
const encoder = new TextEncoder();

function protocolError(message: string): AslError {
  return new AslError("PROTOCOL_ERROR", message);
}

/** Serialises lines into one message: each line plus `LF`, then the empty line. */
export function serializeMessage(lines: readonly string[]): Uint8Array {
  return encoder.encode(lines.join("\n") + "\n\n");
}

/**
 * If `lines` is an `ASL_ERROR <CODE>` message, throws the remote `AslError` it carries.
 * A malformed `ASL_ERROR` is a `PROTOCOL_ERROR`.
 */
export function throwIfAslError(lines: readonly string[]): void {
  const first = lines[0] ?? "";
  if (first !== "ASL_ERROR" && !first.startsWith("ASL_ERROR ")) return;
  const fields = first.split(" ");
  const code = fields[1];
  if (lines.length !== 1 || fields.length !== 2 || code === undefined || !ERROR_CODE.test(code)) {
    throw protocolError("malformed ASL_ERROR message");
  }
  throw new AslError(code, `peer sent ASL_ERROR ${code}`, { remote: true });
}

/** `ASL_ERROR <code>` as a message. */
export function serializeAslError(code: string): Uint8Array {
  return serializeMessage([`ASL_ERROR ${code}`]);
}

function expectSingleLine(lines: readonly string[], step: Step): string[] {
  throwIfAslError(lines);
  if (lines.length !== 1) throw protocolError(`${step} must be one line`);
  return lines[0]!.split(" ");
}

function decodeField(text: string | undefined, what: string): Uint8Array {
  const bytes = text === undefined ? undefined : decodeBase64Strict(text);
  if (bytes === undefined || bytes.length === 0) {
    throw protocolError(`${what} is not strict base64`);
  }
  return bytes;
}

/** A base64 field that must decode to exactly 32 bytes (`PROTOCOL_ERROR` otherwise). */
function decodeField32(text: string | undefined, what: string): Uint8Array {
  const bytes = decodeField(text, what);
  if (bytes.length !== X25519_FIELD_BYTES) {
    throw protocolError(`${what} is not ${X25519_FIELD_BYTES} bytes`);
  }
  return bytes;
}

// --- PEM chains ------------------------------------------------------------------------

/** Encodes DER certificates as PEM lines (64-character body lines). */
export function pemLines(chain: readonly Uint8Array[]): string[] {
  const out: string[] = [];
  for (const der of chain) {
    out.push(PEM_BEGIN);
    const body = encodeBase64(der);
    for (let i = 0; i < body.length; i += 64) out.push(body.slice(i, i + 64));
    out.push(PEM_END);
  }
  return out;
}

interface PemBlock {
  readonly refs: readonly Uint8Array[];
  readonly bytes: Uint8Array;
}
// Own chains are sent in every handshake: their PEM text is encoded once per chain array.
const pemBlocks = new WeakMap<readonly Uint8Array[], PemBlock>();

/** The chain's PEM lines, each with its `LF`, as bytes (cached per chain array). */
function pemBlock(chain: readonly Uint8Array[]): Uint8Array {
  const hit = pemBlocks.get(chain);
  if (hit && hit.refs.length === chain.length && hit.refs.every((der, i) => der === chain[i])) {
    return hit.bytes;
  }
  const lines = pemLines(chain);
  const bytes = encoder.encode(lines.length === 0 ? "" : lines.join("\n") + "\n");
  pemBlocks.set(chain, { refs: chain.slice(), bytes });
  return bytes;
}

/** A message whose first line is `first`, followed by the chain's PEM lines. */
function withChain(first: string, chain: readonly Uint8Array[]): Uint8Array {
  return concatBytes([encoder.encode(first + "\n"), pemBlock(chain), LF]);
}
const LF = Uint8Array.of(0x0a);

/** Parses the PEM lines after a message's first line: 1 to 5 certificates, strict. */
export function parsePemChain(lines: readonly string[]): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let i = 0;
  while (i < lines.length) {
    if (lines[i] !== PEM_BEGIN) throw protocolError("expected a BEGIN CERTIFICATE line");
    i++;
    let body = "";
    let bodyLines = 0;
    while (i < lines.length && lines[i] !== PEM_END) {
      const line = lines[i]!;
      if (!PEM_LINE.test(line)) throw protocolError("bad PEM body line");
      body += line;
      bodyLines++;
      i++;
    }
    if (i >= lines.length) throw protocolError("missing END CERTIFICATE line");
    i++;
    if (bodyLines === 0) throw protocolError("empty PEM body");
    const der = decodeBase64Strict(body);
    if (der === undefined || der.length === 0) throw protocolError("PEM body is not strict base64");
    chain.push(der);
    if (chain.length > MAX_CHAIN_LENGTH) {
      throw protocolError(`more than ${MAX_CHAIN_LENGTH} certificates`);
    }
  }
  if (chain.length === 0) throw protocolError("no certificate");
  return chain;
}

// --- M1 … M7 -----------------------------------------------------------------------------

/** M1: `SALAAM_ASL`. */
export function serializeM1(): Uint8Array {
  return serializeMessage(["SALAAM_ASL"]);
}
/** Checks that a message is exactly M1. */
export function parseM1(lines: readonly string[]): void {
  throwIfAslError(lines);
  if (lines.length !== 1 || lines[0] !== "SALAAM_ASL") {
    throw protocolError("first message is not SALAAM_ASL");
  }
}

/** M2: `ASL_SALAAM <b64(server_random)>` then the server's chain. */
export function serializeM2(m: M2): Uint8Array {
  return withChain(`ASL_SALAAM ${encodeBase64(m.serverRandom)}`, m.chain);
}
/** Parses M2. */
export function parseM2(lines: readonly string[]): M2 {
  throwIfAslError(lines);
  const fields = (lines[0] ?? "").split(" ");
  if (fields[0] !== "ASL_SALAAM" || fields.length !== 2) throw protocolError("expected M2");
  const serverRandom = decodeField(fields[1], "server_random");
  if (serverRandom.length !== RANDOM_BYTES) throw protocolError("server_random is not 32 bytes");
  return { serverRandom, chain: parsePemChain(lines.slice(1)) };
}

/** M3: `ASYMCRYPO <suite> …` then the client's chain. */
export function serializeM3(m: M3): Uint8Array {
  return withChain(`ASYMCRYPO ${m.suites.join(" ")}`, m.chain);
}
/** Parses M3: 1–16 suite names of `A-Z0-9_` (1–32 chars, not `NONE`), then 1–5 certificates. */
export function parseM3(lines: readonly string[]): M3 {
  throwIfAslError(lines);
  const fields = (lines[0] ?? "").split(" ");
  if (fields[0] !== "ASYMCRYPO") throw protocolError("expected M3");
  const suites = fields.slice(1);
  if (suites.length === 0 || suites.length > MAX_SUITES) {
    throw protocolError(`M3 must offer 1 to ${MAX_SUITES} suites`);
  }
  for (const s of suites) {
    if (!SUITE_NAME.test(s) || s === "NONE") throw protocolError("bad suite name in M3");
  }
  return { suites, chain: parsePemChain(lines.slice(1)) };
}

/** M4: `ASYMCRYPOOK <suite>`, `ASYMCRYPOOK <suite> <b64(Q_S)>` or `ASYMCRYPOOK NONE`. */
export function serializeM4(m: M4): Uint8Array {
  const q = m.Q_S === undefined ? "" : ` ${encodeBase64(m.Q_S)}`;
  return serializeMessage([`ASYMCRYPOOK ${m.suite}${q}`]);
}
/**
 * Parses M4 (the suite is checked against the offer by the caller). `X25519_AES_GCM` needs
 * exactly one more field, Q_S of 32 bytes; every other suite, and `NONE`, none.
 */
export function parseM4(lines: readonly string[]): M4 {
  const fields = expectSingleLine(lines, "M4");
  if (fields[0] !== "ASYMCRYPOOK" || fields.length < 2) throw protocolError("expected M4");
  const suite = fields[1]!;
  if (!SUITE_NAME.test(suite)) throw protocolError("bad suite name in M4");
  if (suite !== KEY_AGREEMENT_SUITE) {
    if (fields.length !== 2) throw protocolError(`M4 with ${suite} has extra fields`);
    return { suite };
  }
  if (fields.length !== 3) throw protocolError(`M4 with ${suite} must carry exactly Q_S`);
  return { suite, Q_S: decodeField32(fields[2], "Q_S") };
}

/** M5: `SESSIONKEY <b64(E)> <b64(SIG_C)> <b64(MAC)>`. */
export function serializeM5(m: M5): Uint8Array {
  return serializeMessage([
    `SESSIONKEY ${encodeBase64(m.E)} ${encodeBase64(m.SIG_C)} ${encodeBase64(m.MAC)}`,
  ]);
}
/** Parses M5. */
export function parseM5(lines: readonly string[]): M5 {
  const fields = expectSingleLine(lines, "M5");
  if (fields[0] !== "SESSIONKEY" || fields.length !== 4) throw protocolError("expected M5");
  return {
    E: decodeField(fields[1], "E"),
    SIG_C: decodeField(fields[2], "SIG_C"),
    MAC: decodeField(fields[3], "MAC"),
  };
}

/** M6: `SESSIONKEYOK <b64(E2)> <b64(SIG_S)>`. */
export function serializeM6(m: M6): Uint8Array {
  return serializeMessage([`SESSIONKEYOK ${encodeBase64(m.E2)} ${encodeBase64(m.SIG_S)}`]);
}
/** Parses M6. */
export function parseM6(lines: readonly string[]): M6 {
  const fields = expectSingleLine(lines, "M6");
  if (fields[0] !== "SESSIONKEYOK" || fields.length !== 3) throw protocolError("expected M6");
  return { E2: decodeField(fields[1], "E2"), SIG_S: decodeField(fields[2], "SIG_S") };
}

/** M5 with `X25519_AES_GCM`: `SESSIONKEY <b64(Q_C)> <b64(SIG_C)> <b64(MAC)>`. */
export function serializeM5X25519(m: M5X25519): Uint8Array {
  return serializeM5({ E: m.Q_C, SIG_C: m.SIG_C, MAC: m.MAC });
}
/** Parses M5 with `X25519_AES_GCM`: three fields, Q_C and MAC of 32 bytes. */
export function parseM5X25519(lines: readonly string[]): M5X25519 {
  const fields = expectSingleLine(lines, "M5");
  if (fields[0] !== "SESSIONKEY" || fields.length !== 4) throw protocolError("expected M5");
  return {
    Q_C: decodeField32(fields[1], "Q_C"),
    SIG_C: decodeField(fields[2], "SIG_C"),
    MAC: decodeField32(fields[3], "MAC"),
  };
}

/** M6 with `X25519_AES_GCM`: `SESSIONKEYOK <b64(MAC_S)> <b64(SIG_S)>`. */
export function serializeM6X25519(m: M6X25519): Uint8Array {
  return serializeM6({ E2: m.MAC_S, SIG_S: m.SIG_S });
}
/** Parses M6 with `X25519_AES_GCM`: two fields, MAC_S of 32 bytes. */
export function parseM6X25519(lines: readonly string[]): M6X25519 {
  const fields = expectSingleLine(lines, "M6");
  if (fields[0] !== "SESSIONKEYOK" || fields.length !== 3) throw protocolError("expected M6");
  return { MAC_S: decodeField32(fields[1], "MAC_S"), SIG_S: decodeField(fields[2], "SIG_S") };
}

/** M7: `LETS_TALK`. */
export function serializeM7(): Uint8Array {
  return serializeMessage(["LETS_TALK"]);
}
/** Checks that a message is exactly M7. */
export function parseM7(lines: readonly string[]): void {
  const fields = expectSingleLine(lines, "M7");
  if (fields.length !== 1 || fields[0] !== "LETS_TALK") throw protocolError("expected M7");
}
