// The fuzz harness's mutator (issue 13): stacks 1 to 6 byte-level mutations on an input:
// bit flips, byte set/insert/delete, range delete/duplicate/overwrite, truncation,
// splicing with another corpus entry, dictionary tokens, DER length-field tweaks (a
// heuristic: the byte after a plausible tag byte is treated as a length; nothing is
// parsed), and growth by repeating a chunk up to the target's size limit. Deterministic
// for a given PRNG state.

import type { Prng } from "./prng.ts";

/** What the mutator may use besides the input. */
export interface MutatorContext {
  /** Largest output in bytes. */
  readonly maxBytes: number;
  /** Other inputs to splice from (the corpus). */
  readonly corpus: readonly Uint8Array[];
  /** Tokens to insert. */
  readonly dictionary?: readonly Uint8Array[];
}

const INTERESTING = [0x00, 0x01, 0x0a, 0x0d, 0x20, 0x2b, 0x2f, 0x3d, 0x7f, 0x80, 0xff, 0x41];
/** Bytes that often start a DER TLV: SEQUENCE, SET, INTEGER, BIT/OCTET STRING, NULL, OID,
 * strings, times, and context tags [0]..[3]. */
const TAGS = new Set([
  0x01,
  0x02,
  0x03,
  0x04,
  0x05,
  0x06,
  0x0c,
  0x13,
  0x16,
  0x17,
  0x18,
  0x30,
  0x31,
  0x80,
  0x81,
  0x82,
  0x86,
  0x87,
  0xa0,
  0xa1,
  0xa2,
  0xa3,
]);
/** Replacement length encodings: indefinite, non-minimal long forms, huge. */
const LENGTHS: readonly (readonly number[])[] = [
  [0x80],
  [0x81, 0x00],
  [0x82, 0x00, 0x05],
  [0x84, 0xff, 0xff, 0xff, 0xff],
  [0x84, 0x7f, 0xff, 0xff, 0xff],
  [0x89, 0x01, 0, 0, 0, 0, 0, 0, 0, 0],
  [0xff],
  [0x00],
];

function insertAt(a: Uint8Array, at: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + bytes.length);
  out.set(a.subarray(0, at));
  out.set(bytes, at);
  out.set(a.subarray(at), at + bytes.length);
  return out;
}

function removeRange(a: Uint8Array, at: number, n: number): Uint8Array {
  const out = new Uint8Array(a.length - n);
  out.set(a.subarray(0, at));
  out.set(a.subarray(at + n), at);
  return out;
}

function replaceRange(a: Uint8Array, at: number, n: number, bytes: Uint8Array): Uint8Array {
  return insertAt(removeRange(a, at, n), at, bytes);
}

/** Positions whose previous byte looks like a DER tag (candidate length bytes). */
function lengthPositions(a: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 1; i < a.length; i++) if (TAGS.has(a[i - 1]!)) out.push(i);
  return out;
}

/** One mutation; `a` is never modified. */
function mutateOnce(a: Uint8Array, rng: Prng, ctx: MutatorContext): Uint8Array {
  const n = a.length;
  switch (rng.int(13)) {
    case 0: { // bit flip
      if (n === 0) break;
      const out = a.slice();
      const i = rng.int(n);
      out[i]! ^= 1 << rng.int(8);
      return out;
    }
    case 1: { // set a byte: random or interesting
      if (n === 0) break;
      const out = a.slice();
      out[rng.int(n)] = rng.chance(0.5) ? rng.int(256) : rng.pick(INTERESTING);
      return out;
    }
    case 2: // insert a byte
      return insertAt(
        a,
        rng.int(n + 1),
        Uint8Array.of(rng.chance(0.5) ? rng.int(256) : rng.pick(INTERESTING)),
      );
    case 3: // delete a byte
      if (n === 0) break;
      return removeRange(a, rng.int(n), 1);
    case 4: { // delete a range
      if (n < 2) break;
      const at = rng.int(n);
      return removeRange(a, at, 1 + rng.int(Math.min(n - at, 64)));
    }
    case 5: { // duplicate a range in place (a repeated field, extension, line …)
      if (n === 0) break;
      const at = rng.int(n);
      const len = 1 + rng.int(Math.min(n - at, 512));
      return insertAt(a, rng.pick([at, at + len, rng.int(n + 1)]), a.slice(at, at + len));
    }
    case 6: // truncate
      if (n === 0) break;
      return a.slice(0, rng.int(n));
    case 7: { // splice: head of this, tail of another
      const other = ctx.corpus.length > 0 ? rng.pick(ctx.corpus) : a;
      return concat(a.subarray(0, rng.int(n + 1)), other.subarray(rng.int(other.length + 1)));
    }
    case 8: { // overwrite a range with a chunk of another input
      const other = ctx.corpus.length > 0 ? rng.pick(ctx.corpus) : a;
      if (n === 0 || other.length === 0) break;
      const from = rng.int(other.length);
      const chunk = other.subarray(from, from + 1 + rng.int(Math.min(other.length - from, 64)));
      const at = rng.int(n);
      return replaceRange(a, at, Math.min(chunk.length, n - at), chunk);
    }
    case 9: { // dictionary token
      const dict = ctx.dictionary;
      if (!dict || dict.length === 0) break;
      const token = rng.pick(dict);
      const at = rng.int(n + 1);
      return rng.chance(0.5)
        ? insertAt(a, at, token)
        : replaceRange(a, at, Math.min(token.length, n - at), token);
    }
    case 10: { // DER length-field tweak
      const spots = lengthPositions(a);
      if (spots.length === 0) break;
      const at = rng.pick(spots);
      const out = a.slice();
      const v = out[at]!;
      switch (rng.int(3)) {
        case 0:
          out[at] = (v + (rng.chance(0.5) ? 1 : 255)) & 0xff;
          return out;
        case 1:
          out[at] = v ^ 0x80;
          return out;
        default:
          return replaceRange(a, at, 1, Uint8Array.from(rng.pick(LENGTHS)));
      }
    }
    case 11: { // grow: repeat a chunk many times (towards the size bounds)
      if (n === 0) break;
      const at = rng.int(n);
      const chunk = a.subarray(at, at + 1 + rng.int(Math.min(n - at, 256)));
      const room = ctx.maxBytes - n;
      const times = Math.min(
        Math.floor(room / chunk.length),
        1 + rng.int(rng.chance(0.2) ? 4096 : 32),
      );
      if (times <= 0) break;
      const rep = new Uint8Array(chunk.length * times);
      for (let i = 0; i < times; i++) rep.set(chunk, i * chunk.length);
      return insertAt(a, at, rep);
    }
    default: { // swap two bytes
      if (n < 2) break;
      const out = a.slice();
      const i = rng.int(n);
      const j = rng.int(n);
      const t = out[i]!;
      out[i] = out[j]!;
      out[j] = t;
      return out;
    }
  }
  return a.slice();
}

function concat(x: Uint8Array, y: Uint8Array): Uint8Array {
  const out = new Uint8Array(x.length + y.length);
  out.set(x);
  out.set(y, x.length);
  return out;
}

/** Returns a mutant of `input` (1 to 6 stacked mutations), at most `ctx.maxBytes` long. */
export function mutate(input: Uint8Array, rng: Prng, ctx: MutatorContext): Uint8Array {
  let out = input;
  const rounds = 1 + rng.int(rng.chance(0.7) ? 2 : 6);
  for (let i = 0; i < rounds; i++) out = mutateOnce(out, rng, ctx);
  return out.length > ctx.maxBytes ? out.slice(0, ctx.maxBytes) : out;
}
