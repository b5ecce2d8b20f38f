// The cryptographic operations of ASL-E2E/1 (ASL spec section 7, "Envelope"), each with its
// fixed parameters and context string, on WebCrypto alone: the key commitment KC, the
// content encryption C (AES-256-GCM with the "ASL/1 E2E" 00 || H additional data), the key
// wrap W (RSA-OAEP, SHA-256, label "ASL/1 E2E") and the signature SIG (RSA-PSS, SHA-256,
// salt 32, over "ASL/1 E2E SIG" 00 || S). Shared by sealing (envelope.ts) and opening
// (open.ts). Failures of the receiving side come back as `undefined` / `false`, never as
// a message that tells which byte was wrong.

import { buf, type Bytes, concatBytes } from "../asl/bytes.ts";

const ascii = (text: string): Bytes => new TextEncoder().encode(text);

/** The 8-byte magic and version that begins every envelope: "ASLE2E1" 00. */
export const MAGIC: Bytes = concatBytes([ascii("ASLE2E1"), new Uint8Array([0])]);
/** The RSA-OAEP label of the key wrap (the handshake uses the empty label). */
export const OAEP_LABEL: Bytes = ascii("ASL/1 E2E");
/** Prefix of the GCM additional data: "ASL/1 E2E" 00. */
export const AAD_PREFIX: Bytes = concatBytes([ascii("ASL/1 E2E"), new Uint8Array([0])]);
/** Prefix of the signed bytes: "ASL/1 E2E SIG" 00. */
export const SIG_PREFIX: Bytes = concatBytes([ascii("ASL/1 E2E SIG"), new Uint8Array([0])]);
/** Prefix of the key commitment's input: "ASL/1 E2E KC" 00. */
export const KC_PREFIX: Bytes = concatBytes([ascii("ASL/1 E2E KC"), new Uint8Array([0])]);
/** Bytes of the content key CEK (AES-256). */
export const CEK_LENGTH = 32;
/** Bytes of the key commitment KC. */
export const KC_LENGTH = 32;
/** Bytes of the GCM nonce. */
export const NONCE_LENGTH = 12;
/** Bytes of the GCM tag at the end of C. */
export const TAG_LENGTH = 16;
/** RSA-PSS salt length of SIG. */
export const PSS_SALT_LENGTH = 32;

/** KC = SHA-256("ASL/1 E2E KC" 00 || CEK). */
export async function keyCommitment(cek: Uint8Array): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", concatBytes([KC_PREFIX, cek])));
}

/** The GCM additional data "ASL/1 E2E" 00 || H. */
export function contentAad(headerBytes: Uint8Array): Bytes {
  return concatBytes([AAD_PREFIX, headerBytes]);
}

/** The signed bytes "ASL/1 E2E SIG" 00 || S. */
export function signatureInput(signedPart: Uint8Array): Bytes {
  return concatBytes([SIG_PREFIX, signedPart]);
}

function importCek(cek: Uint8Array, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", buf(cek), { name: "AES-GCM" }, false, [usage]);
}

/** C = AES-256-GCM-Encrypt(CEK, NONCE, plaintext, "ASL/1 E2E" 00 || H): ciphertext, then tag. */
export async function encryptContent(
  cek: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  headerBytes: Uint8Array,
): Promise<Bytes> {
  const key = await importCek(cek, "encrypt");
  const params = { name: "AES-GCM", iv: buf(nonce), additionalData: contentAad(headerBytes) };
  return new Uint8Array(await crypto.subtle.encrypt(params, key, buf(plaintext)));
}

/** Opens C, or returns `undefined` when the tag does not verify. */
export async function decryptContent(
  cek: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  headerBytes: Uint8Array,
): Promise<Bytes | undefined> {
  const key = await importCek(cek, "decrypt");
  const params = { name: "AES-GCM", iv: buf(nonce), additionalData: contentAad(headerBytes) };
  try {
    return new Uint8Array(await crypto.subtle.decrypt(params, key, buf(ciphertext)));
  } catch {
    return undefined;
  }
}

/** W = RSA-OAEP-Encrypt(recipient's public key, CEK), label "ASL/1 E2E" (key: RSA-OAEP SHA-256). */
export async function wrapKey(publicKey: CryptoKey, cek: Uint8Array): Promise<Bytes> {
  return new Uint8Array(
    await crypto.subtle.encrypt({ name: "RSA-OAEP", label: OAEP_LABEL }, publicKey, buf(cek)),
  );
}

/**
 * Unwraps W with `privateKey` (RSA-OAEP SHA-256, label "ASL/1 E2E"); `undefined` when OAEP
 * decoding fails (another key, label, hash or padding). The length is not checked here.
 */
export async function unwrapKey(privateKey: CryptoKey, wrapped: Uint8Array): Promise<
  Bytes | undefined
> {
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "RSA-OAEP", label: OAEP_LABEL },
        privateKey,
        buf(wrapped),
      ),
    );
  } catch {
    return undefined;
  }
}

/** SIG = RSA-PSS-Sign(sender's key, "ASL/1 E2E SIG" 00 || S), salt 32 (key: RSA-PSS SHA-256). */
export async function signEnvelope(privateKey: CryptoKey, signedPart: Uint8Array): Promise<Bytes> {
  return new Uint8Array(
    await crypto.subtle.sign(
      { name: "RSA-PSS", saltLength: PSS_SALT_LENGTH },
      privateKey,
      signatureInput(signedPart),
    ),
  );
}

/** True when SIG is the sender's RSA-PSS (salt 32) signature of S (key: RSA-PSS SHA-256). */
export async function verifyEnvelope(
  publicKey: CryptoKey,
  signedPart: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  try {
    return await crypto.subtle.verify(
      { name: "RSA-PSS", saltLength: PSS_SALT_LENGTH },
      publicKey,
      buf(signature),
      signatureInput(signedPart),
    );
  } catch {
    return false;
  }
}
