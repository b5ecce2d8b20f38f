// ASL key schedule (spec section 3, "Key schedule"): HKDF-SHA256 with IKM K, salt TH_7 and
// info "ASL/1 <c2s|s2c> <purpose>", per direction and suite.

import { buf } from "./bytes.ts";
import type { Suite } from "./types.ts";

/** Record keys of one direction: `key`/`iv` for AES_GCM, `enc`/`mac` for AES_CBC. */
export type DirectionKeys =
  | { readonly suite: "AES_GCM"; readonly key: Uint8Array; readonly iv: Uint8Array }
  | { readonly suite: "AES_CBC"; readonly enc: Uint8Array; readonly mac: Uint8Array };

/** Both directions' keys. */
export interface SessionKeys {
  readonly c2s: DirectionKeys;
  readonly s2c: DirectionKeys;
}

/** A direction of the session. */
export type Direction = "c2s" | "s2c";

const encoder = new TextEncoder();

async function hkdf(ikm: CryptoKey, salt: Uint8Array, info: string, length: number) {
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: buf(salt), info: encoder.encode(info) },
    ikm,
    length * 8,
  );
  return new Uint8Array(bits);
}

/** Derives one direction's keys: HKDF(K, salt TH_7, info "ASL/1 <d> <purpose>"). */
export async function deriveDirectionKeys(
  K: Uint8Array | CryptoKey,
  TH_7: Uint8Array,
  suite: Suite,
  d: Direction,
): Promise<DirectionKeys> {
  const ikm = K instanceof Uint8Array ? await importIkm(K) : K;
  if (suite === "AES_GCM") {
    const [key, iv] = await Promise.all([
      hkdf(ikm, TH_7, `ASL/1 ${d} key`, 32),
      hkdf(ikm, TH_7, `ASL/1 ${d} iv`, 12),
    ]);
    return { suite, key, iv };
  }
  const [enc, mac] = await Promise.all([
    hkdf(ikm, TH_7, `ASL/1 ${d} enc`, 32),
    hkdf(ikm, TH_7, `ASL/1 ${d} mac`, 32),
  ]);
  return { suite, enc, mac };
}

function importIkm(K: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", buf(K), "HKDF", false, ["deriveBits"]);
}

/** Derives both directions' keys from the session key K and TH_7 (K imported once). */
export async function deriveSessionKeys(
  K: Uint8Array,
  TH_7: Uint8Array,
  suite: Suite,
): Promise<SessionKeys> {
  const ikm = await importIkm(K);
  const [c2s, s2c] = await Promise.all([
    deriveDirectionKeys(ikm, TH_7, suite, "c2s"),
    deriveDirectionKeys(ikm, TH_7, suite, "s2c"),
  ]);
  return { c2s, s2c };
}
