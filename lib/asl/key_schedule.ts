// ASL key schedule (spec section 3, "Key schedule"): HKDF-SHA256 with IKM K, salt TH_7 and
// info "ASL/1 <c2s|s2c> <purpose>", per direction and suite.

import { type Primitives, primitives } from "./primitives.ts";
import { isGcmSuite } from "./suites.ts";
import type { Suite } from "./types.ts";

/** Record keys of one direction: `key`/`iv` for the GCM suites, `enc`/`mac` for AES_CBC. */
export type DirectionKeys =
  | {
    readonly suite: "AES_GCM" | "X25519_AES_GCM";
    readonly key: Uint8Array;
    readonly iv: Uint8Array;
  }
  | { readonly suite: "AES_CBC"; readonly enc: Uint8Array; readonly mac: Uint8Array };

/** Both directions' keys. */
export interface SessionKeys {
  readonly c2s: DirectionKeys;
  readonly s2c: DirectionKeys;
}

/** A direction of the session. */
export type Direction = "c2s" | "s2c";

const encoder = new TextEncoder();
const INFO: Record<string, Uint8Array> = {};
for (const d of ["c2s", "s2c"]) {
  for (const p of ["key", "iv", "enc", "mac"]) {
    INFO[`${d} ${p}`] = encoder.encode(`ASL/1 ${d} ${p}`);
  }
}

function info(d: Direction, purpose: string): Uint8Array {
  return INFO[`${d} ${purpose}`]!;
}

/** Derives one direction's keys: HKDF(K, salt TH_7, info "ASL/1 <d> <purpose>"). */
export async function deriveDirectionKeys(
  K: Uint8Array,
  TH_7: Uint8Array,
  suite: Suite,
  d: Direction,
  impl: Primitives = primitives(),
): Promise<DirectionKeys> {
  if (isGcmSuite(suite)) {
    const [key, iv] = await Promise.all([
      impl.hkdf(K, TH_7, info(d, "key"), 32),
      impl.hkdf(K, TH_7, info(d, "iv"), 12),
    ]);
    return { suite, key, iv };
  }
  const [enc, mac] = await Promise.all([
    impl.hkdf(K, TH_7, info(d, "enc"), 32),
    impl.hkdf(K, TH_7, info(d, "mac"), 32),
  ]);
  return { suite, enc, mac };
}

/** Derives both directions' keys from the session key K and TH_7 (K imported once). */
export async function deriveSessionKeys(
  K: Uint8Array,
  TH_7: Uint8Array,
  suite: Suite,
  impl: Primitives = primitives(),
): Promise<SessionKeys> {
  const [a, b] = isGcmSuite(suite) ? ["key", "iv"] : ["enc", "mac"];
  const second = isGcmSuite(suite) ? 12 : 32;
  const out = await impl.hkdfMany(K, TH_7, [
    { info: info("c2s", a), length: 32 },
    { info: info("c2s", b), length: second },
    { info: info("s2c", a), length: 32 },
    { info: info("s2c", b), length: second },
  ]);
  const [c2sA, c2sB, s2cA, s2cB] = out as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  if (isGcmSuite(suite)) {
    return {
      c2s: { suite, key: c2sA, iv: c2sB },
      s2c: { suite, key: s2cA, iv: s2cB },
    };
  }
  return {
    c2s: { suite, enc: c2sA, mac: c2sB },
    s2c: { suite, enc: s2cA, mac: s2cB },
  };
}
