// The servers a client tries (docs/CLUSTER.md; ASL spec section 5 for each session): the
// list from `servers` (or `hostname`/`port`), the name its seen memories go by, and the
// fail-over choice: each attempt dials each server once, from the last good one on, and a
// refusal no retry can change ends it at once. Pure: the dialling is passed in.

import { asError } from "./errors.ts";
import { type ClientOptions, DEFAULT_PORT } from "./types.ts";

/** One server to dial. */
export interface ServerEndpoint {
  readonly hostname: string;
  readonly port: number;
}

/**
 * The servers of one client, in order, and which one is current (tried first).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ServerList } from "./servers.ts";
 * const list = new ServerList({ servers: [{ hostname: "a" }, { hostname: "b", port: 1 }] });
 * const tried: string[] = [];
 * await list.tryEach(async (s) => {
 *   tried.push(s.hostname);
 *   if (s.hostname === "a") throw new Error("down");
 * }, () => false);
 * assert.deepEqual(tried, ["a", "b"]);
 * assert.equal(list.current.hostname, "b");
 * assert.equal(list.address, "a:4287,b:1");
 * ```
 */
export class ServerList {
  /** The servers to try, in order (one unless `servers` was given). */
  readonly servers: readonly ServerEndpoint[];
  /** The seen memories' name of the server (list): a cluster shares one sid space. */
  readonly address: string;
  /** The index of the server last connected to (tried first). */
  #current = 0;

  constructor(opts: Pick<ClientOptions, "servers" | "hostname" | "port">) {
    const servers = opts.servers !== undefined && opts.servers.length > 0
      ? opts.servers
      : [{ hostname: opts.hostname ?? "localhost", port: opts.port ?? DEFAULT_PORT }];
    this.servers = servers.map((s) => ({ hostname: s.hostname, port: s.port ?? DEFAULT_PORT }));
    this.address = this.servers.map((s) => `${s.hostname}:${s.port}`).join(",");
  }

  /** The server in use (or tried first). */
  get current(): ServerEndpoint {
    return this.servers[this.#current] ?? this.servers[0]!;
  }

  /**
   * One attempt: `dial` each server once, from the current one on; the first that succeeds
   * becomes current. An error `fatal` says yes to ends the attempt at once (rethrown);
   * `failed` hears of each other failure but the last. When all fail, the last error is
   * thrown and the next attempt leads with the server after the one tried first (a node
   * that died stays behind).
   */
  async tryEach(
    dial: (server: ServerEndpoint) => Promise<void>,
    fatal: (error: Error) => boolean,
    failed?: (server: ServerEndpoint, error: Error) => void,
  ): Promise<void> {
    let last: Error | undefined;
    const start = this.#current;
    for (let i = 0; i < this.servers.length; i++) {
      const index = (start + i) % this.servers.length;
      this.#current = index;
      try {
        await dial(this.servers[index]!);
        return;
      } catch (err) {
        last = asError(err);
        if (fatal(last)) throw last;
        if (i + 1 < this.servers.length) failed?.(this.servers[index]!, last);
      }
    }
    this.#current = (start + 1) % this.servers.length;
    throw last;
  }
}
