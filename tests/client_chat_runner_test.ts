// Tests cli/client/chat_runner.ts: the chat state machine wired to a real client (real server
// on loopback) and a scripted ChatUI: typed lines are sent and their fate printed, incoming
// messages are printed and then acknowledged, /quit closes the client.

import assert from "node:assert/strict";
import { Chat } from "../cli/client/chat.ts";
import { runChat } from "../cli/client/chat_runner.ts";
import { connect } from "../lib/client/client.ts";
import type { ChatUI } from "../cli/client/terminal.ts";
import { serve } from "../lib/server/serve.ts";
import { makeTestPki } from "./helpers/pki.ts";

/** A ChatUI driven by the test: `type()` feeds lines, `printed` collects output. */
class ScriptedUI implements ChatUI {
  readonly printed: string[] = [];
  prompt = "";
  closed = false;
  #queue: string[] = [];
  #wake: (() => void) | undefined;
  #ended = false;

  type(line: string): void {
    this.#queue.push(line);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *lines(): AsyncIterable<string> {
    while (true) {
      const line = this.#queue.shift();
      if (line !== undefined) {
        yield line;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
  }

  print(text: string): void {
    this.printed.push(text);
  }

  setPrompt(prompt: string): void {
    this.prompt = prompt;
  }

  close(): void {
    this.closed = true;
  }

  async waitFor(pattern: RegExp): Promise<string> {
    for (let i = 0; i < 400; i++) {
      const hit = this.printed.find((line) => pattern.test(line));
      if (hit !== undefined) return hit;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.fail(`no output matching ${pattern}; got:\n${this.printed.join("\n")}`);
  }
}

Deno.test("runChat: send with fate, incoming printed then acked, /quit", async () => {
  const dir = await Deno.makeTempDir();
  const pki = await makeTestPki(dir, { users: ["alice", "bob"] });
  const server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    credentials: await pki.credentials("server"),
    trust: pki.trust,
    dataPath: `${dir}/db.sqlite`,
  });
  const port = server.addr.port;
  const options = async (user: string) => ({
    user,
    hostname: "localhost",
    port,
    credentials: await pki.credentials(user),
    trust: pki.trust,
  });
  const bob = await connect(await options("bob"));
  const ui = new ScriptedUI();
  const chat = new Chat({ user: "alice" });
  const alice = await connect(await options("alice"));
  const done = runChat(alice, chat, ui);
  try {
    assert.equal(ui.prompt, "alice> ");
    ui.type("@bob hello from the chat");
    await ui.waitFor(/#1 to bob delivered to the server/);
    assert.equal(ui.prompt, "alice → bob> ");
    ui.type("@nobody hi");
    await ui.waitFor(/#2 to nobody FAILED: UNKNOWN_USER/);

    const got = await bob.messages().next();
    assert.equal(got.value?.text, "hello from the chat");

    await bob.send("alice", "hi alice");
    const shown = await ui.waitFor(/bob: hi alice$/);
    assert.match(shown, /^\[\d\d:\d\d\] 🔒 bob: hi alice$/);

    ui.type("/who am i");
    await ui.waitFor(/you are alice/);
    ui.type("/quit");
    assert.deepEqual(await done, { reason: "quit" });
    assert.equal(alice.state, "closed");
    assert.ok(ui.closed);

    // The message shown was acknowledged: a new session of alice gets the next one first.
    await bob.send("alice", "second");
    const again = await connect(await options("alice"));
    try {
      const next = await again.messages().next();
      assert.equal(next.value?.text, "second");
    } finally {
      await again.close();
    }
  } finally {
    ui.end();
    await done.catch(() => {});
    await alice.close();
    await bob.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
