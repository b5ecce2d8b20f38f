// The GCM record cipher (spec section 3, "Records"; suites AES_GCM and X25519_AES_GCM, whose
// records are the same): nonce = iv XOR (0x00000000 || u64be(seq)), record = ciphertext then
// the 16-byte tag, no additional data. Two implementations pass every vector: node:crypto (the
// fast path the session uses by default; it reuses its nonce buffer and builds records in
// node:buffer's pooled memory) and WebCrypto (the portable reference).

import { Buffer } from "node:buffer";
import { createCipheriv, createDecipheriv } from "node:crypto";
import { buf, type Bytes, pooled } from "./bytes.ts";
import {
  cat,
  decryptError,
  type RecordCipher,
  withPromises,
  writeU64be,
} from "./records_cipher.ts";

const TAG_BYTES = 16;

/** GCM nonce = iv XOR (0x00000000 || u64be(seq)). */
export function gcmNonce(iv: Uint8Array, seq: number): Bytes {
  return gcmNonceInto(new Uint8Array(12), iv, seq);
}

/** Writes the GCM nonce of record `seq` into `out` (12 bytes) and returns `out`. */
function gcmNonceInto<T extends Uint8Array>(out: T, iv: Uint8Array, seq: number): T {
  out[0] = 0;
  out[1] = 0;
  out[2] = 0;
  out[3] = 0;
  writeU64be(out, 4, seq);
  for (let i = 0; i < 12; i++) out[i]! ^= iv[i]!;
  return out;
}

// --- node:crypto fast path ---------------------------------------------------------------

// Keys as Buffers (private copies): node:crypto converts anything else to a Buffer on every
// createCipheriv, once per record. seal/open are synchronous underneath; the promise forms
// wrap the sync ones. Per record, our own code allocates no ArrayBuffer: the nonce buffer is
// reused (createCipheriv/createDecipheriv copy the IV before returning) and records are built
// in pooled memory (see `pooled`); what remains is inside node:crypto.
export function nodeGcm(rawKey: Uint8Array, iv: Uint8Array): RecordCipher {
  const key = Buffer.from(rawKey);
  const nonce = Buffer.alloc(12);
  const sealSync = (plaintext: Uint8Array, seq: number): Uint8Array => {
    const c = createCipheriv("aes-256-gcm", key, gcmNonceInto(nonce, iv, seq));
    const body = c.update(plaintext);
    c.final(); // GCM: no output
    const tag = c.getAuthTag();
    const out = pooled(body.length + TAG_BYTES);
    out.set(body);
    out.set(tag, body.length);
    return out;
  };
  const openSync = (record: Uint8Array, seq: number): Uint8Array => {
    if (record.length < TAG_BYTES) throw decryptError();
    try {
      const d = createDecipheriv("aes-256-gcm", key, gcmNonceInto(nonce, iv, seq), {
        authTagLength: TAG_BYTES,
      });
      d.setAuthTag(record.subarray(record.length - TAG_BYTES));
      const head = d.update(record.subarray(0, record.length - TAG_BYTES));
      const tail = d.final(); // GCM: empty
      return tail.length === 0 ? head : cat(head, tail);
    } catch (err) {
      throw decryptError(err);
    }
  };
  return withPromises(sealSync, openSync);
}

// --- WebCrypto reference ------------------------------------------------------------------

/** The WebCrypto GCM cipher: the portable reference (promise forms only). */
export async function webGcm(rawKey: Uint8Array, iv: Uint8Array): Promise<RecordCipher> {
  const key = await crypto.subtle.importKey("raw", buf(rawKey), "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
  return {
    async seal(plaintext, seq) {
      const params = { name: "AES-GCM", iv: gcmNonce(iv, seq), tagLength: 128 };
      return new Uint8Array(await crypto.subtle.encrypt(params, key, buf(plaintext)));
    },
    async open(record, seq) {
      if (record.length < TAG_BYTES) throw decryptError();
      const params = { name: "AES-GCM", iv: gcmNonce(iv, seq), tagLength: 128 };
      try {
        return new Uint8Array(await crypto.subtle.decrypt(params, key, buf(record)));
      } catch (err) {
        throw decryptError(err);
      }
    },
  };
}
