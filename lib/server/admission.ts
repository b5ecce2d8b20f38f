// Admission of unauthenticated connections (ASL spec section 2: the server accepts, then
// waits up to the handshake timeout for a peer it does not know yet). Pure accounting: a
// bound on handshakes not yet finished per source address and in total, with tickets that
// give their place back exactly once however the handshake ends. serve.ts applies it.

/** Why a connection was not admitted. */
export type AdmissionRefusal = "max-pending" | "max-pending-ip";

/** Limits of `PendingHandshakes`. */
export interface AdmissionLimits {
  /** Handshakes not yet finished, all addresses together. */
  readonly maxPending: number;
  /** Handshakes not yet finished from one source address (see `addressKey`). */
  readonly maxPendingPerAddress: number;
}

/** One admitted pending handshake; `release()` gives its place back (idempotent). */
export interface AdmissionTicket {
  release(): void;
}

class Ticket implements AdmissionTicket {
  #owner: PendingHandshakes | undefined;
  constructor(owner: PendingHandshakes, readonly key: string) {
    this.#owner = owner;
  }
  release(): void {
    const owner = this.#owner;
    this.#owner = undefined;
    owner?.leave(this.key);
  }
}

/**
 * Counts pending (unauthenticated) handshakes per address key and in total.
 *
 * @example
 * ```ts
 * import { PendingHandshakes } from "./admission.ts";
 * const pending = new PendingHandshakes({ maxPending: 100, maxPendingPerAddress: 1 });
 * const first = pending.admit("192.0.2.7");
 * console.log(pending.admit("192.0.2.7")); // "max-pending-ip"
 * if (typeof first !== "string") first.release();
 * console.log(pending.total); // 0
 * ```
 */
export class PendingHandshakes {
  readonly limits: AdmissionLimits;
  #byKey = new Map<string, number>();
  #total = 0;

  /** Throws `RangeError` for a limit below 1. */
  constructor(limits: AdmissionLimits) {
    if (!(limits.maxPending >= 1) || !(limits.maxPendingPerAddress >= 1)) {
      throw new RangeError("PendingHandshakes: limits must be at least 1");
    }
    this.limits = limits;
  }

  /** Pending handshakes, all addresses. */
  get total(): number {
    return this.#total;
  }

  /** Addresses with at least one pending handshake. */
  get addresses(): number {
    return this.#byKey.size;
  }

  /** Pending handshakes of one address key. */
  countFor(key: string): number {
    return this.#byKey.get(key) ?? 0;
  }

  /** Admits one handshake from `key`, or says which bound it would pass. */
  admit(key: string): AdmissionTicket | AdmissionRefusal {
    if (this.#total >= this.limits.maxPending) return "max-pending";
    const n = this.#byKey.get(key) ?? 0;
    if (n >= this.limits.maxPendingPerAddress) return "max-pending-ip";
    this.#byKey.set(key, n + 1);
    this.#total++;
    return new Ticket(this, key);
  }

  /** @internal Called by a ticket, once. */
  leave(key: string): void {
    const n = this.#byKey.get(key) ?? 0;
    if (n <= 1) this.#byKey.delete(key);
    else this.#byKey.set(key, n - 1);
    this.#total--;
  }
}

/**
 * The key a source address is counted under: an IPv4 address as is (also when written
 * IPv4-mapped, `::ffff:192.0.2.7`), an IPv6 address by its /64 prefix (one host usually
 * holds a whole /64, so counting single IPv6 addresses would bound nothing), anything else
 * (a name, a malformed text) as given.
 *
 * @example
 * ```ts
 * import { addressKey } from "./admission.ts";
 * console.log(addressKey("::ffff:192.0.2.7")); // "192.0.2.7"
 * console.log(addressKey("2001:db8:1:2:aaaa::1")); // "2001:db8:1:2::/64"
 * ```
 */
export function addressKey(hostname: string): string {
  let host = hostname;
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const zone = host.indexOf("%");
  if (zone >= 0) host = host.slice(0, zone);
  if (!host.includes(":")) return host;
  const groups = expandIpv6(host);
  if (groups === undefined) return hostname;
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) {
    const hi = groups[6]!;
    const lo = groups[7]!;
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

/** The 8 groups of an IPv6 address (with `::` and a trailing dotted IPv4), or undefined. */
function expandIpv6(text: string): number[] | undefined {
  let body = text.toLowerCase();
  const tail: number[] = [];
  const dotted = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(body);
  if (dotted) {
    const bytes = dotted.slice(2, 6).map(Number);
    if (bytes.some((b) => b > 255)) return undefined;
    tail.push((bytes[0]! << 8) | bytes[1]!, (bytes[2]! << 8) | bytes[3]!);
    body = dotted[1]!.endsWith("::") ? dotted[1]! : dotted[1]!.slice(0, -1);
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    for (const g of part.split(":")) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (head === undefined || rest === undefined) return undefined;
  const given = head.length + rest.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined;
  return [...head, ...new Array<number>(8 - given).fill(0), ...rest, ...tail];
}
