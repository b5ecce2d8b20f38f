// Tests examples/echo_bot.ts: the bot runs as its own process against a real server, and a
// library client gets its messages echoed back.

import assert from "node:assert/strict";
import { connect } from "../lib/client/client.ts";
import { deadline } from "../lib/deadline.ts";
import { serve } from "../lib/server/serve.ts";
import { makeTestPki } from "./helpers/pki.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("examples/echo_bot.ts echoes every message back to its sender", async () => {
  const dir = await Deno.makeTempDir();
  const pki = await makeTestPki(`${dir}/certs`, { users: ["alice", "echo"] });
  const server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    credentials: await pki.credentials("server"),
    trust: pki.trust,
    dataPath: `${dir}/db.sqlite`,
  });
  const port = server.addr.port;
  const bot = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      `${ROOT}deno.json`,
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      `${ROOT}examples/echo_bot.ts`,
      "--user",
      "echo",
      "--port",
      String(port),
      "--count",
      "2",
    ],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  }).spawn();
  const alice = await connect({
    user: "alice",
    hostname: "localhost",
    port,
    credentials: await pki.credentials("alice"),
    trust: pki.trust,
  });
  try {
    // The bot registers "echo"; until it has, sending to it fails with UNKNOWN_USER.
    for (let i = 0; i < 300; i++) {
      const ok = await alice.send("echo", "ping").then(() => true, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await alice.send("echo", "héllo 👋");
    const got: string[] = [];
    await deadline(
      (async () => {
        for await (const m of alice) {
          assert.equal(m.from, "echo");
          got.push(m.text);
          if (got.length === 2) break;
        }
      })(),
      30_000,
      "the echoes",
    );
    assert.deepEqual(got, ["echo: ping", "echo: héllo 👋"]);
    const out = await deadline(bot.output(), 30_000, "the bot to exit");
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(new TextDecoder().decode(out.stdout), /echoed a message from alice\n.*alice\n$/s);
  } finally {
    try {
      bot.kill();
    } catch {
      // already exited
    }
    await bot.status;
    await alice.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
