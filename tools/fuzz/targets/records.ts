// Fuzz target `records` (issue 13; ASL spec section 3): one received session line through
// decodeRecordLine, decodeRecordLineTransient and openLine, with the vector keys of both
// record kinds (AES-256-GCM: AES_GCM and X25519_AES_GCM; AES-256-CBC + HMAC: AES_CBC).
// Input: [context byte][seq byte][line]; the context picks session file and direction.
// Mutants: the base64 text mutated, the record bytes mutated and re-encoded, or authentic
// records sealed with the vector keys around hostile plaintexts (and, for CBC, authentic
// records with bad padding). Oracles: the three decoders agree; the node:crypto openLine,
// its synchronous path and (for a quarter of the inputs) the WebCrypto reference agree.

import { Buffer } from "node:buffer";
import { createCipheriv, createHmac } from "node:crypto";
import { decodeBase64Strict } from "../../../lib/base64.ts";
import { AslError } from "../../../lib/asl/errors.ts";
import type { DirectionKeys } from "../../../lib/asl/key_schedule.ts";
import { createRecordCipher, openLine } from "../../../lib/asl/records.ts";
import type { RecordCipher } from "../../../lib/asl/records_cipher.ts";
import {
  decodePlaintext,
  decodeRecordLine,
  decodeRecordLineTransient,
} from "../../../lib/asl/records_codec.ts";
import { fnv1a, Prng } from "../prng.ts";
import { type FuzzTarget, InvariantViolation } from "../types.ts";
import {
  latin1,
  loadNegativeRecords,
  loadSession,
  SESSION_FILES,
  type SessionVector,
  utf8,
} from "../vectors.ts";

interface Context {
  readonly name: string;
  readonly keys: DirectionKeys;
  readonly node: RecordCipher;
  readonly web: RecordCipher;
}

let contexts: Context[] | undefined;
/** Where the CBC IVs of authentic mutants come from: the mutator's PRNG (deterministic). */
let ivSource: Prng = new Prng(0);
const ivs = (n: number) => Uint8Array.from({ length: n }, () => ivSource.int(256));

function keysOf(s: SessionVector, d: "c2s" | "s2c"): DirectionKeys {
  const k = s.keys[d];
  const hex = (name: string) => Uint8Array.fromHex(k[name] ?? "");
  return s.suite === "AES_CBC"
    ? { suite: "AES_CBC", enc: hex("enc"), mac: hex("mac") }
    : { suite: s.suite, key: hex("key"), iv: hex("iv") };
}

async function loadContexts(): Promise<Context[]> {
  if (contexts) return contexts;
  const out: Context[] = [];
  for (const file of SESSION_FILES) {
    const s = await loadSession(file);
    for (const d of ["c2s", "s2c"] as const) {
      const keys = keysOf(s, d);
      out.push({
        name: `${s.suite}/${d}`,
        keys,
        node: await createRecordCipher(keys, { impl: "node", random: ivs }),
        web: await createRecordCipher(keys, { impl: "webcrypto" }),
      });
    }
  }
  contexts = out;
  return out;
}

function contextIndex(file: string, d: "c2s" | "s2c"): number {
  return SESSION_FILES.indexOf(file as typeof SESSION_FILES[number]) * 2 + (d === "c2s" ? 0 : 1);
}

function input(ctx: number, seq: number, line: string | Uint8Array): Uint8Array {
  const body = typeof line === "string" ? utf8(line) : line;
  const out = new Uint8Array(2 + body.length);
  out[0] = ctx;
  out[1] = seq;
  out.set(body, 2);
  return out;
}

type Verdict = { ok: true; value: string } | { ok: false; code: string };

async function verdict(f: () => string | Promise<string>): Promise<Verdict> {
  try {
    return { ok: true, value: await f() };
  } catch (err) {
    if (err instanceof AslError) return { ok: false, code: err.code };
    throw err;
  }
}

function sameVerdict(a: Verdict, b: Verdict): boolean {
  return a.ok ? b.ok && a.value === b.value : !b.ok && a.code === b.code;
}

function show(v: Verdict): string {
  return v.ok ? `ok(${v.value.length} chars)` : v.code;
}

/** A CBC record with a valid MAC whose padding is whatever `blocks` decrypts to. */
function cbcUnpadded(keys: DirectionKeys, blocks: Uint8Array, seq: number, iv: Uint8Array) {
  if (keys.suite !== "AES_CBC") throw new Error("not CBC");
  const c = createCipheriv("aes-256-cbc", Buffer.from(keys.enc), iv).setAutoPadding(false);
  const body = Buffer.concat([c.update(blocks), c.final()]);
  const seqBytes = new Uint8Array(8);
  new DataView(seqBytes.buffer).setBigUint64(0, BigInt(seq));
  const ivAndC = Buffer.concat([iv, body]);
  const mac = createHmac("sha256", Buffer.from(keys.mac)).update(seqBytes).update(ivAndC).digest();
  return new Uint8Array(Buffer.concat([ivAndC, mac]));
}

