// Tests lib/pki/key_history.ts: a replaced user key is kept as `<key>.N` (mode 0600, the
// highest N the most recent), and the earlier keys load, most recent first, for RSA-OAEP
// decryption (ASL spec section 7, "Receiving" step 6). The path through `issueUser --force`
// is tested in client_e2e_test.ts.

import assert from "node:assert/strict";
import { PkiInputError } from "../lib/pki/errors.ts";
import { earlierKeyPaths, keepPreviousKey, loadEarlierKeys } from "../lib/pki/key_history.ts";
import { testKeys } from "./helpers/pki.ts";

Deno.test("keepPreviousKey copies the key to the next free .N; earlier keys load newest first", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const key = `${dir}/bob.key`;
    assert.equal(keepPreviousKey(key), undefined); // nothing to keep yet
    const first = await testKeys("RSA", 3);
    const second = await testKeys("RSA", 4);
    await Deno.writeTextFile(key, first.pem);
    assert.equal(keepPreviousKey(key), `${key}.1`);
    await Deno.writeTextFile(key, second.pem);
    assert.equal(keepPreviousKey(key), `${key}.2`);
    assert.equal(Deno.statSync(`${key}.1`).mode! & 0o777, 0o600);
    assert.equal(await Deno.readTextFile(`${key}.1`), first.pem);
    assert.deepEqual(earlierKeyPaths(key), [`${key}.2`, `${key}.1`]);

    const keys = await loadEarlierKeys(key);
    assert.equal(keys.length, 2);
    // The newest earlier key (second) decrypts what was encrypted to its public key.
    const pub = await crypto.subtle.importKey(
      "spki",
      await crypto.subtle.exportKey("spki", second.publicKey),
      { name: "RSA-OAEP", hash: "SHA-256" },
      false,
      ["encrypt"],
    );
    const ct = await crypto.subtle.encrypt({ name: "RSA-OAEP" }, pub, new Uint8Array([7]));
    const pt = new Uint8Array(await crypto.subtle.decrypt({ name: "RSA-OAEP" }, keys[0]!, ct));
    assert.deepEqual(pt, new Uint8Array([7]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an earlier key file that is not a PKCS#8 key is a PkiInputError naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bob.key.1`, "not a key");
    await assert.rejects(
      loadEarlierKeys(`${dir}/bob.key`),
      (e: unknown) => e instanceof PkiInputError && e.message.includes("bob.key.1"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
