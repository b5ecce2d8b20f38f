// A trust store whose CRL file is watched (ASL spec section 4, "Where a CRL is configured, a
// revoked certificate fails with CERT_REVOKED"): the file is checked every few seconds (stat,
// then read, parse and signature check when it changed) and a new TrustStore object is made
// for each new content, so caches keyed by the store (validate.ts, validation_cache.ts) see
// the change. Fail closed: once a CRL is in use, a file that disappears, cannot be read,
// parsed or verified gives no trust store at all until it is usable again.

import { bytesEqual } from "../bytes.ts";
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";
import { parseCrlFile } from "./credentials.ts";
import { checkCrlSignature, parseCrl } from "./crl.ts";
import { PkiInputError } from "./errors.ts";
import type { TrustStore } from "./types.ts";

/** A trust store that may change while a server runs. */
export interface TrustSource {
  /** The trust store to validate with now; undefined while revocation data is unusable. */
  current(): TrustStore | undefined;
  /** Why `current()` is undefined (one line), else undefined. */
  readonly problem: string | undefined;
  /**
   * Calls `listener` after each change: a new trust store, or a change between usable and
   * unusable. Returns a function that removes the listener.
   */
  onChange(listener: (trust: TrustStore | undefined) => void): () => void;
}

/** Default time between two checks of the CRL file, in milliseconds. */
export const DEFAULT_CRL_CHECK_MS = 2_000;

/** Options of `CrlWatcher.open`. */
export interface CrlWatchOptions {
  /** Trust anchors (the CA file's certificates). */
  readonly anchors: readonly Uint8Array[];
  /** The CRL file (PEM `X509 CRL` blocks or one DER CRL). */
  readonly path: string;
  /**
   * True when the CRL must be usable from the start (configured explicitly, or present at
   * start-up). False: while the file does not exist no CRL is used; once it appears it is
   * used, and from then on it is required like a configured one.
   */
  readonly required: boolean;
  /** Milliseconds between checks; default 2 000; 0 = no timer (call `check()`). */
  readonly intervalMs?: number;
  /** Where `crl_loaded` / `crl_unusable` go. */
  readonly logger?: Logger;
}

/**
 * Watches a CRL file and serves the trust store built from it and the CA file's anchors.
 *
 * @example
 * ```ts ignore
 * import { CrlWatcher } from "./crl_watch.ts";
 * const watcher = await CrlWatcher.open({ anchors: trust.anchors, path: "certs/ca.crl", required: true });
 * const now = watcher.current(); // undefined while the CRL is unusable
 * watcher.close();
 * ```
 */
export class CrlWatcher implements TrustSource {
  readonly path: string;
  readonly intervalMs: number;
  readonly #anchors: readonly Uint8Array[];
  readonly #log: Logger;
  #required: boolean;
  /** The trust store in use; undefined while failing. */
  #trust: TrustStore | undefined;
  /** The last usable content and the trust store made of it. */
  #good: { readonly bytes: Uint8Array; readonly trust: TrustStore } | undefined;
  /** stat fingerprint of what was last read (good or not). */
  #seen: string | undefined;
  #problem: string | undefined;
  #listeners = new Set<(trust: TrustStore | undefined) => void>();
  #running: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** False during `open`: a first failure is thrown, not logged. */
  #opened = false;

  private constructor(options: CrlWatchOptions) {
    this.path = options.path;
    this.intervalMs = options.intervalMs ?? DEFAULT_CRL_CHECK_MS;
    this.#anchors = options.anchors;
    this.#required = options.required;
    this.#log = options.logger ?? silentLogger;
    this.#trust = { anchors: this.#anchors, crls: [] };
  }

  /**
   * Loads the CRL once and starts the checks. Throws `PkiInputError` when the CRL is
   * required and not usable (start-up refuses it, as before).
   */
  static async open(options: CrlWatchOptions): Promise<CrlWatcher> {
    const watcher = new CrlWatcher(options);
    await watcher.check();
    if (watcher.#problem !== undefined) {
      throw new PkiInputError(watcher.#problem);
    }
    watcher.#opened = true;
    watcher.#schedule();
    return watcher;
  }

  current(): TrustStore | undefined {
    return this.#trust;
  }

  get problem(): string | undefined {
    return this.#problem;
  }

  onChange(listener: (trust: TrustStore | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Checks the file now (a check already running is shared); never rejects. */
  check(): Promise<void> {
    this.#running ??= this.#check().finally(() => this.#running = undefined);
    return this.#running;
  }

  /** Stops the checks. Idempotent. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#listeners.clear();
  }

  #schedule(): void {
    if (this.#closed || this.intervalMs <= 0) return;
    this.#timer = setTimeout(async () => {
      await this.check();
      this.#schedule();
    }, this.intervalMs);
  }

  async #check(): Promise<void> {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(this.path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound && !this.#required) return; // none yet: no CRL
      const why = err instanceof Deno.errors.NotFound ? "no such file" : (err as Error).message;
      this.#seen = undefined;
      return this.#fail(`cannot read the CRL file ${this.path}: ${why}`);
    }
    // Once a CRL file exists it is in force: losing it later must not end revocation.
    this.#required = true;
    const seen = [info.size, info.mtime?.getTime(), info.ctime?.getTime(), info.ino].join("|");
    if (seen === this.#seen) return; // unchanged since the last read (usable or not)
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(this.path);
    } catch (err) {
      this.#seen = undefined;
      return this.#fail(`cannot read the CRL file ${this.path}: ${(err as Error).message}`);
    }
    this.#seen = seen;
    if (this.#good !== undefined && bytesEqual(bytes, this.#good.bytes)) {
      return this.#use(this.#good.trust, this.#good.bytes);
    }
    let crls: Uint8Array[];
    try {
      crls = parseCrlFile(bytes);
      for (const der of crls) await checkCrlSignature(parseCrl(der), this.#anchors);
    } catch (err) {
      return this.#fail(`unusable CRL file ${this.path}: ${(err as Error).message}`);
    }
    this.#use({ anchors: this.#anchors, crls }, bytes);
  }

  #use(trust: TrustStore, bytes: Uint8Array): void {
    if (this.#closed) return;
    const was = this.#trust;
    const restored = this.#problem !== undefined;
    this.#good = { bytes, trust };
    this.#problem = undefined;
    this.#trust = trust;
    if (was === trust) return;
    const revoked = trust.crls.reduce((n, der) => n + parseCrl(der).revoked.size, 0);
    this.#log.info("crl_loaded", {
      path: this.path,
      crls: trust.crls.length,
      revoked,
      ...(restored ? { restored: true } : {}),
    });
    this.#notify();
  }

  #fail(problem: string): void {
    if (this.#closed) return;
    const changed = problem !== this.#problem;
    const wasUsable = this.#trust !== undefined;
    this.#problem = problem;
    this.#trust = undefined;
    if (changed && this.#opened) {
      this.#log.error("crl_unusable", {
        error: problem,
        action: "refusing new handshakes with INTERNAL_ERROR until the CRL is usable again",
      });
    }
    if (wasUsable) this.#notify();
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(this.#trust);
      } catch {
        // A listener's fault is its own.
      }
    }
  }
}