const PLAINTEXT_TOKENS = ["\n", "\n\n", "\r", "\xff", "\xc3", "\xe2\x82", "\xed\xa0\x80"].map(
  (s) => Uint8Array.from(s, (c) => c.charCodeAt(0)),
);

export const recordsTarget: FuzzTarget = {
  name: "records",
  description: "decodeRecordLine / openLine, GCM and CBC records with the vector keys",
  maxBytes: 70_000,
  maxMs: 250,
  dictionary: ["=", "==", " ", "\r", "\t", "-", "_", "\x00", "A", "/", "+"].map(utf8),
  async seeds() {
    await loadContexts();
    const seeds: Uint8Array[] = [];
    for (const file of SESSION_FILES) {
      const s = await loadSession(file);
      for (const d of ["c2s", "s2c"] as const) {
        for (const r of s.records[d]) seeds.push(input(contextIndex(file, d), r.seq, r.line));
      }
      for (const r of s.records_rejected ?? []) {
        seeds.push(input(contextIndex(file, r.direction), r.recv_seq, r.line));
      }
    }
    for (const r of await loadNegativeRecords()) {
      seeds.push(input(contextIndex(r.session, r.direction), r.recv_seq, r.line));
    }
    return seeds;
  },
  mutate(inp: Uint8Array, rng: Prng, generic: (input: Uint8Array) => Uint8Array): Uint8Array {
    const all = contexts!;
    const ctxByte = rng.chance(0.05) ? rng.int(256) : inp[0] ?? 0;
    const seq = rng.chance(0.05) ? rng.int(256) : inp[1] ?? 0;
    const line = latin1(inp.subarray(2));
    const roll = rng.int(8);
    if (roll < 3) return generic(inp); // the text (and the context bytes)
    if (roll < 6) { // the record bytes, re-encoded as strict base64
      let record: Uint8Array;
      try {
        record = Uint8Array.fromBase64(line.replace(/[^A-Za-z0-9+/]/g, ""));
      } catch {
        return generic(inp);
      }
      return input(ctxByte, seq, generic(record).toBase64());
    }
    // An authentic record around a hostile plaintext.
    ivSource = rng;
    const ctx = all[ctxByte % all.length]!;
    const plain = rng.chance(0.1) ? new Uint8Array(rng.pick([0, 32_768, 32_769])) : generic(
      rng.chance(0.5)
        ? utf8("MESSAGE m1 bob aGVsbG8=")
        : Uint8Array.from(PLAINTEXT_TOKENS[rng.int(PLAINTEXT_TOKENS.length)]!),
    );
    let record: Uint8Array;
    if (ctx.keys.suite === "AES_CBC" && rng.chance(0.5)) {
      const blocks = new Uint8Array(16 * (1 + rng.int(4)));
      blocks.set(plain.subarray(0, blocks.length));
      if (rng.chance(0.5)) blocks[blocks.length - 1] = rng.pick([0, 1, 16, 17, 255]);
      record = cbcUnpadded(
        ctx.keys,
        blocks,
        seq,
        Uint8Array.from({ length: 16 }, () => rng.int(256)),
      );
    } else {
      record = ctx.node.sealSync!(plain, seq);
    }
    return input(ctxByte, seq, record.toBase64());
  },
  async run(inp) {
    const all = contexts ?? await loadContexts();
    const ctx = all[(inp[0] ?? 0) % all.length]!;
    const seq = inp[1] ?? 0;
    const line = latin1(inp.subarray(2));
    const strict = decodeBase64Strict(line);
    const a = await verdict(() => decodeRecordLine(line).toHex());
    const b = await verdict(() => decodeRecordLineTransient(line).toHex());
    const c: Verdict = strict !== undefined && strict.length > 0
      ? { ok: true, value: strict.toHex() }
      : { ok: false, code: "PROTOCOL_ERROR" };
    if (!sameVerdict(a, b) || !sameVerdict(a, c)) {
      throw new InvariantViolation(
        `record decoders disagree: decodeRecordLine ${show(a)}, transient ${show(b)}, ` +
          `decodeBase64Strict ${show(c)}`,
      );
    }
    const opened = await verdict(() => openLine(ctx.node, line, seq));
    const sync = await verdict(() =>
      decodePlaintext(ctx.node.openSync!(decodeRecordLineTransient(line), seq))
    );
    if (!sameVerdict(opened, sync)) {
      throw new InvariantViolation(`openLine ${show(opened)} but the sync path ${show(sync)}`);
    }
    if (a.ok && (fnv1a(inp) & 3) === 0) {
      const web = await verdict(() => openLine(ctx.web, line, seq));
      if (!sameVerdict(opened, web)) {
        throw new InvariantViolation(`node:crypto ${show(opened)} but WebCrypto ${show(web)}`);
      }
    }
    return `${ctx.name}:${a.ok ? "b64" : "-"}:${opened.ok ? "ok" : opened.code}`;
  },
  expected: (err) => err instanceof AslError,
};
