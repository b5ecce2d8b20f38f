// Loading own credentials and trust stores for ASL (spec sections 2 to 4): a PEM chain
// (leaf first) with its PKCS#8 private key imported for RSA-PSS signing and RSA-OAEP
// decryption (SHA-256, non-extractable), and a CA file plus optional CRL file.

import { parseCertificate } from "./certificate.ts";
import { parseCrl } from "./crl.ts";
import { PkiError, PkiInputError } from "./errors.ts";
import { decodePemBlocks, decodePemCertificates } from "./pem.ts";
import type { Credentials, TrustStore } from "./types.ts";
import { MAX_CHAIN_LENGTH } from "../limits.ts";

/**
 * Decodes the single PKCS#8 `PRIVATE KEY` block of `keyPem`. Throws `PkiInputError`
 * when there is none, several, or a different kind (e.g. `RSA PRIVATE KEY`).
 *
 * @example
 * ```ts
 * import { decodePrivateKeyPem } from "./credentials.ts";
 * try {
 *   decodePrivateKeyPem("no key here");
 * } catch (e) {
 *   console.log((e as Error).message); // "no PKCS#8 PRIVATE KEY block found"
 * }
 * ```
 */
export function decodePrivateKeyPem(keyPem: string): Uint8Array {
  let blocks;
  try {
    blocks = decodePemBlocks(keyPem);
  } catch (e) {
    throw new PkiInputError(`invalid PEM in the key file: ${(e as Error).message}`, { cause: e });
  }
  const keys = blocks.filter((b) => b.label === "PRIVATE KEY");
  if (keys.length === 0) {
    const other = blocks.find((b) => b.label.endsWith("PRIVATE KEY"));
    throw new PkiInputError(
      other
        ? `the key is "${other.label}", not PKCS#8 (convert it with: openssl pkcs8 -topk8 -nocrypt)`
        : "no PKCS#8 PRIVATE KEY block found",
    );
  }
  if (keys.length > 1) throw new PkiInputError("the key file holds more than one private key");
  return keys[0]!.der;
}

