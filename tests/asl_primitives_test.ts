// Tests of lib/asl/primitives.ts, transcript.ts and key_schedule.ts (spec sections 2 and 3):
// both implementations (node:crypto fast path, WebCrypto reference) against the vectors.

import assert from "node:assert/strict";
import { macInput } from "../lib/asl/kx_signatures.ts";
import { deriveDirectionKeys, deriveSessionKeys } from "../lib/asl/key_schedule.ts";
import {
  nodePrimitives,
  type Primitives,
  primitives,
  webPrimitives,
} from "../lib/asl/primitives.ts";
import { Transcript } from "../lib/asl/transcript.ts";
import { hex, loadSession } from "./helpers/asl.ts";

const SUITES = ["AES_GCM", "AES_CBC"] as const;
const IMPLS: Primitives[] = [nodePrimitives, webPrimitives];
const STEPS = ["M1", "M2", "M3", "M4", "M5", "M6", "M7"] as const;
const encoder = new TextEncoder();

Deno.test("primitives: primitives() picks node by default and webcrypto on request", () => {
  assert.equal(primitives(), nodePrimitives);
  assert.equal(primitives("node").impl, "node");
  assert.equal(primitives("webcrypto"), webPrimitives);
});

for (const impl of IMPLS) {
  for (const suite of SUITES) {
    Deno.test(`primitives ${impl.impl} ${suite}: transcript TH_4, TH_5, TH_7`, async () => {
      const v = await loadSession(suite);
      const t = new Transcript(impl);
      const want: Record<number, string> = { 4: v.TH_4, 5: v.TH_5, 7: v.TH_7 };
      for (const [i, step] of STEPS.entries()) {
        const bytes = encoder.encode(v.messages[step]);
        t.add(bytes);
        assert.equal(t.length, i + 1);
        const expected = want[i + 1];
        if (expected !== undefined) assert.equal((await t.hash()).toHex(), expected);
      }
      // Hashing twice gives the same value (the running state is kept).
      assert.equal((await t.hash()).toHex(), v.TH_7);
    });

    Deno.test(`primitives ${impl.impl} ${suite}: MAC of M5 and its constant-time check`, async () => {
      const v = await loadSession(suite);
      const K = hex(v.K);
      const input = macInput(hex(v.TH_4));
      assert.equal((await impl.hmac(K, input)).toHex(), v.MAC);
      assert.equal(await impl.hmacVerify(K, hex(v.MAC), input), true);
      const flipped = hex(v.MAC);
      flipped[31]! ^= 1;
      assert.equal(await impl.hmacVerify(K, flipped, input), false);
      assert.equal(await impl.hmacVerify(K, hex(v.MAC).subarray(0, 31), input), false);
      assert.equal(await impl.hmacVerify(K, new Uint8Array(0), input), false);
      const otherKey = hex(v.N);
      assert.equal(await impl.hmacVerify(otherKey, hex(v.MAC), input), false);
    });

    Deno.test(`primitives ${impl.impl} ${suite}: HKDF key schedule`, async () => {
      const v = await loadSession(suite);
      const keys = await deriveSessionKeys(hex(v.K), hex(v.TH_7), suite, impl);
      for (const d of ["c2s", "s2c"] as const) {
        const got = keys[d];
        const one = await deriveDirectionKeys(hex(v.K), hex(v.TH_7), suite, d, impl);
        assert.deepEqual(one, got);
        if (got.suite !== "AES_CBC") {
          assert.deepEqual({ key: got.key.toHex(), iv: got.iv.toHex() }, v.keys[d]);
        } else {
          assert.deepEqual({ enc: got.enc.toHex(), mac: got.mac.toHex() }, v.keys[d]);
        }
      }
    });
  }
}

Deno.test("primitives: both implementations agree on other inputs", async () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  const salt = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
  for (const length of [1, 12, 32, 33, 64]) {
    const info = encoder.encode(`ASL/1 test ${length}`);
    const a = await nodePrimitives.hkdf(key, salt, info, length);
    const b = await webPrimitives.hkdf(key, salt, info, length);
    assert.equal(a.length, length);
    assert.equal(a.toHex(), b.toHex());
  }
  const data = encoder.encode("x".repeat(5000));
  assert.equal(
    (await nodePrimitives.hmac(key, data)).toHex(),
    (await webPrimitives.hmac(key, data)).toHex(),
  );
  const hn = nodePrimitives.runningHash();
  const hw = webPrimitives.runningHash();
  for (let i = 0; i < 5; i++) {
    hn.update(data.subarray(i * 1000, (i + 1) * 1000));
    hw.update(data.subarray(i * 1000, (i + 1) * 1000));
    assert.equal((await hn.digest()).toHex(), (await hw.digest()).toHex());
  }
  // RFC 4231 test case 2 pins HMAC-SHA256 itself.
  const rfc = await nodePrimitives.hmac(
    encoder.encode("Jefe"),
    encoder.encode("what do ya want for nothing?"),
  );
  assert.equal(rfc.toHex(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
});
