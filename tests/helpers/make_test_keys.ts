// Writes the stored RSA test keys that tests/helpers/cert_builder.ts's `testKeys` pool
// imports instead of generating (RSA key generation is most of a test file's setup time):
// tests/fixtures/test-keys/rsa-<bits>.pem, one PKCS#8 block per slot. These keys are for
// tests only and are public. Run: deno run --allow-write tests/helpers/make_test_keys.ts

import { exportPrivateKeyPem, generateRsaKeys } from "../../lib/pki/keys.ts";
import { storedRsaKeysUrl } from "./cert_builder.ts";

/** Slots stored per key size: enough for every test's parties (slots above fall back). */
const SLOTS: Readonly<Record<number, number>> = { 1024: 2, 2048: 24, 4096: 1 };

if (import.meta.main) {
  for (const [bits, slots] of Object.entries(SLOTS)) {
    const pems: string[] = [];
    for (let i = 0; i < slots; i++) {
      pems.push(await exportPrivateKeyPem((await generateRsaKeys(Number(bits))).privateKey));
    }
    const url = storedRsaKeysUrl(Number(bits));
    await Deno.mkdir(new URL(".", url), { recursive: true });
    await Deno.writeTextFile(url, pems.join(""));
  }
}
