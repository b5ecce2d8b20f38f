// Test helpers for the messenger server (ASL spec section 5): a real server on a free
// loopback port, in-process (`startTestServer`) or as a child process running server.ts
// (`spawnServer`, over tools/harness.ts), and a small ASL test client that sorts what it
// receives into replies and deliveries. Shared with the client tests.

import { connect } from "../../lib/asl/mod.ts";
import type { SecureSession } from "../../lib/asl/types.ts";
import { serve, type ServeOptions, type ServerHandle } from "../../lib/server/serve.ts";
import { type Child, SERVER_TS, spawnServerTs } from "../../tools/harness.ts";
import { makeTestPki, type TestPki } from "./pki.ts";

export { SERVER_TS };

/** A server started in this process. */
export interface TestServer {
  readonly server: ServerHandle;
  readonly port: number;
  readonly pki: TestPki;
  /** A temp directory owned by this server (database, PKI unless one was given). */
  readonly dir: string;
  /** Connects and (by default) registers `user`. */
  client(user: string, options?: TestClientOptions): Promise<TestClient>;
  /** Shuts the server down and removes its directory. */
  close(): Promise<void>;
}

/** Options of `startTestServer`: any ServeOptions, plus a PKI or users to make one for. */
export type TestServerOptions =
  & Partial<Omit<ServeOptions, "credentials" | "trust">>
  & { readonly pki?: TestPki; readonly users?: readonly string[] };

/**
 * Starts a real server on 127.0.0.1 port 0 with a throwaway PKI and a SQLite database in a
 * temp directory (or `options.store` / `options.dataPath`).
 *
 * @example
 * ```ts ignore
 * const t = await startTestServer({ users: ["alice", "bob"] });
 * try {
 *   const alice = await t.client("alice");
 * } finally {
 *   await t.close();
 * }
 * ```
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dir = await Deno.makeTempDir({ prefix: "netsec-server-" });
  try {
    const pki = options.pki ?? await makeTestPki(`${dir}/pki`, { users: options.users ?? [] });
    const { pki: _pki, users: _users, ...rest } = options;
    const server = await serve({
      dataPath: `${dir}/test.db`,
      ...rest,
      hostname: "127.0.0.1",
      port: 0,
      credentials: await pki.credentials("server"),
      trust: pki.trust,
    });
    const port = server.addr.port;
    return {
      server,
      port,
      pki,
      dir,
      client: (user, clientOptions) => TestClient.connect(port, pki, user, clientOptions),
      close: async () => {
        try {
          await server.close();
        } finally {
          await Deno.remove(dir, { recursive: true }).catch(() => {});
        }
      },
    };
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
}

/** A server.ts child process (tools/harness.ts's Child). */
export type ChildServer = Child;

/** Options of `spawnServer`. */
export interface SpawnOptions {
  readonly pki: TestPki;
  /** The SQLite file (`--data`); leave it out when `args` give `--store`. */
  readonly dataPath?: string;
  /** Extra flags (after the generated --host/--port/--ca/--cert/--key/--data). */
  readonly args?: readonly string[];
  readonly env?: Record<string, string>;
  /** How long to wait for the listening line; default 30 s. */
  readonly startTimeoutMs?: number;
}

/**
 * Runs server.ts as a child on a free loopback port (tools/harness.ts) and waits until it
 * logs its address. Kill it (and await `status`) in `finally`; `output()` holds its log.
 */
export function spawnServer(options: SpawnOptions): Promise<ChildServer> {
  return spawnServerTs({
    pki: options.pki,
    args: [
      ...(options.dataPath !== undefined ? ["--data", options.dataPath] : []),
      ...(options.args ?? []),
    ],
    timeoutMs: options.startTimeoutMs ?? 30_000,
    ...(options.env !== undefined ? { env: options.env } : {}),
  });
}

/** Options of `TestClient.connect`. */
export interface TestClientOptions {
  /** Send `REGISTER <user>` and wait for its OK (default true). */
  readonly register?: boolean;
  /** Default timeout of the waiting methods, ms (default 10 000). */
  readonly timeoutMs?: number;
}

/** A delivery as received: `MESSAGE <sid> <from> <payload>`. */
export interface Delivery {
  readonly sid: string;
  readonly from: string;
  readonly payload: string;
}

/**
 * An ASL session that sorts received lines into replies (`OK`/`FAILED`) and deliveries
 * (`MESSAGE`). It does not acknowledge anything by itself.
 */
export class TestClient {
  readonly replies: string[] = [];
  readonly deliveries: Delivery[] = [];
  #wake: (() => void) | undefined;
  #ended = false;
  readonly timeoutMs: number;

  constructor(readonly session: SecureSession, readonly user: string, timeoutMs = 10_000) {
    this.timeoutMs = timeoutMs;
    this.#pump();
  }

  /** Connects to 127.0.0.1:`port` with `user`'s certificate from `pki`. */
  static async connect(
    port: number,
    pki: TestPki,
    user: string,
    options: TestClientOptions = {},
  ): Promise<TestClient> {
    const session = await connect({ hostname: "127.0.0.1", port }, {
      credentials: await pki.credentials(user),
      trust: pki.trust,
      serverName: "127.0.0.1",
    });
    const client = new TestClient(session, user, options.timeoutMs);
    if (options.register ?? true) {
      const reply = await client.request(`REGISTER ${user}`);
      if (reply !== `OK ${user}`) {
        await client.close();
        throw new Error(`REGISTER ${user} answered ${reply}`);
      }
    }
    return client;
  }

  /** True once the session has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  async #pump(): Promise<void> {
    try {
      for await (const line of this.session) {
        if (line.startsWith("MESSAGE ")) {
          const [, sid = "", from = "", payload = ""] = line.split(" ");
          this.deliveries.push({ sid, from, payload });
        } else {
          this.replies.push(line);
        }
        this.#notify();
      }
    } catch {
      // The session ended with an error: treated as ended.
    } finally {
      this.#ended = true;
      this.#notify();
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Waits until `ready()` holds; throws after the timeout or when the session ended first. */
  async until(ready: () => boolean, what: string, timeoutMs = this.timeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (this.#ended) throw new Error(`${this.user}: session ended while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.user}: timed out waiting for ${what}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /** Sends one command line. */
  send(line: string): Promise<void> {
    return this.session.send(line);
  }

  /** The next reply (OK/FAILED), waiting for it. */
  async reply(timeoutMs?: number): Promise<string> {
    await this.until(() => this.replies.length > 0, "a reply", timeoutMs);
    return this.replies.shift() ?? "";
  }

  /** Sends `line` and returns its reply (only when nothing else is pipelined). */
  async request(line: string, timeoutMs?: number): Promise<string> {
    await this.send(line);
    return await this.reply(timeoutMs);
  }

  /** Waits for `n` deliveries and takes them. */
  async deliveriesN(n: number, timeoutMs?: number): Promise<Delivery[]> {
    await this.until(() => this.deliveries.length >= n, `${n} deliveries`, timeoutMs);
    return this.deliveries.splice(0, n);
  }

  /** Acknowledges deliveries with `OK <sid>`. */
  async ack(deliveries: readonly Delivery[]): Promise<void> {
    await Promise.all(deliveries.map((d) => this.send(`OK ${d.sid}`)));
  }

  /** Waits until the session has ended (e.g. closed by the server). */
  async waitEnded(timeoutMs?: number): Promise<void> {
    await this.until(() => this.#ended, "the session to end", timeoutMs).catch((err) => {
      if (!this.#ended) throw err;
    });
  }

  /** Closes the session. */
  async close(): Promise<void> {
    await this.session.close();
  }
}
