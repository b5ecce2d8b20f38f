// Cost of refusing hostile certificates in M3 (ASL spec section 4, size bounds; issue 13):
// main-thread time of validateChain for chains a peer can send before it is authenticated.
//   deno bench --allow-read --allow-env bench/pki_hostile_bench.ts
// Each case rotates through 256 variants of its certificates (the last signature bytes
// differ, as an attacker's would), so lib/pki's parse cache (64 entries) never hits.

import "reflect-metadata";
import { Issuer } from "../lib/pki/issuer.ts";
import { generateRsaKeys } from "../lib/pki/keys.ts";
import { validateChain } from "../lib/pki/validate.ts";
import { hostileCertificate } from "../tools/load/hostile_m3.ts";
import { selfSignedOfSize } from "./fixtures.ts";

const root = await Issuer.create({ subject: "CN=Bench Root" });
const trust = { anchors: [root.root.der], crls: [] };
const evilKeys = await generateRsaKeys(2048);

/** 256 copies of `der` whose last two bytes (inside the signature) differ. */
function variants(der: Uint8Array): Uint8Array[] {
  return Array.from({ length: 256 }, (_, i) => {
    const copy = der.slice();
    copy[copy.length - 1] = i;
    copy[copy.length - 2] = (copy[copy.length - 2]! + 1) & 0xff;
    return copy;
  });
}

// 1 500 tiny extensions, self-signed (the load tool's hostile M3): the finding (≈ 150 ms
// before the size bounds).
const tiny = { der: await hostileCertificate() };
// Just under every bound: 8 192 bytes, 24 extensions, self-signed and untrusted.
const underFlat = { der: await selfSignedOfSize(evilKeys, 8192, 24, false) };
// The same, its padding made of as many ASN.1 elements as the bytes allow.
const underDense = { der: await selfSignedOfSize(evilKeys, 8192, 24, true) };

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
