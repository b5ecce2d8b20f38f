// Fuzz target `framing` (issue 13; ASL spec section 1): the handshake FrameParser and the
// session RecordLineSplitter, each fed the input whole and in chunk sizes derived from the
// input (so a saved input replays exactly). Oracles: the chunked run gives the same frames
// (lines and exact bytes) and the same error as the whole run, and the frames are the
// input's bytes in order.

import { AslError } from "../../../lib/asl/errors.ts";
import {
  type Frame,
  FrameParser,
  HANDSHAKE_LIMITS,
  RECORD_LIMITS,
  RecordLineSplitter,
} from "../../../lib/asl/framing.ts";
import { fnv1a, Prng } from "../prng.ts";
import { type FuzzTarget, InvariantViolation } from "../types.ts";
import { loadSession, SESSION_FILES, utf8 } from "../vectors.ts";

/** Splits `input` into chunks of 1 byte to 4 KiB, sizes drawn from `rng`. */
export function chunksOf(input: Uint8Array, rng: Prng): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < input.length;) {
    const size = rng.chance(0.5) ? 1 + rng.int(8) : 1 + rng.int(rng.chance(0.8) ? 200 : 4096);
    out.push(input.subarray(at, at + size));
    at += size;
  }
  return out;
}

interface Outcome {
  readonly frames: Frame[];
  readonly error?: AslError;
}

/** Runs the FrameParser over `chunks`; after `switchAfter` frames the record limits apply. */
function frameAll(chunks: readonly Uint8Array[], switchAfter: number): Outcome {
  const parser = new FrameParser(HANDSHAKE_LIMITS);
  const frames: Frame[] = [];
  try {
    for (const chunk of chunks) {
      parser.push(chunk);
      for (let f = parser.next(); f; f = parser.next()) {
        frames.push(f);
        if (frames.length === switchAfter) parser.limits = RECORD_LIMITS;
      }
    }
  } catch (err) {
    if (err instanceof AslError) return { frames, error: err };
    throw err;
  }
  return { frames };
}

function splitAll(chunks: readonly Uint8Array[]): { lines: string[]; error?: AslError } {
  const splitter = new RecordLineSplitter();
  const lines: string[] = [];
  try {
    for (const chunk of chunks) splitter.push(chunk, lines);
  } catch (err) {
    if (err instanceof AslError) return { lines, error: err };
    throw err;
  }
  return { lines };
}

function describe(o: Outcome): string {
  const frames = o.frames.map((f) => `${f.lines.join("\n")}|${f.bytes.toHex()}`).join("#");
  return `${frames}!${o.error ? `${o.error.code} ${o.error.message}` : "-"}`;
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  if (a.frames.length !== b.frames.length) return false;
  if ((a.error === undefined) !== (b.error === undefined)) return false;
  if (
    a.error && b.error && (a.error.code !== b.error.code || a.error.message !== b.error.message)
  ) {
    return false;
  }
  return describe(a) === describe(b);
}

/** The frames, concatenated, must be the first bytes of the input. */
function checkPrefix(input: Uint8Array, frames: readonly Frame[]): void {
  let at = 0;
  for (const f of frames) {
    for (let i = 0; i < f.bytes.length; i++) {
      if (input[at + i] !== f.bytes[i]) {
        throw new InvariantViolation(`frame bytes differ from the input at offset ${at + i}`);
      }
    }
    at += f.bytes.length;
  }
}

export const framingTarget: FuzzTarget = {
  name: "framing",
  description: "handshake FrameParser and session RecordLineSplitter, random chunk sizes",
  maxBytes: 40_000,
  maxMs: 250,
  dictionary: ["\n", "\n\n", " ", "  ", "\r", "\x00", "\x7f", "\xc3\xa9", "SALAAM_ASL", "=="].map(
    utf8,
  ),
  async seeds() {
    const seeds: Uint8Array[] = [];
    for (const file of SESSION_FILES) {
      const s = await loadSession(file);
      const all = Object.values(s.messages).join("");
      seeds.push(utf8(all), ...Object.values(s.messages).map(utf8));
      const records = s.records.c2s.map((r) => `${r.line}\n\n`).join("");
      seeds.push(utf8(s.messages.M7 + records), utf8(records));
    }
    return seeds;
  },
  run(input) {
    const h = fnv1a(input);
    const switchAfter = 1 + (h % 8);
    const whole = frameAll([input], switchAfter);
    const chunked = frameAll(chunksOf(input, new Prng(h)), switchAfter);
    checkPrefix(input, whole.frames);
    if (!sameOutcome(whole, chunked)) {
      throw new InvariantViolation(
        `FrameParser: chunked input gives ${chunked.frames.length} frames / ` +
          `${chunked.error?.message ?? "no error"}, whole input ${whole.frames.length} / ` +
          `${whole.error?.message ?? "no error"}`,
      );
    }
    const lines = splitAll([input]);
    const linesChunked = splitAll(chunksOf(input, new Prng(h ^ 0x5bd1e995)));
    const bothFail = lines.error !== undefined && linesChunked.error !== undefined;
    const neither = lines.error === undefined && linesChunked.error === undefined;
    if (!bothFail && !neither) {
      throw new InvariantViolation(
        `RecordLineSplitter: chunked input ${linesChunked.error?.message ?? "accepted"}, ` +
          `whole input ${lines.error?.message ?? "accepted"}`,
      );
    }
    if (neither && lines.lines.join("\n") !== linesChunked.lines.join("\n")) {
      throw new InvariantViolation("RecordLineSplitter: chunked and whole input give other lines");
    }
    const fe = whole.error
      ? `${whole.error.code}:${whole.error.message.replace(/\d+/g, "#")}`
      : "ok";
    const le = lines.error ? lines.error.message.replace(/\d+/g, "#") : "ok";
    return `${Math.min(whole.frames.length, 9)}:${fe}|${Math.min(lines.lines.length, 3)}:${le}`;
  },
  expected: (err) => err instanceof AslError,
};
