// File-backed stores of the end-to-end layer (ASL spec section 7) in the client's state
// directory: the pins (trust on first use) as one JSON file per identity and server,
// `<state>/pins/<user>/<server key>/<peer>.json`, and the replay memory of opened envelopes,
// `<state>/replay/<user>.json`. Every change is written to a temporary file and renamed over
// the old one (mode 0600), so a crash leaves either the old or the new state, never half.

import { decodeBase64Strict, encodeBase64 } from "../base64.ts";
import type { PinRecord, PinStore } from "../e2e/pins.ts";
import type { ReplayMemory } from "../e2e/replay.ts";
import { seenFileName, type SeenServer } from "./seen.ts";

const PIN_FORMAT = "netsec-msg pins v1";
const REPLAY_FORMAT = "netsec-msg replay v1";

/** Writes `text` to `path` atomically (temporary file, then rename), mode 0600. */
function writeAtomic(path: string, text: string): void {
  const dir = path.slice(0, path.lastIndexOf("/"));
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  Deno.writeTextFileSync(tmp, text, { mode: 0o600 });
  Deno.renameSync(tmp, path);
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(Deno.readTextFileSync(path));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    if (err instanceof SyntaxError) {
      throw new Error(`${path} is not a valid state file (delete it to start afresh)`);
    }
    throw err;
  }
}

interface PinFile {
  format: string;
  accepted: { fingerprint: string; chain?: string[] }[];
  rejected: string[];
}

/** `<state>/pins/<user>/<server key>`: one user's pins at one server. */
export function pinDirectory(stateDir: string, user: string, server: SeenServer): string {
  return `${stateDir}/pins/${user}/${seenFileName(server).replace(/\.seen$/, "")}`;
}

/**
 * Pins kept in files, one per peer USERID, under `pinDirectory(...)`. A file in another
 * format is an error (never silently ignored: ignoring it would re-open first use).
 *
 * @example
 * ```ts
 * import { FilePinStore } from "./e2e_files.ts";
 * const dir = await Deno.makeTempDir();
 * const pins = new FilePinStore(dir);
 * await pins.accept("bob", "s0wXRvsFkCzP+i15MrzgmiVMdLN+7PRVIIbFfzMz2Pc=");
 * console.log((await new FilePinStore(dir).get("bob")).accepted.length); // 1
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class FilePinStore implements PinStore {
  constructor(readonly directory: string) {}

  #path(userId: string): string {
    return `${this.directory}/${userId}.json`;
  }

  #load(userId: string): PinFile {
    const raw = readJson(this.#path(userId)) as PinFile | undefined;
    if (raw === undefined) return { format: PIN_FORMAT, accepted: [], rejected: [] };
    if (raw.format !== PIN_FORMAT || !Array.isArray(raw.accepted) || !Array.isArray(raw.rejected)) {
      throw new Error(`${this.#path(userId)} is not a pin file of this version`);
    }
    return raw;
  }

  // deno-lint-ignore require-await -- async so that a bad file is a rejection, not a throw
  async get(userId: string): Promise<PinRecord> {
    const file = this.#load(userId);
    return {
      accepted: file.accepted.map((leaf) => ({
        fingerprint: leaf.fingerprint,
        ...(leaf.chain
          ? { chain: leaf.chain.map((c) => decodeBase64Strict(c) ?? new Uint8Array()) }
          : {}),
      })),
      rejected: [...file.rejected],
    };
  }

  // deno-lint-ignore require-await -- async so that a bad file is a rejection, not a throw
  async accept(userId: string, fingerprint: string, chain?: readonly Uint8Array[]): Promise<void> {
    const file = this.#load(userId);
    file.rejected = file.rejected.filter((f) => f !== fingerprint);
    const encoded = chain?.map((c) => encodeBase64(c));
    const held = file.accepted.find((leaf) => leaf.fingerprint === fingerprint);
    if (held) {
      if (encoded) held.chain = encoded;
    } else file.accepted.push({ fingerprint, ...(encoded ? { chain: encoded } : {}) });
    writeAtomic(this.#path(userId), JSON.stringify(file));
  }

  // deno-lint-ignore require-await -- async so that a bad file is a rejection, not a throw
  async reject(userId: string, fingerprint: string): Promise<void> {
    const file = this.#load(userId);
    file.accepted = file.accepted.filter((leaf) => leaf.fingerprint !== fingerprint);
    if (!file.rejected.includes(fingerprint)) file.rejected.push(fingerprint);
    writeAtomic(this.#path(userId), JSON.stringify(file));
  }
}

/**
 * The replay memory in one file per receiving user: `{from, id} → keep until`. Expired
 * pairs are dropped whenever the file is written.
 *
 * @example
 * ```ts
 * import { FileReplayMemory } from "./e2e_files.ts";
 * const dir = await Deno.makeTempDir();
 * const memory = new FileReplayMemory(`${dir}/replay.json`);
 * console.log(await memory.remember("alice", "X7CEemEaSSNqS8Op0ECcFQ", 0, 10)); // false
 * console.log(await new FileReplayMemory(`${dir}/replay.json`).remember("alice", "X7CEemEaSSNqS8Op0ECcFQ", 5, 10)); // true
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class FileReplayMemory implements ReplayMemory {
  readonly #until = new Map<string, number>();

  constructor(readonly path: string) {
    const raw = readJson(path) as { format?: string; pairs?: [string, number][] } | undefined;
    if (raw === undefined) return;
    if (raw.format !== REPLAY_FORMAT || !Array.isArray(raw.pairs)) {
      throw new Error(`${path} is not a replay memory of this version`);
    }
    for (const [key, until] of raw.pairs) this.#until.set(key, until);
  }

  // deno-lint-ignore require-await -- async so that a failed write is a rejection
  async remember(from: string, id: string, now: number, keepUntil: number): Promise<boolean> {
    const key = `${from} ${id}`;
    const held = this.#until.get(key);
    const seen = held !== undefined && held >= now;
    this.#until.set(key, seen ? Math.max(held, keepUntil) : keepUntil);
    for (const [k, until] of this.#until) if (until < now) this.#until.delete(k);
    writeAtomic(this.path, JSON.stringify({ format: REPLAY_FORMAT, pairs: [...this.#until] }));
    return seen;
  }
}

/** `<state>/replay/<user>.json`. */
export function replayFilePath(stateDir: string, user: string): string {
  return `${stateDir}/replay/${user}.json`;
}
