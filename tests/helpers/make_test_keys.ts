// Writes the stored RSA test keys that tests/helpers/cert_builder.ts's `testKeys` pool
// imports instead of generating (RSA key generation is most of a test file's setup time):
// tests/fixtures/test-keys/rsa-<bits>.pem, one PKCS#8 block per slot. These keys are for
// tests only and are public. Keys already stored are kept; missing slots are added.
// Run: deno run --allow-read --allow-write tests/helpers/make_test_keys.ts

import { exportPrivateKeyPem, generateRsaKeys } from "../../lib/pki/keys.ts";
import { storedRsaKeysUrl } from "./cert_builder.ts";

/**
 * Slots stored per key size: enough for every test's parties (slots above fall back); 2048
 * covers the 60-member group of tests/client_e2e_test.ts (CA, intermediate, server, users).
 */
const SLOTS: Readonly<Record<number, number>> = { 1024: 2, 2048: 64, 4096: 1 };

if (import.meta.main) {
  for (const [bits, slots] of Object.entries(SLOTS)) {
    const url = storedRsaKeysUrl(Number(bits));
    const text = await Deno.readTextFile(url).catch(() => "");
    const pems: string[] = [
      ...(text.match(/-----BEGIN PRIVATE KEY-----[^-]+-----END PRIVATE KEY-----\n/g) ?? []),
    ];
    for (let i = pems.length; i < slots; i++) {
      pems.push(await exportPrivateKeyPem((await generateRsaKeys(Number(bits))).privateKey));
    }
    await Deno.mkdir(new URL(".", url), { recursive: true });
    await Deno.writeTextFile(url, pems.join(""));
  }
}
