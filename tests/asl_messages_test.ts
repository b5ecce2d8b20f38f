// Tests of lib/asl/messages.ts (spec section 2): strict M1–M7 and ASL_ERROR parsing, PEM
// chains of 1–5 certificates, suite offers, and byte-exact serialising.

import assert from "node:assert/strict";
import { AslError } from "../lib/asl/errors.ts";
import { FrameParser } from "../lib/asl/framing.ts";
import {
  parseM1,
  parseM2,
  parseM3,
  parseM4,
  parseM5,
  parseM6,
  parseM7,
  parsePemChain,
  pemLines,
  serializeAslError,
  serializeM2,
  serializeM3,
  serializeM4,
  serializeM5,
  serializeM6,
  throwIfAslError,
} from "../lib/asl/messages.ts";
import { loadSession } from "./helpers/asl.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function lines(text: string): readonly string[] {
  const parser = new FrameParser();
  parser.push(enc.encode(text));
  return parser.next()!.lines;
}
function isCode(code: string, remote = false) {
  return (err: unknown) => err instanceof AslError && err.code === code && err.remote === remote;
}

Deno.test("messages: the vector messages parse and serialise back byte for byte", async () => {
  for (const suite of ["AES_GCM", "AES_CBC"] as const) {
    const v = await loadSession(suite);
    parseM1(lines(v.messages.M1));
    assert.equal(dec.decode(serializeM2(parseM2(lines(v.messages.M2)))), v.messages.M2);
    assert.equal(dec.decode(serializeM3(parseM3(lines(v.messages.M3)))), v.messages.M3);
    assert.equal(dec.decode(serializeM4(parseM4(lines(v.messages.M4)))), v.messages.M4);
    assert.equal(dec.decode(serializeM5(parseM5(lines(v.messages.M5)))), v.messages.M5);
    assert.equal(dec.decode(serializeM6(parseM6(lines(v.messages.M6)))), v.messages.M6);
    parseM7(lines(v.messages.M7));
  }
});

Deno.test("messages: the wrong message where another is expected is PROTOCOL_ERROR", async () => {
  const v = await loadSession("AES_GCM");
  const parsers = [parseM1, parseM2, parseM3, parseM4, parseM5, parseM6, parseM7];
  const texts = [
    v.messages.M1,
    v.messages.M2,
    v.messages.M3,
    v.messages.M4,
    v.messages.M5,
    v.messages.M6,
    v.messages.M7,
  ];
  for (let i = 0; i < parsers.length; i++) {
    for (let j = 0; j < texts.length; j++) {
      if (i === j) continue;
      assert.throws(
        () => parsers[i]!(lines(texts[j]!)),
        isCode("PROTOCOL_ERROR"),
        `M${i + 1} given M${j + 1}`,
      );
    }
  }
});

Deno.test("messages: fields are strict", async () => {
  const v = await loadSession("AES_GCM");
  const m5 = v.messages.M5.trimEnd();
  const [kw, e, sig, mac] = m5.split(" ");
  const bad: [string, () => unknown][] = [
    ["M1 with extra field", () => parseM1(["SALAAM_ASL X"])],
    ["M1 lower case", () => parseM1(["salaam_asl"])],
    ["M5 missing field", () => parseM5([`${kw} ${e} ${sig}`])],
    ["M5 extra field", () => parseM5([`${kw} ${e} ${sig} ${mac} ${mac}`])],
    ["M5 bad base64", () => parseM5([`${kw} ${e} ${sig} ${mac!.slice(0, -1)}`])],
    ["M5 non-canonical base64", () => parseM5([`${kw} ${e} ${sig} QR==`])],
    ["M5 two lines", () => parseM5([`${kw} ${e} ${sig} ${mac}`, "X"])],
    ["M6 missing field", () => parseM6(["SESSIONKEYOK QUFB"])],
    ["M7 extra field", () => parseM7(["LETS_TALK NOW"])],
    ["M4 two suites", () => parseM4(["ASYMCRYPOOK AES_GCM AES_CBC"])],
    ["M4 bad name", () => parseM4(["ASYMCRYPOOK aes_gcm"])],
    ["M2 short random", () => parseM2(["ASL_SALAAM QUFBQQ==", ...lines(v.messages.M2).slice(1)])],
    ["M2 without certificate", () => parseM2([lines(v.messages.M2)[0]!])],
  ];
  for (const [name, fn] of bad) assert.throws(fn, isCode("PROTOCOL_ERROR"), name);
});

