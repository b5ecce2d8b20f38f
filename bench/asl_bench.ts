// Benchmarks of the ASL core (spec sections 2 and 3): full handshakes over the in-memory pipe
// (handshakes/s; fast path and WebCrypto reference), sealing/opening records of 100 B and
// 16 KiB for both suites and both record implementations, and the handshake's SHA-256 / HMAC /
// HKDF on both implementations. Run: deno task bench (or deno bench --allow-read
// bench/asl_bench.ts). Server CPU per handshake against the RSA bound: bench/handshake_cpu.ts.

import "reflect-metadata";
import { accept, connect, type EndpointInternals } from "../lib/asl/endpoint.ts";
import { deriveSessionKeys } from "../lib/asl/key_schedule.ts";
import { nodePrimitives, webPrimitives } from "../lib/asl/primitives.ts";
import { Transcript } from "../lib/asl/transcript.ts";
import { validateChain } from "../lib/pki/validate.ts";
import { createPipe } from "../lib/asl/pipe.ts";
import { createRecordCipher } from "../lib/asl/records.ts";
import type { RecordImpl } from "../lib/asl/records_cipher.ts";
import { vectorCredentials, vectorTrust } from "./fixtures.ts";

const serverCreds = await vectorCredentials("server");
const clientCreds = await vectorCredentials("client");
const trust = await vectorTrust();

const reference: EndpointInternals = { primitives: webPrimitives, validate: validateChain };
for (const suite of ["AES_GCM", "AES_CBC"] as const) {
  for (const [name, internals] of [["fast path", {}], ["reference", reference]] as const) {
    Deno.bench(`handshake over pipe (${suite}, ${name})`, { group: "handshake" }, async () => {
      const [a, b] = createPipe();
      const [server, client] = await Promise.all([
        accept(a, { credentials: serverCreds, trust }, internals),
        connect(
          b,
          { credentials: clientCreds, trust, serverName: "localhost", suites: [suite] },
          internals,
        ),
      ]);
      await client.close();
      await server.close();
    });
  }
}

const messages = ["SALAAM_ASL\n\n", "x".repeat(1400) + "\n\n", "ASYMCRYPOOK AES_GCM\n\n"]
  .map((m) => new TextEncoder().encode(m));
for (const impl of [nodePrimitives, webPrimitives]) {
  Deno.bench(`transcript TH_2 + TH_3 (${impl.impl})`, { group: "primitives" }, async () => {
    const t = new Transcript(impl);
    for (const m of messages) {
      t.add(m);
      if (t.length > 1) await t.hash();
    }
  });
  const K = new Uint8Array(32).fill(3);
  const TH = new Uint8Array(32).fill(4);
  Deno.bench(`HMAC verify of M5 (${impl.impl})`, { group: "primitives" }, async () => {
    await impl.hmacVerify(K, new Uint8Array(32), TH);
  });
  Deno.bench(`key schedule AES_GCM (${impl.impl})`, { group: "primitives" }, async () => {
    await deriveSessionKeys(K, TH, "AES_GCM", impl);
  });
}

const sizes = [100, 16_384];
for (const suite of ["AES_GCM", "AES_CBC"] as const) {
  const keys = suite === "AES_GCM"
    ? { suite, key: new Uint8Array(32).fill(1), iv: new Uint8Array(12).fill(2) }
    : { suite, enc: new Uint8Array(32).fill(1), mac: new Uint8Array(32).fill(2) };
  for (const impl of ["node", "webcrypto"] as RecordImpl[]) {
    const cipher = await createRecordCipher(keys, { impl });
    for (const size of sizes) {
      const plaintext = new Uint8Array(size).fill(0x41);
      const record = await cipher.seal(plaintext, 7);
      let seq = 0;
      Deno.bench(`seal ${size} B ${suite} ${impl}`, { group: `seal ${size}` }, async () => {
        await cipher.seal(plaintext, seq++);
      });
      Deno.bench(`open ${size} B ${suite} ${impl}`, { group: `open ${size}` }, async () => {
        await cipher.open(record, 7);
      });
    }
  }
}
