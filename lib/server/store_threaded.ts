// A Store (lib/server/store.ts) that runs the SQLite engine in a worker thread
// (store_worker.ts): the network thread never blocks on a disk flush, so commands that
// arrive during a commit are gathered into the next one (ASL spec section 5, durable OK).

import { StoreError, type StoreErrorCode } from "./errors.ts";
import type { SidLease, Store, StoreOp, StoreResult, StoreSnapshot } from "./store.ts";
import type { WorkerRequest, WorkerResponse } from "./store_worker.ts";

/** The worker's engine code when it is a store code, else `WORKER`. */
function storeCode(code: string | undefined): StoreErrorCode {
  return code === "SCHEMA_TOO_NEW" || code === "CLOSED" || code === "DATABASE" ? code : "WORKER";
}

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

// Distributive Omit, so each request variant keeps its own fields.
type RequestBody = WorkerRequest extends infer R ? R extends unknown ? Omit<R, "id"> : never
  : never;

/**
 * Opens `path` in a dedicated worker and proxies the Store calls to it, in order.
 *
 * @example
 * ```ts ignore
 * import { WorkerStore } from "./store_threaded.ts";
 * const store = await WorkerStore.open("data/netsec-msg.db");
 * const snapshot = await store.load();
 * await store.close();
 * ```
 */
export class WorkerStore implements Store {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #dead: Error | undefined;

  private constructor() {
    this.#worker = new Worker(new URL("./store_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (event: MessageEvent<WorkerResponse>) => {
      const msg = event.data;
      const pending = this.#pending.get(msg.id);
      if (pending === undefined) return;
      this.#pending.delete(msg.id);
      if (msg.ok) pending.resolve(msg.value);
      else {pending.reject(
          new StoreError(storeCode(msg.error.code), msg.error.message),
        );}
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#fail(new StoreError("WORKER", `the store worker failed: ${event.message}`));
    };
  }

  /** Starts the worker and opens (creating or migrating) the database at `path`. */
  static async open(path: string): Promise<WorkerStore> {
    const store = new WorkerStore();
    try {
      await store.#call({ type: "open", path });
    } catch (err) {
      store.#worker.terminate();
      throw err;
    }
    return store;
  }

  load(): Promise<StoreSnapshot> {
    return this.#call({ type: "load" }) as Promise<StoreSnapshot>;
  }

  leaseSids(): Promise<SidLease> {
    return this.#call({ type: "lease" }) as Promise<SidLease>;
  }

  apply(ops: readonly StoreOp[]): Promise<StoreResult[]> {
    return this.#call({ type: "apply", ops }) as Promise<StoreResult[]>;
  }

  async close(): Promise<void> {
    if (this.#dead !== undefined) return;
    try {
      await this.#call({ type: "close" });
    } finally {
      this.#fail(new StoreError("CLOSED", "the store is closed"));
    }
  }

  #call(body: RequestBody): Promise<unknown> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...body, id } as WorkerRequest);
    });
  }

  #fail(error: Error): void {
    if (this.#dead !== undefined) return;
    this.#dead = error;
    this.#worker.terminate();
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}
