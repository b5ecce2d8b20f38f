// Benchmarks of end-to-end sealing (ASL spec section 7, lib/e2e): CPU per seal and per open
// of a short text, 1 and 10 recipients, against the runtime's cost of the two private-key
// operations a 1:1 message needs (one RSA-PSS sign to seal, one RSA-OAEP decrypt to open),
// measured in the same run (issue 16's target: seal + open ≤ 1.2× that). WebCrypto's RSA runs
// on worker threads, so wall time per iteration is the CPU it costs. Run: deno task bench.

import "reflect-metadata";
import { openPayload } from "../lib/e2e/open.ts";
import { MemoryPinStore } from "../lib/e2e/pins.ts";
import { MemoryReplayMemory } from "../lib/e2e/replay.ts";
import { seal } from "../lib/e2e/seal.ts";
import { parseCredentials } from "../lib/pki/credentials.ts";
import { sha256FingerprintBase64 } from "../lib/pki/fingerprint.ts";
import { parseCertificate } from "../lib/pki/certificate.ts";
import type { ChainValidator } from "../lib/pki/validation_cache.ts";
import { importLeafKeys, ValidationCache } from "../lib/pki/validation_cache.ts";
import { readVectorText as read, vectorCredentials, vectorTrust } from "./fixtures.ts";

const trust = await vectorTrust();
const alice = await vectorCredentials("client");
const bob = await parseCredentials(await read("bob.crt"), await read("bob.key"));
const bobKeys = await importLeafKeys(parseCertificate(bob.chain[0]!).spki);
const aliceFp = await sha256FingerprintBase64(alice.chain[0]!);
const text = new TextEncoder().encode("lunch at noon? 🍜");
const sender = { userId: "alice", leafDer: alice.chain[0]!, signKey: alice.signKey };
const one = [{ userId: "bob", key: bobKeys.encrypt }];
const ten = Array.from({ length: 10 }, (_, i) => ({ userId: `u${i}`, key: bobKeys.encrypt }));

const cache = new ValidationCache();
const cached: ChainValidator = async (chain, t, opts) =>
  (await cache.validate(chain, t, opts)).peer;
async function bobOpens(payload: Uint8Array, validate?: ChainValidator) {
  const pins = new MemoryPinStore();
  await pins.accept("alice", aliceFp, alice.chain);
  const outcome = await openPayload(payload, "alice", {
    userId: "bob",
    decryptKeys: [bob.decryptKey],
    now: Date.now,
    trust,
    ...(validate ? { validate } : {}),
    certLookup: () => Promise.resolve({ chain: alice.chain }),
    pins,
    replay: new MemoryReplayMemory(),
  });
  if (outcome.kind !== "open") throw new Error(`bench: ${outcome.kind}`);
}

const sealed1 = (await seal({ sender, recipients: one, plaintext: text })).envelope;
const sealed10 = (await seal({
  sender,
  recipients: [...ten.slice(0, 9), ...one],
  plaintext: text,
})).envelope;
const oaepBlob = new Uint8Array(
  await crypto.subtle.encrypt(
    { name: "RSA-OAEP", label: new TextEncoder().encode("ASL/1 E2E") },
    bobKeys.encrypt,
    new Uint8Array(32),
  ),
);

Deno.bench("RSA-PSS sign + RSA-OAEP decrypt (the floor of a 1:1 seal + open)", {
  group: "e2e 1:1",
  baseline: true,
}, async () => {
  await crypto.subtle.sign({ name: "RSA-PSS", saltLength: 32 }, alice.signKey, text);
  await crypto.subtle.decrypt(
    { name: "RSA-OAEP", label: new TextEncoder().encode("ASL/1 E2E") },
    bob.decryptKey,
    oaepBlob,
  );
});
Deno.bench("seal + open, 1 recipient (chain validation cached)", { group: "e2e 1:1" }, async () => {
  const env = await seal({ sender, recipients: one, plaintext: text });
  await bobOpens(env.envelope, cached);
});
Deno.bench("seal + open, 1 recipient (chain validated in full)", { group: "e2e 1:1" }, async () => {
  const env = await seal({ sender, recipients: one, plaintext: text });
  await bobOpens(env.envelope);
});
Deno.bench("seal, 1 recipient", { group: "e2e seal" }, async () => {
  await seal({ sender, recipients: one, plaintext: text });
});
Deno.bench("seal, 10 recipients", { group: "e2e seal" }, async () => {
  await seal({ sender, recipients: ten, plaintext: text });
});
Deno.bench("open, 1 recipient (cached validation)", { group: "e2e open" }, async () => {
  await bobOpens(sealed1, cached);
});
Deno.bench("open, 10 recipients (cached validation, bob last)", { group: "e2e open" }, async () => {
  await bobOpens(sealed10, cached);
});
