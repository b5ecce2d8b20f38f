// The CBC record cipher (spec section 3, "Records"; suite AES_CBC): encrypt-then-MAC, record =
// IV || C || T with a fresh random 16-byte IV, C = AES-256-CBC (PKCS#7 padding) and
// T = HMAC-SHA256(mac, u64be(seq) || IV || C), checked in constant time before decrypting.
// Two implementations pass every vector: node:crypto (the fast path, records built in
// node:buffer's pooled memory) and WebCrypto (the portable reference).

import { Buffer } from "node:buffer";
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from "node:crypto";
import { buf, pooled } from "./bytes.ts";
import {
  cat,
  decryptError,
  type RecordCipher,
  u64be,
  withPromises,
  writeU64be,
} from "./records_cipher.ts";

const BLOCK = 16;
const MAC_BYTES = 32;

function cbcShapeOk(record: Uint8Array): boolean {
  const c = record.length - BLOCK - MAC_BYTES;
  return c >= BLOCK && c % BLOCK === 0;
}

// --- node:crypto fast path ---------------------------------------------------------------

/** The node:crypto CBC cipher (sync forms included); keys are kept as private Buffer copies. */
export function nodeCbc(
  rawEnc: Uint8Array,
  rawMac: Uint8Array,
  random: (n: number) => Uint8Array,
): RecordCipher {
  const enc = Buffer.from(rawEnc);
  const mac = Buffer.from(rawMac);
  const seqBytes = Buffer.alloc(8); // reused: createHmac's update consumes it at once
  const tag = (seq: number, ivAndC: Uint8Array) => {
    writeU64be(seqBytes, 0, seq);
    return createHmac("sha256", mac).update(seqBytes).update(ivAndC).digest();
  };
  const sealSync = (plaintext: Uint8Array, seq: number): Uint8Array => {
    const iv = random(BLOCK);
    const c = createCipheriv("aes-256-cbc", enc, iv);
    const body = c.update(plaintext);
    const last = c.final();
    const cLength = body.length + last.length;
    const out = pooled(BLOCK + cLength + MAC_BYTES);
    out.set(iv);
    out.set(body, BLOCK);
    out.set(last, BLOCK + body.length);
    out.set(tag(seq, out.subarray(0, BLOCK + cLength)), BLOCK + cLength);
    return out;
  };
  const openSync = (record: Uint8Array, seq: number): Uint8Array => {
    if (!cbcShapeOk(record)) throw decryptError();
    const ivAndC = record.subarray(0, record.length - MAC_BYTES);
    const expected = tag(seq, ivAndC);
    if (!timingSafeEqual(expected, record.subarray(record.length - MAC_BYTES))) {
      throw decryptError();
    }
    try {
      const d = createDecipheriv("aes-256-cbc", enc, ivAndC.subarray(0, BLOCK));
      const head = d.update(ivAndC.subarray(BLOCK));
      const last = d.final();
      const out = pooled(head.length + last.length);
      out.set(head);
      out.set(last, head.length);
      return out;
    } catch (err) {
      throw decryptError(err);
    }
  };
  return withPromises(sealSync, openSync);
}

// --- WebCrypto reference ------------------------------------------------------------------

/** The WebCrypto CBC cipher: the portable reference (promise forms only). */
export async function webCbc(
  rawEnc: Uint8Array,
  rawMac: Uint8Array,
  random: (n: number) => Uint8Array,
): Promise<RecordCipher> {
  const enc = await crypto.subtle.importKey("raw", buf(rawEnc), "AES-CBC", false, [
    "encrypt",
    "decrypt",
  ]);
  const mac = await crypto.subtle.importKey(
    "raw",
    buf(rawMac),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  return {
    async seal(plaintext, seq) {
      const iv = random(BLOCK);
      const c = new Uint8Array(
        await crypto.subtle.encrypt({ name: "AES-CBC", iv: buf(iv) }, enc, buf(plaintext)),
      );
      const ivAndC = cat(iv, c);
      const t = await crypto.subtle.sign("HMAC", mac, cat(u64be(seq), ivAndC));
      return cat(ivAndC, new Uint8Array(t));
    },
    async open(record, seq) {
      if (!cbcShapeOk(record)) throw decryptError();
      const ivAndC = record.subarray(0, record.length - MAC_BYTES);
      const t = record.subarray(record.length - MAC_BYTES);
      // HMAC verify compares in constant time.
      if (!await crypto.subtle.verify("HMAC", mac, buf(t), cat(u64be(seq), ivAndC))) {
        throw decryptError();
      }
      try {
        const params = { name: "AES-CBC", iv: buf(ivAndC.subarray(0, BLOCK)) };
        return new Uint8Array(
          await crypto.subtle.decrypt(params, enc, buf(ivAndC.subarray(BLOCK))),
        );
      } catch (err) {
        throw decryptError(err);
      }
    },
  };
}
