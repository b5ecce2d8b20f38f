// The library client with several servers (lib/client/connection.ts, `servers`; the CLI's
// --server HOST:PORT,HOST:PORT): servers are tried in turn, a dead one is skipped, and when
// the server in use goes away the client fails over to the next one by itself. Real servers
// on loopback (tests/helpers/server.ts).

import assert from "node:assert/strict";
import { connect } from "../lib/client/client.ts";
import { parseCli, UsageError } from "../cli/client/cli.ts";
import { startTestServer } from "./helpers/server.ts";
import { makeTestPki } from "./helpers/pki.ts";

const ENV = (key: string) => key === "HOME" ? "/home/test" : undefined;

Deno.test("parseCli: --server HOST:PORT,HOST:PORT (instead of --host/--port)", () => {
  const cmd = parseCli(["--user", "alice", "--server", "a.example:4300,[::1]:4301,b.example"], ENV);
  assert.equal(cmd.name, "chat");
  if (cmd.name !== "chat") return;
  assert.deepEqual(cmd.common.servers, [
    { hostname: "a.example", port: 4300 },
    { hostname: "::1", port: 4301 },
    { hostname: "b.example", port: 4287 },
  ]);
  assert.equal(cmd.common.host, "a.example");
  const plain = parseCli(["--user", "alice"], ENV);
  assert.equal(plain.name === "chat" ? plain.common.servers : "?", undefined);
  for (
    const bad of [
      ["--server", "a:4287", "--port", "1"],
      ["--server", "a:x"],
      ["--server", "a:4287,"],
      ["--server", "a:70000"],
    ]
  ) {
    assert.throws(() => parseCli(["--user", "alice", ...bad], ENV), UsageError, bad.join(" "));
  }
});

Deno.test("client: servers tried in turn; fails over to the next when its server goes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netsec-failover-" });
  const pki = await makeTestPki(`${dir}/pki`, { users: ["alice"] });
  const s1 = await startTestServer({ pki });
  const s2 = await startTestServer({ pki });
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dead = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const events: string[] = [];
  const client = await connect({
    user: "alice",
    servers: [
      { hostname: "127.0.0.1", port: dead },
      { hostname: "127.0.0.1", port: s1.port },
      { hostname: "127.0.0.1", port: s2.port },
    ],
    credentials: await pki.credentials("alice"),
    trust: pki.trust,
    reconnect: { initialMs: 20, maxMs: 200, jitter: 0.5 },
    onEvent: (e) => {
      if (e.type === "connecting") events.push(`connecting ${e.port}`);
      if (e.type === "ready") events.push("ready");
    },
  });
  try {
    assert.deepEqual(events, [`connecting ${dead}`, `connecting ${s1.port}`, "ready"]);
    assert.equal(client.info.server, `127.0.0.1:${s1.port}`);
    assert.deepEqual((await client.send("alice", "one")).to, ["alice"]);
    await s1.close();
    // The next send waits for the reconnect, which skips the dead server for s2.
    assert.deepEqual((await client.send("alice", "two")).to, ["alice"]);
    assert.equal(client.info.server, `127.0.0.1:${s2.port}`);
    assert.equal(client.state, "ready");
  } finally {
    await client.close();
    await s2.close();
    await s1.close().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
