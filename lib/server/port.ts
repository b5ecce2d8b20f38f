// The router's port to one ASL session (ASL spec section 5): what serve.ts hands to
// `Router.open` for each connection, the `SessionPort` of session.ts over a SecureSession.

import type { SecureSession } from "../asl/mod.ts";
import type { SessionPort } from "./session.ts";

/**
 * The router's port to one session: methods on the prototype, so an idle session costs one
 * small object here rather than an object, two closures and their context.
 */
export class PortOf implements SessionPort {
  readonly identity: string;
  readonly chain: readonly Uint8Array[];
  readonly #session: SecureSession;

  constructor(session: SecureSession) {
    this.#session = session;
    this.identity = session.peer.identity;
    this.chain = session.peer.chain;
  }

  send(line: string): Promise<void> {
    return this.#session.send(line);
  }

  close(): void {
    void this.#session.close();
  }
}
