// Inputs of the benchmarks, built from lib/ alone (bench/ imports nothing from tests/, issue 14
// item 8): the conformance vectors (tests/fixtures/asl-vectors, read as data) as ASL credentials
// and trust through lib/pki's parsers, and self-signed certificates of an exact DER size at the
// spec section 4 bounds (padding in non-critical unknown extensions).

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { parseCredentials, parseTrustStore } from "../lib/pki/credentials.ts";
import type { KeyPair } from "../lib/pki/keys.ts";
import type { Credentials, TrustStore } from "../lib/pki/types.ts";
import { selfSignedWith } from "../tools/load/hostile_m3.ts";

const VECTORS = new URL("../tests/fixtures/asl-vectors/", import.meta.url);

/** Reads a vector file as text. */
export function readVectorText(name: string): Promise<string> {
  return Deno.readTextFile(new URL(name, VECTORS));
}

/** The vectors' `server` or `client` credentials. */
export async function vectorCredentials(who: "server" | "client"): Promise<Credentials> {
  return await parseCredentials(
    await readVectorText(`${who}.crt`),
    await readVectorText(`${who}.key`),
  );
}

/** The vectors' CA as a trust store. */
export async function vectorTrust(): Promise<TrustStore> {
  return parseTrustStore(await readVectorText("ca.crt"));
}

/** An extension value of `size` bytes: one OCTET STRING, or (`dense`) as many NULLs as fit. */
function filler(size: number, dense: boolean): Uint8Array<ArrayBuffer> {
  const body = Math.max(3, size - 4);
  const header = body < 0x80
    ? [body]
    : body < 0x100
    ? [0x81, body]
    : [0x82, body >> 8, body & 0xff];
  const content = new Uint8Array(body).fill(0x61);
  if (dense) {
    const pairs = body % 2 === 0 ? body / 2 : (body - 3) / 2;
    for (let i = 0; i < pairs; i++) content.set([5, 0], 2 * i);
    if (body % 2 === 1) content.set([4, 1, 0x61], 2 * pairs);
  }
  return new Uint8Array([dense ? 0x30 : 0x04, ...header, ...content]);
}

/**
 * A self-signed certificate of exactly `bytes` DER bytes with `count` extensions, the last
 * sized to hit the target; `dense` packs its padding with as many ASN.1 elements as fit.
 */
export async function selfSignedOfSize(
  keys: KeyPair,
  bytes: number,
  count: number,
  dense: boolean,
): Promise<Uint8Array> {
  const fixed = Array.from(
    { length: count - 1 },
    (_, i) => new x509.Extension(`1.3.6.1.4.1.55555.${i}`, false, new Uint8Array([5, 0])),
  );
  let size = 16;
  for (let attempt = 0; attempt < 6; attempt++) {
    const pad = new x509.Extension("1.3.6.1.4.1.55555.999", false, filler(size, dense));
    const der = await selfSignedWith(keys, "CN=evil", [...fixed, pad]);
    if (der.length === bytes) return der;
    size += bytes - der.length;
  }
  throw new Error(`could not make a certificate of exactly ${bytes} bytes`);
}
