// Cost of refusing hostile certificates in M3 (ASL spec section 4, size bounds; issue 13):
// main-thread time of validateChain for chains a peer can send before it is authenticated.
//   deno bench --allow-read --allow-env bench/pki_hostile_bench.ts
// Each case rotates through 256 variants of its certificates (the last signature bytes
// differ, as an attacker's would), so lib/pki's parse cache (64 entries) never hits.

import "reflect-metadata";
import { validateChain } from "../lib/pki/validate.ts";
import { makeCert, testKeys } from "../tests/helpers/pki.ts";
import { certOfSize, padExtensions } from "../tests/helpers/pki_sized.ts";

const root = await makeCert({ subject: "CN=Bench Root", profile: "ca" });
const trust = { anchors: [root.der], crls: [] };
const evilKeys = await testKeys("RSA", 1);

/** 256 copies of `der` whose last two bytes (inside the signature) differ. */
function variants(der: Uint8Array): Uint8Array[] {
  return Array.from({ length: 256 }, (_, i) => {
    const copy = der.slice();
    copy[copy.length - 1] = i;
    copy[copy.length - 2] = (copy[copy.length - 2]! + 1) & 0xff;
    return copy;
  });
}

// 1 500 tiny extensions, self-signed: the finding (≈ 150 ms before the size bounds).
const tiny = await makeCert({
  subject: "CN=evil",
  keys: evilKeys,
  extensions: padExtensions(1500, new Uint8Array([0x04, 0x00])),
});
// Just under every bound: 8 192 bytes, 24 extensions, self-signed and untrusted.
const underFlat = await certOfSize(8192, { subject: "CN=evil", keys: evilKeys }, 24);
// The same, its padding made of as many ASN.1 elements as the bytes allow.
const underDense = await certOfSize(8192, { subject: "CN=evil", keys: evilKeys }, 24, true);

let seq = 0;
async function refuse(chains: Uint8Array[][]): Promise<void> {
  const chain = chains[seq++ % chains.length]!;
  try {
    await validateChain(chain, trust, { purpose: "client" });
  } catch {
    return;
  }
  throw new Error("a hostile chain was accepted");
}

const one = (der: Uint8Array) => variants(der).map((d) => [d]);
/** Five different variants per chain (identical ones would hit the parse cache). */
const five = (der: Uint8Array) => {
  const v = variants(der);
  return Array.from({ length: 51 }, (_, k) => v.slice(5 * k, 5 * k + 5));
};
const sizes = (der: Uint8Array) => `${der.length} B`;
const TINY = one(tiny.der);
const FLAT = one(underFlat.der);
const DENSE = one(underDense.der);
const DENSE5 = five(underDense.der);

Deno.bench(`1 500 extensions, ${sizes(tiny.der)} (refused: size bound)`, async () => {
  await refuse(TINY);
});
Deno.bench(`under the bounds, flat padding, ${sizes(underFlat.der)} (UNKNOWN_CA)`, async () => {
  await refuse(FLAT);
});
Deno.bench(`under the bounds, dense padding, ${sizes(underDense.der)} (UNKNOWN_CA)`, async () => {
  await refuse(DENSE);
});
Deno.bench("five dense certificates under the bounds (UNKNOWN_CA)", async () => {
  await refuse(DENSE5);
});
