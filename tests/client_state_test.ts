// Tests lib/client/state.ts: where the client keeps its state (--state-dir, then
// $XDG_STATE_HOME/netsec-msg, then ~/.local/state/netsec-msg), as a pure function of the
// environment: nothing here reads or writes the real home.

import assert from "node:assert/strict";
import { resolveStateDir } from "../lib/client/state.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("--state-dir wins over the environment", () => {
  assert.equal(
    resolveStateDir("/tmp/x", env({ XDG_STATE_HOME: "/xdg", HOME: "/home/a" })),
    "/tmp/x",
  );
  assert.equal(resolveStateDir("rel/dir", env({})), "rel/dir");
});

Deno.test("XDG_STATE_HOME/netsec-msg when it is an absolute path", () => {
  assert.equal(
    resolveStateDir(undefined, env({ XDG_STATE_HOME: "/xdg/state/", HOME: "/home/a" })),
    "/xdg/state/netsec-msg",
  );
  // A relative XDG_STATE_HOME is ignored (XDG Base Directory rule).
  assert.equal(
    resolveStateDir(undefined, env({ XDG_STATE_HOME: "state", HOME: "/home/a" })),
    "/home/a/.local/state/netsec-msg",
  );
});

Deno.test("else ~/.local/state/netsec-msg; nothing without HOME", () => {
  assert.equal(
    resolveStateDir(undefined, env({ HOME: "/home/a" })),
    "/home/a/.local/state/netsec-msg",
  );
  assert.equal(
    resolveStateDir(undefined, env({ XDG_STATE_HOME: "", HOME: "/home/a/" })),
    "/home/a/.local/state/netsec-msg",
  );
  assert.equal(resolveStateDir(undefined, env({})), undefined);
  assert.equal(resolveStateDir("", env({})), undefined);
});
