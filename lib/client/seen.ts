// The per-user memory of `sid`s already shown (ASL spec section 5: "Recipients drop a sid
// they have already seen"): bounded, and kept on disk so a restart does not show a message
// twice. One sid per line, appended; compacted to the newest `limit` when it grows.

/** A bounded set of seen sids, optionally persisted to a file. */
export class SeenSids {
  readonly #limit: number;
  readonly #path: string | undefined;
  #order: string[] = [];
  #set = new Set<string>();
  #lines = 0;

  /**
   * Loads `path` when given (a missing file is an empty memory). Keeps at most `limit`
   * sids (default 10 000), forgetting the oldest first.
   */
  constructor(path?: string, limit = 10_000) {
    this.#limit = Math.max(1, limit);
    this.#path = path;
    if (path === undefined) return;
    let text = "";
    try {
      text = Deno.readTextFileSync(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    for (const line of text.split("\n")) {
      if (line !== "") this.#remember(line);
      if (line !== "") this.#lines++;
    }
  }

  /** How many sids are remembered. */
  get size(): number {
    return this.#set.size;
  }

  /** True when `sid` was seen. */
  has(sid: string): boolean {
    return this.#set.has(sid);
  }

  /** Remembers `sid` (and appends it to the file). */
  add(sid: string): void {
    if (this.#set.has(sid)) return;
    this.#remember(sid);
    if (this.#path === undefined) return;
    if (this.#lines + 1 > this.#limit * 2) {
      this.#compact();
    } else {
      Deno.writeTextFileSync(this.#path, sid + "\n", { append: true, create: true, mode: 0o600 });
      this.#lines++;
    }
  }

  #remember(sid: string): void {
    if (this.#set.has(sid)) return;
    this.#set.add(sid);
    this.#order.push(sid);
    while (this.#order.length > this.#limit) this.#set.delete(this.#order.shift()!);
  }

  #compact(): void {
    const path = this.#path!;
    const tmp = `${path}.tmp`;
    Deno.writeTextFileSync(tmp, this.#order.map((s) => s + "\n").join(""), { mode: 0o600 });
    Deno.renameSync(tmp, path);
    this.#lines = this.#order.length;
  }
}
