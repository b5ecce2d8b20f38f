// Tests lib/client/servers.ts: the server list from the options and the fail-over choice
// (each attempt tries each server once from the current one; a fatal error ends it).

import assert from "node:assert/strict";
import { type ServerEndpoint, ServerList } from "../lib/client/servers.ts";

function dialer(down: Set<string>, tried: string[]) {
  return (s: ServerEndpoint): Promise<void> => {
    tried.push(s.hostname);
    return down.has(s.hostname)
      ? Promise.reject(new Error(`${s.hostname} down`))
      : Promise.resolve();
  };
}

Deno.test("ServerList: hostname/port, defaults, and the seen-memory address of a list", () => {
  assert.deepEqual(new ServerList({}).servers, [{ hostname: "localhost", port: 4287 }]);
  const one = new ServerList({ hostname: "h", port: 9 });
  assert.deepEqual(one.current, { hostname: "h", port: 9 });
  assert.equal(one.address, "h:9");
  const list = new ServerList({
    hostname: "ignored",
    servers: [{ hostname: "a", port: 1 }, { hostname: "b" }],
  });
  assert.equal(list.address, "a:1,b:4287");
  assert.equal(new ServerList({ servers: [], hostname: "h" }).address, "h:4287");
});

Deno.test("ServerList: the first that answers becomes current and leads the next attempt", async () => {
  const list = new ServerList({
    servers: [{ hostname: "a" }, { hostname: "b" }, { hostname: "c" }],
  });
  const tried: string[] = [];
  const failed: string[] = [];
  await list.tryEach(
    dialer(new Set(["a"]), tried),
    () => false,
    (s, e) => failed.push(`${s.hostname}: ${e.message}`),
  );
  assert.deepEqual(tried, ["a", "b"]);
  assert.deepEqual(failed, ["a: a down"]);
  assert.equal(list.current.hostname, "b");
  tried.length = 0;
  await list.tryEach(dialer(new Set(), tried), () => false);
  assert.deepEqual(tried, ["b"]);
});

Deno.test("ServerList: all down throws the last error; the next attempt leads with the one after", async () => {
  const list = new ServerList({
    servers: [{ hostname: "a" }, { hostname: "b" }, { hostname: "c" }],
  });
  const tried: string[] = [];
  const failed: string[] = [];
  await assert.rejects(
    list.tryEach(
      dialer(new Set(["a", "b", "c"]), tried),
      () => false,
      (s) => failed.push(s.hostname),
    ),
    { message: "c down" },
  );
  assert.deepEqual(tried, ["a", "b", "c"]);
  assert.deepEqual(failed, ["a", "b"]); // the last failure is the one thrown
  assert.equal(list.current.hostname, "b");
});

Deno.test("ServerList: a fatal error ends the attempt at once, the server staying current", async () => {
  const list = new ServerList({
    servers: [{ hostname: "a" }, { hostname: "b" }, { hostname: "c" }],
  });
  const tried: string[] = [];
  await assert.rejects(
    list.tryEach(dialer(new Set(["a", "b"]), tried), (e) => e.message === "b down"),
    { message: "b down" },
  );
  assert.deepEqual(tried, ["a", "b"]);
  assert.equal(list.current.hostname, "b");
});
