// Server name matching and client identities, ASL spec sections 4 and 5: subjectAltName
// dNSName (case-insensitive, `*` only as the whole leftmost label) and iPAddress (IPv4,
// IPv6 in any textual form) against the host dialled; the USERID grammar.

import { bytesEqual } from "../bytes.ts";

const DNS_TEXT = /^[\x21-\x7e]+$/;
const DEC_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/**
 * True when `id` is a USERID: 1 to 111 ASCII letters or digits (section 5); the shared
 * grammar's check, re-exported for the certificate layer.
 *
 * @example
 * ```ts
 * import { isUserId } from "./names.ts";
 * console.log(isUserId("alice"), isUserId("al ice"), isUserId("")); // true false false
 * ```
 */
export { isUserId } from "../grammar.ts";

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] ?? "";
    if (!DEC_OCTET.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (side: string): string[] => (side === "" ? [] : side.split(":"));
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  const words: number[] = [];
  const all = [...head, ...(halves.length === 2 ? ["::"] : []), ...tail];
  let sawGap = false;
  for (let i = 0; i < all.length; i++) {
    const g = all[i] ?? "";
    if (g === "::") {
      sawGap = true;
      words.push(-1);
      continue;
    }
    if (i === all.length - 1 && g.includes(".")) {
      const v4 = parseIpv4(g);
      if (!v4) return undefined;
      words.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      continue;
    }
    if (!HEX_GROUP.test(g)) return undefined;
    words.push(parseInt(g, 16));
  }
  const explicit = words.filter((w) => w >= 0).length;
  if (sawGap ? explicit > 7 : explicit !== 8) return undefined;
  const out = new Uint8Array(16);
  let at = 0;
  for (const w of words) {
    if (w < 0) {
      at += (8 - explicit) * 2;
      continue;
    }
    out[at++] = w >> 8;
    out[at++] = w & 0xff;
  }
  return out;
}

/**
 * Parses an IP literal: dotted-quad IPv4 (decimal, no leading zeros) → 4 bytes, or IPv6
 * in any RFC 4291 text form (compressed `::`, embedded IPv4, optional `[...]`) → 16
 * bytes. Anything else (including zone ids) → `undefined`.
 *
 * @example
 * ```ts
 * import { parseIpAddress } from "./names.ts";
 * console.log(parseIpAddress("127.0.0.1")); // Uint8Array [127, 0, 0, 1]
 * console.log(parseIpAddress("[::1]")?.length); // 16
 * console.log(parseIpAddress("localhost")); // undefined
 * ```
 */
export function parseIpAddress(text: string): Uint8Array | undefined {
  if (text.startsWith("[") && text.endsWith("]")) return parseIpv6(text.slice(1, -1));
  if (text.includes(":")) return parseIpv6(text);
  return parseIpv4(text);
}

function asciiLower(text: string): string | undefined {
  return DNS_TEXT.test(text) ? text.toLowerCase() : undefined;
}

/**
 * True when one dNSName pattern matches a DNS host (both compared case-insensitively as
 * ASCII; `*` only as the whole leftmost label, standing for exactly one non-empty label,
 * with at least two labels after it).
 *
 * @example
 * ```ts
 * import { dnsNameMatches } from "./names.ts";
 * console.log(dnsNameMatches("*.example.com", "WWW.example.com")); // true
 * console.log(dnsNameMatches("*.com", "example.com")); // false
 * ```
 */
export function dnsNameMatches(pattern: string, host: string): boolean {
  const p = asciiLower(pattern);
  let h = asciiLower(host);
  if (p === undefined || h === undefined || h.includes("*")) return false;
  if (h.endsWith(".")) h = h.slice(0, -1);
  const hostLabels = h.split(".");
  if (hostLabels.some((l) => l === "")) return false;
  const patLabels = p.split(".");
  if (patLabels.some((l) => l === "")) return false;
  if (!p.includes("*")) return p === h;
  if (patLabels[0] !== "*" || patLabels.slice(1).some((l) => l.includes("*"))) return false;
  if (patLabels.length < 3 || patLabels.length !== hostLabels.length) return false;
  return patLabels.slice(1).join(".") === hostLabels.slice(1).join(".");
}

/**
 * True when the certificate's subjectAltNames name `host`: an IP literal matches only
 * iPAddress entries (by bytes), a DNS name only dNSName entries. The CN is never used.
 *
 * @example
 * ```ts
 * import { hostMatches } from "./names.ts";
 * const ips = [new Uint8Array(16).fill(0, 0, 15).fill(1, 15)]; // ::1
 * console.log(hostMatches("0:0:0:0:0:0:0:1", ["localhost"], ips)); // true
 * console.log(hostMatches("LocalHost", ["localhost"], ips)); // true
 * ```
 */
export function hostMatches(
  host: string,
  sanDns: readonly string[],
  sanIp: readonly Uint8Array[],
): boolean {
  const ip = parseIpAddress(host);
  if (ip) return sanIp.some((entry) => bytesEqual(entry, ip));
  // Something that looks like an IP literal but is not a valid one never matches a dNSName.
  if (host.includes(":") || host.startsWith("[") || /^[0-9.]+$/.test(host)) return false;
  return sanDns.some((pattern) => dnsNameMatches(pattern, host));
}
