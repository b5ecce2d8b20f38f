// Runs the chat: wires the pure Chat state machine to a connected client and a ChatUI.
// Incoming messages are printed, then acknowledged (the iterator acks on the next pull);
// typed lines become sends whose fate is printed when the server answers; /whois becomes a
// certificate lookup whose result is printed when it is done.

import { deadline } from "../../lib/deadline.ts";
import type { MessengerClient } from "../../lib/client/client.ts";
import type { Chat, ChatAction, TrustOutcome } from "./chat.ts";
import { ClientError } from "../../lib/client/errors.ts";
import type { ChatUI } from "./terminal.ts";

/** How a chat session ended. */
export interface ChatEnd {
  /** `quit`: /quit or end of input; `closed`: the client closed for good. */
  readonly reason: "quit" | "closed";
}

/**
 * Runs a chat until the user quits or the client closes for good. On quit it waits up to
 * `drainMs` (default 5 000) for unanswered messages, then closes the client.
 */
export async function runChat(
  client: MessengerClient,
  chat: Chat,
  ui: ChatUI,
  options: { drainMs?: number } = {},
): Promise<ChatEnd> {
  const sends: Promise<void>[] = [];
  const apply = (actions: readonly ChatAction[]): boolean => {
    let quit = false;
    for (const action of actions) {
      if (action.type === "print") ui.print(action.text);
      else if (action.type === "quit") quit = true;
      else if (action.type === "fingerprint") {
        sends.push(client.fingerprint().then((own) => void apply(chat.fingerprint(own))));
      } else if (action.type === "trust" || action.type === "reject") {
        const user = action.user;
        const work = action.type === "reject"
          ? client.reject(user)
          : action.confirmed
          ? client.trust(user)
          : client.whois(user);
        const report = action.type === "trust" && !action.confirmed
          ? (o: TrustOutcome) => chat.trustPreview(user, o)
          : (o: TrustOutcome) => chat.trusted(user, o);
        sends.push(work.then(
          (result) => void apply(report({ ok: true, result })),
          (err) =>
            void apply(report({
              ok: false,
              code: err instanceof ClientError ? err.code : "ERROR",
              message: err instanceof Error ? err.message : String(err),
            })),
        ));
      } else if (action.type === "whois") {
        const user = action.user;
        sends.push(
          client.lookupCertificate(user).then(
            async (found) => {
              const e2e = await client.whois(user).catch(() => undefined);
              void apply(
                chat.whois(user, {
                  ok: true,
                  identity: found.identity,
                  fingerprint: found.fingerprint,
                  ...(e2e ? { e2e } : {}),
                }),
              );
            },
            (err) =>
              void apply(
                chat.whois(user, {
                  ok: false,
                  code: err instanceof ClientError ? err.code : "ERROR",
                }),
              ),
          ),
        );
      } else {
        const ref = action.ref;
        const done = client.send(action.to, action.text).then(
          (result) => void apply(chat.sent(ref, { ok: true, id: result.id })),
          (err) =>
            void apply(
              chat.sent(ref, { ok: false, code: err instanceof ClientError ? err.code : "ERROR" }),
            ),
        );
        sends.push(done);
      }
    }
    return quit;
  };

  chat.setInfo(client.info);
  ui.setPrompt(chat.prompt());
  const receiving = (async () => {
    for await (const message of client) apply(chat.incoming(message));
  })();

  const CLOSED: unique symbol = Symbol("closed");
  const closed: Promise<typeof CLOSED> = client.closed.then(() => CLOSED);
  const input = ui.lines()[Symbol.asyncIterator]();
  let reason: ChatEnd["reason"] = "quit";
  try {
    while (true) {
      const next: IteratorResult<string> | typeof CLOSED = await Promise.race([
        input.next(),
        closed,
      ]);
      if (typeof next === "symbol") {
        reason = "closed";
        break;
      }
      if (next.done) break;
      chat.setInfo(client.info);
      const quit = apply(chat.input(next.value));
      ui.setPrompt(chat.prompt());
      if (quit) break;
    }
    if (reason === "quit" && client.pending > 0) {
      ui.print(`* waiting for the server to answer ${client.pending} message(s)…`);
      await deadline(Promise.allSettled(sends), options.drainMs ?? 5_000, () => undefined);
    }
  } finally {
    void input.return?.()?.catch(() => {});
    await client.close();
    await receiving;
    await Promise.allSettled(sends);
    ui.close();
  }
  return { reason };
}
