// Tests of lib/server/store_url.ts: the `--store` URL, its printable form and redaction.

import assert from "node:assert/strict";
import { parseStoreUrl, redact, storeUrlText } from "../lib/server/store_url.ts";

Deno.test("store_url: sqlite paths and postgres URLs, printed back without a password", () => {
  assert.deepEqual(parseStoreUrl("sqlite:data/x.db"), { kind: "sqlite", path: "data/x.db" });
  assert.deepEqual(parseStoreUrl("sqlite:/abs/x.db"), { kind: "sqlite", path: "/abs/x.db" });
  const pg = parseStoreUrl("postgres://net%40sec@[::1]:6000/my%20db");
  assert.deepEqual(pg, {
    kind: "postgres",
    host: "::1",
    port: 6000,
    database: "my db",
    user: "net@sec",
  });
  if (typeof pg === "string") return;
  assert.equal(storeUrlText(pg), "postgres://net%40sec@[::1]:6000/my%20db");
  assert.equal(
    storeUrlText({ kind: "postgres", host: "h", port: 5432, database: "d", user: "u" }),
    "postgres://u@h:5432/d",
  );
  assert.equal(storeUrlText({ kind: "sqlite", path: "a.db" }), "sqlite:a.db");
  assert.deepEqual(parseStoreUrl("memory:"), { kind: "memory" });
  assert.equal(storeUrlText({ kind: "memory" }), "memory:");
});

Deno.test("store_url: what is refused, and why (no password repeated)", () => {
  const reasons = [
    "sqlite:",
    "file:x.db",
    "postgres://",
    "postgres://u:topsecret@h/d",
    "postgres://u@h/",
    "postgres://u@h/a/b",
    "postgres://u@h:99999/d",
    "postgres://u@h/d#x",
    "memory:x",
  ].map(parseStoreUrl);
  for (const r of reasons) assert.equal(typeof r, "string", JSON.stringify(r));
  assert.ok(!String(reasons[3]).includes("topsecret"));
});

Deno.test("store_url: redact replaces every occurrence of the secret", () => {
  assert.equal(redact("a pw b pw", "pw"), "a *** b ***");
  assert.equal(redact("nothing", undefined), "nothing");
  assert.equal(redact("nothing", ""), "nothing");
});
