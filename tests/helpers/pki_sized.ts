// Test and benchmark helper: certificates at and past the ASL spec section 4 size bounds
// (lib/pki/bounds.ts). Padding goes into non-critical unknown extensions, so the
// certificates are otherwise valid and signed by their issuer.

import * as x509 from "@peculiar/x509";
import { makeCert, type MakeCertOptions, type TestCert } from "./cert_builder.ts";

/** `n` subject/issuer attributes: `OU=u0, OU=u1, …, CN=<cn>` (n includes the CN). */
export function manyAttributes(n: number, cn = "alice"): string {
  return [...Array.from({ length: n - 1 }, (_, i) => `OU=u${i}`), `CN=${cn}`].join(", ");
}

/** `n` non-critical unknown extensions (OIDs 1.3.6.1.4.1.55555.i), each with `value`. */
export function padExtensions(
  n: number,
  value: Uint8Array<ArrayBuffer> = new Uint8Array([5, 0]),
): x509.Extension[] {
  return Array.from(
    { length: n },
    (_, i) => new x509.Extension(`1.3.6.1.4.1.55555.${i}`, false, value),
  );
}

/**
 * An OCTET STRING-wrapped filler of `size` bytes for an extension value: a SEQUENCE of
 * NULLs when `manyElements` (the most ASN.1 elements per byte), else one OCTET STRING.
 */
export function filler(size: number, manyElements = false): Uint8Array<ArrayBuffer> {
  const header = (tag: number, len: number) =>
    len < 0x80 ? [tag, len] : len < 0x100 ? [tag, 0x81, len] : [tag, 0x82, len >> 8, len & 0xff];
  const body = Math.max(3, size - 4);
  const content = new Uint8Array(body).fill(0x61);
  if (manyElements) {
    // NULL, NULL, … (two bytes each); an odd length ends with a one-byte OCTET STRING.
    const pairs = body % 2 === 0 ? body / 2 : (body - 3) / 2;
    for (let i = 0; i < pairs; i++) content.set([5, 0], 2 * i);
    if (body % 2 === 1) content.set([4, 1, 0x61], 2 * pairs);
  }
  return new Uint8Array([...header(manyElements ? 0x30 : 0x04, body), ...content]);
}

/**
 * Makes a certificate of exactly `bytes` DER bytes: `extensions` (from `options`) plus
 * `padCount` padding extensions, the last of which is sized to hit the target.
 */
export async function certOfSize(
  bytes: number,
  options: MakeCertOptions,
  padCount = 1,
  manyElements = false,
): Promise<TestCert> {
  const fixed = padExtensions(padCount - 1);
  let size = 16;
  for (let attempt = 0; attempt < 6; attempt++) {
    const pad = new x509.Extension("1.3.6.1.4.1.55555.999", false, filler(size, manyElements));
    const cert = await makeCert({
      ...options,
      extensions: [...(options.extensions ?? []), ...fixed, pad],
    });
    if (cert.der.length === bytes) return cert;
    size += bytes - cert.der.length;
  }
  throw new Error(`could not make a certificate of exactly ${bytes} bytes`);
}
