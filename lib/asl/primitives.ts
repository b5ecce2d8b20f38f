// The symmetric primitives of the ASL handshake (spec section 2: TH_n = SHA-256, MAC =
// HMAC-SHA256; section 3: HKDF-SHA256 key schedule) behind one small interface, in two
// implementations that pass the same vectors: `node` (node:crypto, synchronous, the fast
// path: no thread hand-off per call) and `webcrypto` (crypto.subtle, the portable
// reference). RSA is not here: it stays WebCrypto (handshake.ts).

import {
  createHash,
  createHmac,
  createSecretKey,
  type Hash,
  hkdfSync,
  timingSafeEqual,
} from "node:crypto";
import { buf, type Bytes, concatBytes } from "./bytes.ts";

/** Which implementation backs the handshake's SHA-256, HMAC and HKDF. */
export type PrimitivesImpl = "node" | "webcrypto";

/** A running SHA-256 over appended messages; `digest()` may be called after every append. */
export interface RunningHash {
  /** Appends bytes (they are not copied: the caller must not change them later). */
  update(bytes: Uint8Array): void;
  /** SHA-256 of everything appended so far; appending may continue afterwards. */
  digest(): Promise<Bytes>;
}

/** SHA-256, HMAC-SHA256 and HKDF-SHA256 as the handshake uses them. */
export interface Primitives {
  /** Which implementation this is. */
  readonly impl: PrimitivesImpl;
  /** A new running SHA-256 (the transcript hash). */
  runningHash(): RunningHash;
  /** HMAC-SHA256(key, data). */
  hmac(key: Uint8Array, data: Uint8Array): Promise<Bytes>;
  /** True when `mac` equals HMAC-SHA256(key, data), compared in constant time. */
  hmacVerify(key: Uint8Array, mac: Uint8Array, data: Uint8Array): Promise<boolean>;
  /** HKDF-SHA256 (RFC 5869): `length` bytes from `ikm`, `salt` and `info`. */
  hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Promise<Bytes>;
  /** Several HKDF-SHA256 outputs from one `ikm` and `salt` (the key imported once). */
  hkdfMany(
    ikm: Uint8Array,
    salt: Uint8Array,
    outputs: readonly { readonly info: Uint8Array; readonly length: number }[],
  ): Promise<Bytes[]>;
}

const HMAC_BYTES = 32;

// --- node:crypto fast path ---------------------------------------------------------------

class NodeRunningHash implements RunningHash {
  #hash: Hash = createHash("sha256");
  update(bytes: Uint8Array): void {
    this.#hash.update(bytes);
  }
  digest(): Promise<Bytes> {
    // copy() keeps the running state so later messages can still be appended.
    return Promise.resolve(new Uint8Array(this.#hash.copy().digest()));
  }
}

function nodeHmac(key: Uint8Array, data: Uint8Array): Bytes {
  return new Uint8Array(createHmac("sha256", key).update(data).digest());
}

/** The node:crypto implementation (synchronous work, resolved promises). */
export const nodePrimitives: Primitives = {
  impl: "node",
  runningHash: () => new NodeRunningHash(),
  hmac: (key, data) => Promise.resolve(nodeHmac(key, data)),
  hmacVerify(key, mac, data) {
    if (mac.length !== HMAC_BYTES) return Promise.resolve(false);
    return Promise.resolve(timingSafeEqual(nodeHmac(key, data), mac));
  },
  hkdf: (ikm, salt, info, length) =>
    Promise.resolve(new Uint8Array(hkdfSync("sha256", ikm, salt, info, length))),
  hkdfMany(ikm, salt, outputs) {
    const key = createSecretKey(ikm); // once: hkdfSync would make one per call
    return Promise.resolve(
      outputs.map(({ info, length }) =>
        new Uint8Array(hkdfSync("sha256", key, salt, info, length))
      ),
    );
  },
};

// --- WebCrypto reference -----------------------------------------------------------------

class WebRunningHash implements RunningHash {
  #parts: Uint8Array[] = [];
  update(bytes: Uint8Array): void {
    this.#parts.push(bytes);
  }
  async digest(): Promise<Bytes> {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", concatBytes(this.#parts)));
  }
}

function importHmac(key: Uint8Array, usage: KeyUsage): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", buf(key), { name: "HMAC", hash: "SHA-256" }, false, [
    usage,
  ]);
}

/** The WebCrypto implementation (the portable reference). */
export const webPrimitives: Primitives = {
  impl: "webcrypto",
  runningHash: () => new WebRunningHash(),
  async hmac(key, data) {
    const k = await importHmac(key, "sign");
    return new Uint8Array(await crypto.subtle.sign("HMAC", k, buf(data)));
  },
  async hmacVerify(key, mac, data) {
    // HMAC verify compares in constant time.
    const k = await importHmac(key, "verify");
    return await crypto.subtle.verify("HMAC", k, buf(mac), buf(data));
  },
  async hkdf(ikm, salt, info, length) {
    return (await webPrimitives.hkdfMany(ikm, salt, [{ info, length }]))[0]!;
  },
  async hkdfMany(ikm, salt, outputs) {
    const k = await crypto.subtle.importKey("raw", buf(ikm), "HKDF", false, ["deriveBits"]);
    return await Promise.all(outputs.map(async ({ info, length }) => {
      const params = { name: "HKDF", hash: "SHA-256", salt: buf(salt), info: buf(info) };
      return new Uint8Array(await crypto.subtle.deriveBits(params, k, length * 8));
    }));
  },
};

/**
 * Returns the primitives of `impl` (default `node`, the fast path).
 *
 * @example
 * ```ts
 * import { primitives } from "./primitives.ts";
 * const h = primitives("node").runningHash();
 * h.update(new TextEncoder().encode("SALAAM_ASL\n\n"));
 * console.log((await h.digest()).length); // 32
 * ```
 */
export function primitives(impl: PrimitivesImpl = "node"): Primitives {
  return impl === "node" ? nodePrimitives : webPrimitives;
}
