// Worker entry that owns the SQLite store (lib/server/store_sqlite.ts), so that the disk
// flushes of group commits (ASL spec section 5: OK only after a durable commit) run on
// their own thread while the network thread keeps reading, decrypting and batching.
// Protocol: see lib/server/store_threaded.ts.

import { SqliteStore } from "./store_sqlite.ts";
import type { StoreOp } from "./store.ts";

/** A request from the network thread. */
export type WorkerRequest =
  | { readonly id: number; readonly type: "open"; readonly path: string }
  | { readonly id: number; readonly type: "load" }
  | { readonly id: number; readonly type: "lease" }
  | { readonly id: number; readonly type: "apply"; readonly ops: readonly StoreOp[] }
  | { readonly id: number; readonly type: "close" };

/** The answer to one request. */
export type WorkerResponse =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | {
    readonly id: number;
    readonly ok: false;
    readonly error: { readonly name: string; readonly message: string; readonly code?: string };
  };

interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerResponse): void;
}

const scope = globalThis as unknown as WorkerScope;
let store: SqliteStore | undefined;
// Requests are handled strictly one after another, in arrival order.
let chain: Promise<void> = Promise.resolve();

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.type) {
    case "open":
      store = new SqliteStore(request.path);
      return undefined;
    case "load":
      return await requireStore().load();
    case "lease":
      return await requireStore().leaseSids();
    case "apply":
      return await requireStore().apply(request.ops);
    case "close":
      await store?.close();
      store = undefined;
      return undefined;
  }
}

function requireStore(): SqliteStore {
  if (store === undefined) throw new Error("the store is not open");
  return store;
}

scope.onmessage = (event) => {
  const request = event.data;
  chain = chain.then(async () => {
    try {
      scope.postMessage({ id: request.id, ok: true, value: await handle(request) });
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      const code = (e as { code?: unknown }).code;
      scope.postMessage({
        id: request.id,
        ok: false,
        error: typeof code === "string"
          ? { name: e.name, message: e.message, code }
          : { name: e.name, message: e.message },
      });
    }
  });
};
