// Benchmarks of the ASL core (spec sections 2 and 3): full handshakes over the in-memory pipe
// (handshakes/s) and sealing/opening records of 100 B and 16 KiB for both suites and both
// record implementations. Run: deno task bench (or deno bench --allow-read bench/asl_bench.ts).

import "reflect-metadata";
import { accept, connect } from "../lib/asl/endpoint.ts";
import { createPipe } from "../lib/asl/pipe.ts";
import { createRecordCipher, type RecordImpl } from "../lib/asl/records.ts";
import { vectorCredentials, vectorTrust } from "../tests/helpers/asl.ts";

const serverCreds = await vectorCredentials("server");
const clientCreds = await vectorCredentials("client");
const trust = await vectorTrust();

for (const suite of ["AES_GCM", "AES_CBC"] as const) {
  Deno.bench(`handshake over pipe (${suite})`, { group: "handshake" }, async () => {
    const [a, b] = createPipe();
    const [server, client] = await Promise.all([
      accept(a, { credentials: serverCreds, trust }),
      connect(b, { credentials: clientCreds, trust, serverName: "localhost", suites: [suite] }),
    ]);
    await client.close();
    await server.close();
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
