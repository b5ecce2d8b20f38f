// Who exists and who is online (lib/server/directory.ts), without a store or a socket.
import assert from "node:assert/strict";
import { Directory } from "../lib/server/directory.ts";

Deno.test("directory: a first REGISTER counts as existing while it commits, until the last ends", () => {
  const users = new Directory<string>(["alice"]);
  assert.equal(users.has("alice"), true);
  assert.equal(users.isKnown("alice"), true);
  assert.equal(users.has("bob"), false);
  users.registering("bob", +1);
  users.registering("bob", +1); // two sessions register bob while its row commits
  assert.equal(users.has("bob"), true);
  assert.equal(users.isKnown("bob"), false);
  users.registering("bob", -1);
  assert.equal(users.has("bob"), true);
  users.registering("bob", -1); // both commits failed
  assert.equal(users.has("bob"), false);
  users.registering("bob", +1);
  users.addKnown("bob");
  users.registering("bob", -1);
  assert.equal(users.isKnown("bob"), true);
  assert.equal(users.knownCount, 2);
});

Deno.test("directory: the newest session wins; an older one's end does not take the user offline", () => {
  const users = new Directory<string>();
  users.setOnline("alice", "old");
  users.setOnline("alice", "new");
  assert.equal(users.online("alice"), "new");
  users.dropOnline("alice", "old");
  assert.equal(users.online("alice"), "new");
  assert.equal(users.onlineCount, 1);
  assert.deepEqual([...users.sessions()], ["new"]);
  users.dropOnline("alice", "new");
  assert.equal(users.online("alice"), undefined);
  assert.equal(users.onlineCount, 0);
});
