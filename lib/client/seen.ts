// The memory of deliveries already shown (ASL spec section 5: a recipient drops a delivery
// whose sid, FROMUSERID and payload all equal those of one it has already seen, and answers
// `OK <sid>` again). One memory per user and server: a server is its address and the
// SHA-256 fingerprint of its validated certificate, so another server, or one restored from
// a backup that hands out a sid again, can never make the client drop and acknowledge a new
// message. Entries are SHA-256 digests of (sid, from, payload), never the payload itself.
// Bounded, and optionally kept on disk: one file per user and server under the state
// directory, a header line naming the server, then one base64 digest per line, appended
// and compacted to the newest `limit` when it grows.

import { createHash } from "node:crypto";
import { encodeBase64 } from "../base64.ts";

/** Default number of deliveries remembered per user and server. */
export const DEFAULT_SEEN_LIMIT = 10_000;

const FORMAT = "netsec-msg seen v2";

/** The server a memory belongs to: the address dialled and its certificate's fingerprint. */
export interface SeenServer {
  /** `host:port` as dialled. */
  readonly address: string;
  /** SHA-256 fingerprint of the server's validated leaf certificate (`ab:cd:…`). */
  readonly fingerprint: string;
}

const encoder = new TextEncoder();

/**
 * The remembered form of a delivery: SHA-256 over `sid`, `from` and the payload bytes,
 * base64 (44 characters). `sid` and `from` cannot hold a space (section 5 grammar), so the
 * encoding `"ASL seen" 0x00 sid " " from " " payload` is unambiguous.
 */
export function deliveryDigest(sid: string, from: string, payload: Uint8Array): string {
  const hash = createHash("sha256");
  hash.update(encoder.encode(`ASL seen\u0000${sid} ${from} `));
  hash.update(payload);
  return encodeBase64(new Uint8Array(hash.digest()));
}

/** The file name of one server's memory: 32 hex digits of SHA-256(address, fingerprint). */
export function seenFileName(server: SeenServer): string {
  const key = createHash("sha256").update(`${server.address}\n${server.fingerprint}`)
    .digest("hex").slice(0, 32);
  return `${key}.seen`;
}

/** `<stateDir>/seen/<user>/<key>.seen`: where one user's memory of one server lives. */
export function seenFilePath(stateDir: string, user: string, server: SeenServer): string {
  return `${stateDir}/seen/${user}/${seenFileName(server)}`;
}

/**
 * A bounded set of delivery digests for one server, optionally persisted to a file. A file
 * whose header names another server or format (such as the sid-only files of revision 3)
 * is not trusted: the memory starts empty and the file is rewritten on the next compaction.
 */
export class SeenDeliveries {
  readonly #limit: number;
  readonly #path: string | undefined;
  readonly #header: string;
  #order: string[] = [];
  #set = new Set<string>();
  #lines = 0;
  #fresh = true;

  /**
   * Loads `path` when given (a missing file is an empty memory). Keeps at most `limit`
   * digests (default 10 000), forgetting the oldest first.
   */
  constructor(server: SeenServer, path?: string, limit = DEFAULT_SEEN_LIMIT) {
    this.#limit = Math.max(1, limit);
    this.#path = path;
    this.#header = `# ${FORMAT} ${server.address} ${server.fingerprint}`;
    if (path === undefined) return;
    let text = "";
    try {
      text = Deno.readTextFileSync(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    const lines = text.split("\n");
    if (lines[0] !== this.#header) return; // empty, foreign or old: start afresh
    this.#fresh = false;
    for (const line of lines.slice(1)) {
      if (!/^[A-Za-z0-9+/]{43}=$/.test(line)) continue;
      this.#remember(line);
      this.#lines++;
    }
  }

  /** How many deliveries are remembered. */
  get size(): number {
    return this.#set.size;
  }

  /** True when a delivery with this digest (see {@link deliveryDigest}) was seen. */
  has(digest: string): boolean {
    return this.#set.has(digest);
  }

  /** Remembers a digest (and appends it to the file). */
  add(digest: string): void {
    if (this.#set.has(digest)) return;
    this.#remember(digest);
    if (this.#path === undefined) return;
    if (this.#fresh || this.#lines + 1 > this.#limit * 2) {
      this.#compact();
    } else {
      Deno.writeTextFileSync(this.#path, digest + "\n", { append: true, mode: 0o600 });
      this.#lines++;
    }
  }

  #remember(digest: string): void {
    if (this.#set.has(digest)) return;
    this.#set.add(digest);
    this.#order.push(digest);
    while (this.#order.length > this.#limit) this.#set.delete(this.#order.shift()!);
  }

  /** Rewrites the file: header, then the remembered digests, oldest first. */
  #compact(): void {
    const path = this.#path!;
    const dir = path.slice(0, path.lastIndexOf("/"));
    if (dir !== "") Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${path}.tmp`;
    const body = [this.#header, ...this.#order].map((l) => l + "\n").join("");
    Deno.writeTextFileSync(tmp, body, { mode: 0o600 });
    Deno.renameSync(tmp, path);
    this.#lines = this.#order.length;
    this.#fresh = false;
  }
}

/** Where {@link SeenMemories} keeps its files, and where it reports an unreadable one. */
export interface SeenMemoriesOptions {
  /** The USERID whose memories these are. */
  readonly user: string;
  /** The state directory (memories on disk under `seen/<user>/`); none: memory only. */
  readonly stateDir?: string | undefined;
  /** Most deliveries remembered per server; default 10 000. */
  readonly limit?: number | undefined;
  /** Told `client.seen_read_failed` when a memory file cannot be read. */
  readonly warn: (event: string, fields: { reason: string }) => void;
}

/** One client's seen memories, one per server (its address and certificate fingerprint). */
export class SeenMemories {
  readonly #opts: SeenMemoriesOptions;
  readonly #memories = new Map<string, SeenDeliveries>();

  /** Memories of `options.user`, loaded when first asked for. */
  constructor(options: SeenMemoriesOptions) {
    this.#opts = options;
  }

  /**
   * The seen memory of one server: loaded from the state directory once per client, or
   * memory only when there is no state directory (or its file cannot be read).
   */
  for(server: SeenServer): SeenDeliveries {
    const key = `${server.address}\n${server.fingerprint}`;
    let memory = this.#memories.get(key);
    if (memory !== undefined) return memory;
    const { stateDir, user, limit } = this.#opts;
    const path = stateDir === undefined ? undefined : seenFilePath(stateDir, user, server);
    try {
      memory = new SeenDeliveries(server, path, limit);
    } catch (err) {
      this.#opts.warn("client.seen_read_failed", {
        reason: err instanceof Error ? err.message : String(err),
      });
      memory = new SeenDeliveries(server, undefined, limit);
    }
    this.#memories.set(key, memory);
    return memory;
  }
}
