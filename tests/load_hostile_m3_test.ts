// The load tool's hostile-M3 probe (tools/load/hostile_m3.ts) against a real server: every
// 1 500-extension certificate is refused with BAD_CERTIFICATE (issue 13, finding 1).

import "reflect-metadata";
import assert from "node:assert/strict";
import {
  HOSTILE_EXTENSIONS,
  hostileCertificate,
  hostileHandshakes,
} from "../tools/load/hostile_m3.ts";
import { startTestServer } from "./helpers/server.ts";

Deno.test("load hostile M3: the certificate is past the bounds; the server refuses each one", async () => {
  const der = await hostileCertificate();
  assert.ok(der.length > 8_192 && der.length < 32_000, `${der.length} bytes`);
  const t = await startTestServer();
  try {
    const out = await hostileHandshakes("127.0.0.1", t.port, der, 20, 0.5);
    assert.equal(out.attempts, 10);
    assert.equal(out.refused_bad_certificate, 10, JSON.stringify(out.other));
    assert.deepEqual(out.other, {});
    assert.ok(HOSTILE_EXTENSIONS > 24);
  } finally {
    await t.close();
  }
});
