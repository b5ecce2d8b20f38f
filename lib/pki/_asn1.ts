// The one place lib/pki imports its ASN.1 schemas from (RFC 5280, 3279, 4055, 5480 as
// needed by ASL spec section 4), plus small helpers over them. asn1-rsa and asn1-ecc
// are the versions @peculiar/x509 itself depends on (already in deno.lock).

import "reflect-metadata";
export { AsnConvert } from "@peculiar/asn1-schema";
export {
  AlgorithmIdentifier,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  CertificateList,
  ExtendedKeyUsage,
  KeyUsage,
  KeyUsageFlags,
  Name as AsnName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
} from "@peculiar/asn1-x509";
export { RSAPublicKey, RsaSaPssParams } from "@peculiar/asn1-rsa";
export { ECDSASigValue, ECParameters } from "@peculiar/asn1-ecc";

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return bytes.toHex();
}

export { bytesEqual } from "../bytes.ts";

/** Views an ArrayBuffer (or copies a typed view) as a Uint8Array. */
export function u8(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  return new Uint8Array(data);
}

/** An unsigned big-endian integer's bytes without leading zero bytes (at least one byte). */
export function stripLeadingZeros(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return bytes.subarray(i);
}