/**
 * Builds ASL credentials from PEM text: `chainPem` holds the own certificate first, then
 * any intermediates (1 to 5 certificates); `keyPem` the leaf's unencrypted PKCS#8 RSA
 * key. The key is checked against the leaf's public key. Throws `PkiInputError`, or
 * `PkiError("BAD_CERTIFICATE")` for an unreadable certificate.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCredentials } from "./credentials.ts";
 * import { initPki } from "./pki_files.ts";
 * const dir = await Deno.makeTempDir();
 * const paths = await initPki({ dir });
 * const creds = await parseCredentials(
 *   await Deno.readTextFile(paths.serverCert),
 *   await Deno.readTextFile(paths.serverKey),
 * );
 * assert.equal(creds.chain.length, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function parseCredentials(chainPem: string, keyPem: string): Promise<Credentials> {
  const chain = decodePemCertificates(chainPem);
  if (chain.length === 0) throw new PkiInputError("the certificate file holds no certificate");
  if (chain.length > MAX_CHAIN_LENGTH) {
    throw new PkiInputError(
      `the certificate file holds ${chain.length} certificates (at most ${MAX_CHAIN_LENGTH})`,
    );
  }
  const leaf = parseCertificate(chain[0]!);
  if (leaf.key.type !== "RSA") {
    throw new PkiInputError("the certificate's key is not RSA (ASL needs RSA leaf keys)");
  }
  const pkcs8 = decodePrivateKeyPem(keyPem) as Uint8Array<ArrayBuffer>;
  let signKey: CryptoKey;
  let decryptKey: CryptoKey;
  try {
    const hash = "SHA-256";
    signKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "RSA-PSS", hash }, false, [
      "sign",
    ]);
    decryptKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "RSA-OAEP", hash }, false, [
      "decrypt",
    ]);
  } catch (e) {
    throw new PkiInputError("the private key is not a readable PKCS#8 RSA key", { cause: e });
  }
  // Does the key belong to the certificate? One signature tells.
  const probe = new TextEncoder().encode("NetSec-MSG key check");
  const params = { name: "RSA-PSS", saltLength: 32 };
  const signature = await crypto.subtle.sign(params, signKey, probe);
  const publicKey = await crypto.subtle.importKey(
    "spki",
    leaf.spki as Uint8Array<ArrayBuffer>,
    { name: "RSA-PSS", hash: "SHA-256" },
    false,
    ["verify"],
  );
  if (!(await crypto.subtle.verify(params, publicKey, signature, probe))) {
    throw new PkiInputError("the private key does not belong to the certificate");
  }
  return { chain, signKey, decryptKey };
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new PkiInputError(`cannot read ${what} ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Reads `certPath` (PEM chain, leaf first) and `keyPath` (PKCS#8 PEM) and builds
 * credentials as `parseCredentials` does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadCredentials } from "./credentials.ts";
 * import { initPki } from "./pki_files.ts";
 * const dir = await Deno.makeTempDir();
 * await initPki({ dir });
 * const creds = await loadCredentials(`${dir}/server.pem`, `${dir}/server.key`);
 * assert.equal(creds.signKey.type, "private");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadCredentials(certPath: string, keyPath: string): Promise<Credentials> {
  const [chainPem, keyPem] = await Promise.all([
    readText(certPath, "certificate file"),
    readText(keyPath, "key file"),
  ]);
  try {
    return await parseCredentials(chainPem, keyPem);
  } catch (e) {
    if (e instanceof PkiInputError || e instanceof PkiError) {
      throw new PkiInputError(`${certPath} / ${keyPath}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

/**
 * Builds a trust store from the CA file's PEM (one or more CERTIFICATE blocks) and an
 * optional CRL PEM (one or more `X509 CRL` blocks). Every certificate and CRL must parse;
 * throws `PkiInputError` otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTrustStore } from "./credentials.ts";
 * import { initPki } from "./pki_files.ts";
 * const dir = await Deno.makeTempDir();
 * const paths = await initPki({ dir });
 * const trust = parseTrustStore(await Deno.readTextFile(paths.caCert));
 * assert.deepEqual([trust.anchors.length, trust.crls.length], [1, 0]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function parseTrustStore(caPem: string, crlPem?: string): TrustStore {
  let anchors: Uint8Array[];
  try {
    anchors = decodePemCertificates(caPem);
    anchors.forEach((der) => parseCertificate(der));
  } catch (e) {
    throw new PkiInputError(`invalid CA file: ${(e as Error).message}`, { cause: e });
  }
  if (anchors.length === 0) throw new PkiInputError("the CA file holds no certificate");
  const crls = crlPem === undefined ? [] : parseTrustStoreCrls(crlPem);
  return { anchors, crls };
}

/**
 * Reads the CA file (PEM) and optionally a CRL file (PEM `X509 CRL` blocks, or one DER
 * CRL) into a trust store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadTrustStore } from "./credentials.ts";
 * import { initPki, issueUser, revokeCertificate } from "./pki_files.ts";
 * const dir = await Deno.makeTempDir();
 * await initPki({ dir });
 * const alice = await issueUser({ dir, userId: "alice" });
 * await revokeCertificate({ dir, certPath: alice.cert });
 * const trust = await loadTrustStore(`${dir}/ca.pem`, `${dir}/ca.crl`);
 * assert.equal(trust.crls.length, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadTrustStore(caPath: string, crlPath?: string): Promise<TrustStore> {
  const caPem = await readText(caPath, "CA file");
  if (crlPath === undefined) {
    try {
      return parseTrustStore(caPem);
    } catch (e) {
      throw new PkiInputError(`${caPath}: ${(e as Error).message}`, { cause: e });
    }
  }
  let crlBytes: Uint8Array;
  try {
    crlBytes = await Deno.readFile(crlPath);
  } catch (e) {
    throw new PkiInputError(`cannot read CRL file ${crlPath}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  try {
    const trust = parseTrustStore(caPem);
    return { anchors: trust.anchors, crls: parseCrlFile(crlBytes) };
  } catch (e) {
    throw new PkiInputError(`${caPath} / ${crlPath}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The CRLs (DER) of a CRL file's bytes: PEM `X509 CRL` blocks, or one DER CRL. Each must
 * parse; throws `PkiInputError` otherwise, or when a PEM file holds no CRL block.
 *
 * @example
 * ```ts ignore
 * import { parseCrlFile } from "./credentials.ts";
 * const crls = parseCrlFile(await Deno.readFile("certs/ca.crl"));
 * ```
 */
export function parseCrlFile(bytes: Uint8Array): Uint8Array[] {
  if (bytes[0] === 0x30) {
    try {
      parseCrl(bytes);
    } catch (e) {
      throw new PkiInputError(`invalid CRL file: ${(e as Error).message}`, { cause: e });
    }
    return [bytes];
  }
  return parseTrustStoreCrls(new TextDecoder().decode(bytes));
}

function parseTrustStoreCrls(crlPem: string): Uint8Array[] {
  const crls: Uint8Array[] = [];
  try {
    for (const block of decodePemBlocks(crlPem)) {
      if (block.label !== "X509 CRL") continue;
      parseCrl(block.der);
      crls.push(block.der);
    }
  } catch (e) {
    throw new PkiInputError(`invalid CRL file: ${(e as Error).message}`, { cause: e });
  }
  if (crls.length === 0) throw new PkiInputError("the CRL file holds no X509 CRL block");
  return crls;
}
