// A client that half-closes right after its commands still gets every reply, in order, before
// the server closes (spec section 5: every command gets exactly one reply; issue 13 finding 3).

import "reflect-metadata";
import assert from "node:assert/strict";
import { connect } from "../lib/asl/endpoint.ts";
import { startTestServer } from "./helpers/server.ts";

const P = "aGVsbG8=";

for (const suite of ["X25519_AES_GCM", "AES_GCM"] as const) {
  Deno.test(`half-close ${suite}: REGISTER, MESSAGE, closeWrite → both answered, m1 committed`, async () => {
    const t = await startTestServer({ users: ["alice", "bob"] });
    try {
      // bob becomes a known user first.
      const bob0 = await t.client("bob");
      await bob0.close();
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
      const session = await connect(conn, {
        credentials: await t.pki.credentials("alice"),
        trust: t.pki.trust,
        serverName: "127.0.0.1",
        suites: [suite],
      });
      await Promise.all([
        session.send("REGISTER alice"),
        session.send(`MESSAGE m1 bob ${P}`),
        session.send(`MESSAGE m2 nobody ${P}`),
      ]);
      await conn.closeWrite();
      const got: string[] = [];
      for await (const line of session) got.push(line);
      assert.deepEqual(got, ["OK alice", "OK m1", "FAILED m2 UNKNOWN_USER"]);
      assert.equal((await session.closed).reason, "remote");
      // m1 was committed and is delivered to bob.
      const bob = await t.client("bob");
      try {
        const [d] = await bob.deliveriesN(1);
        assert.deepEqual([d?.from, d?.payload], ["alice", P]);
      } finally {
        await bob.close();
      }
    } finally {
      await t.close();
    }
  });
}
