// ASL cipher suites (spec section 3, "Cipher suites"): the names this implementation
// negotiates, the default preference, which suites share the AES-GCM record layer, which
// use ephemeral X25519, which batch several command lines per record, and the one parser of
// a comma-separated suite list that the server, the client and the tools share.

import type { Suite } from "./types.ts";

/**
 * Every suite this implementation negotiates, in the default preference (spec section 2,
 * M4): `X25519_AES_GCM`, then `AES_GCM`, then `AES_CBC`.
 *
 * @example
 * ```ts
 * import { KNOWN_SUITES } from "./suites.ts";
 * console.log(KNOWN_SUITES.join(",")); // "X25519_AES_GCM,AES_GCM,AES_CBC"
 * ```
 */
export const KNOWN_SUITES: readonly Suite[] = ["X25519_AES_GCM", "AES_GCM", "AES_CBC"];

/** True when `name` is a suite this implementation negotiates. */
export function isKnownSuite(name: string): name is Suite {
  return (KNOWN_SUITES as readonly string[]).includes(name);
}

/** True for the suites whose records are AES-256-GCM (`AES_GCM` and `X25519_AES_GCM`). */
export function isGcmSuite(suite: Suite): suite is "AES_GCM" | "X25519_AES_GCM" {
  return suite !== "AES_CBC";
}

/** True for the key-agreement suite: M4, M5 and M6 carry ephemeral X25519 keys. */
export function isKeyAgreementSuite(suite: string): suite is "X25519_AES_GCM" {
  return suite === "X25519_AES_GCM";
}

/**
 * True when a sender may put several command lines into one record (spec section 3): only
 * towards a peer that negotiated `X25519_AES_GCM`, so a revision 3 peer never sees a batch.
 */
export function batchesLines(suite: Suite): boolean {
  return suite === "X25519_AES_GCM";
}

/**
 * Parses a comma-separated suite list (`--suites`): known names, none twice, at least one.
 * Returns the list, or a one-line reason for a usage error.
 *
 * @example
 * ```ts
 * import { parseSuiteList } from "./suites.ts";
 * console.log(parseSuiteList("X25519_AES_GCM")); // ["X25519_AES_GCM"]
 * console.log(typeof parseSuiteList("DES_CBC")); // "string" (the reason)
 * ```
 */
export function parseSuiteList(text: string): Suite[] | string {
  const names = text.split(",").map((s) => s.trim());
  if (names.length === 0 || names.some((n) => n === "")) {
    return `an empty suite name in ${JSON.stringify(text)}`;
  }
  for (const n of names) {
    if (!isKnownSuite(n)) {
      return `unknown suite ${JSON.stringify(n)} (known: ${KNOWN_SUITES.join(", ")})`;
    }
  }
  if (new Set(names).size !== names.length) return "a suite is listed twice";
  return names as Suite[];
}
