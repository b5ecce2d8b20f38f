// Tests of tools/load/rsa_bound.ts: each suite's bound does that suite's server-side
// public-key work (X25519_AES_GCM: no RSA-OAEP; AES_GCM: the five RSA operations). No timing
// assertions: only which operations ran and that units completed.

import assert from "node:assert/strict";
import { measureHandshakeBound, measureRsaBound } from "../tools/load/rsa_bound.ts";

Deno.test("the X25519_AES_GCM bound: CA signature, Q_S, SIG_C, K, SIG_S and no OAEP", async () => {
  const b = await measureHandshakeBound("X25519_AES_GCM", 0.2, 2);
  assert.equal(b.suite, "X25519_AES_GCM");
  assert.deepEqual(Object.keys(b.op_cpu_ms), [
    "verify_cert",
    "x25519_keygen",
    "verify_sig_c",
    "x25519_k",
    "sign_sig_s",
  ]);
  assert.ok(b.units > 0 && b.handshakes_per_cpu_s > 0);
});

Deno.test("the RSA bound is AES_GCM's: five RSA operations", async () => {
  const b = await measureRsaBound(0.2, 2);
  assert.equal(b.suite, "AES_GCM");
  assert.deepEqual(Object.keys(b.op_cpu_ms), [
    "verify_cert",
    "verify_sig_c",
    "decrypt_e",
    "sign_m6",
    "encrypt_e2",
  ]);
  assert.ok(b.units > 0 && b.handshakes_per_cpu_s > 0);
});