Deno.test("messages: M3 offers 1 to 16 valid suite names, NONE is reserved", async () => {
  const v = await loadSession("AES_GCM");
  const pem = lines(v.messages.M3).slice(1);
  const offer = (names: string) => () => parseM3([`ASYMCRYPO${names}`, ...pem]);
  assert.deepEqual(
    parseM3([`ASYMCRYPO ${Array(16).fill("X").join(" ")}`, ...pem]).suites.length,
    16,
  );
  assert.deepEqual(parseM3(["ASYMCRYPO DES_CBC FOO_9", ...pem]).suites, ["DES_CBC", "FOO_9"]);
  assert.equal(parseM3([`ASYMCRYPO ${"A".repeat(32)}`, ...pem]).suites[0]!.length, 32);
  for (
    const bad of [
      "",
      ` ${Array(17).fill("X").join(" ")}`,
      " NONE",
      " AES_GCM NONE",
      " aes",
      ` ${"A".repeat(33)}`,
      " AES-GCM",
    ]
  ) {
    assert.throws(offer(bad), isCode("PROTOCOL_ERROR"), JSON.stringify(bad));
  }
});

Deno.test("messages: PEM chains hold 1 to 5 certificates with 1–64 character lines", async () => {
  const v = await loadSession("AES_GCM");
  const one = parseM2(lines(v.messages.M2)).chain;
  assert.equal(one.length, 1);
  const five = Array(5).fill(one[0]!);
  assert.equal(parsePemChain(pemLines(five)).length, 5);
  assert.throws(() => parsePemChain(pemLines([...five, one[0]!])), isCode("PROTOCOL_ERROR"));
  assert.throws(() => parsePemChain([]), isCode("PROTOCOL_ERROR"));
  const pem = pemLines(one);
  // Re-wrapped at 32 characters: still accepted; at 65: rejected.
  const body = pem.slice(1, -1).join("");
  const wrap = (n: number) => body.match(new RegExp(`.{1,${n}}`, "g"))!;
  assert.deepEqual(parsePemChain([pem[0]!, ...wrap(32), pem.at(-1)!]), one);
  assert.throws(() => parsePemChain([pem[0]!, ...wrap(65), pem.at(-1)!]), isCode("PROTOCOL_ERROR"));
  const bad: [string, string[]][] = [
    ["missing END", pem.slice(0, -1)],
    ["empty body", [pem[0]!, pem.at(-1)!]],
    ["other label", [
      "-----BEGIN PRIVATE KEY-----",
      ...pem.slice(1, -1),
      "-----END PRIVATE KEY-----",
    ]],
    ["bad base64 body", [pem[0]!, "!!!!", pem.at(-1)!]],
    ["text between blocks", [...pem, "hello", ...pem]],
  ];
  for (const [name, ls] of bad) {
    assert.throws(() => parsePemChain(ls), isCode("PROTOCOL_ERROR"), name);
  }
});

Deno.test("messages: ASL_ERROR is recognised in place of any message", () => {
  assert.equal(dec.decode(serializeAslError("TIMEOUT")), "ASL_ERROR TIMEOUT\n\n");
  for (const parse of [parseM1, parseM2, parseM3, parseM4, parseM5, parseM6, parseM7]) {
    assert.throws(() => parse(["ASL_ERROR BAD_SIGNATURE"]), isCode("BAD_SIGNATURE", true));
  }
  // An unknown code is reported as received.
  assert.throws(() => throwIfAslError(["ASL_ERROR SOMETHING_NEW"]), isCode("SOMETHING_NEW", true));
  assert.throws(() => throwIfAslError(["ASL_ERROR"]), isCode("PROTOCOL_ERROR"));
  assert.throws(() => throwIfAslError(["ASL_ERROR A B"]), isCode("PROTOCOL_ERROR"));
  assert.doesNotThrow(() => throwIfAslError(["SALAAM_ASL"]));
});
