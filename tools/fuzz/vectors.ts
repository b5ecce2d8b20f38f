// Seed material for the fuzz harness (issue 13): the conformance vectors in
// tests/fixtures/asl-vectors (session messages M1–M7 of every suite, records, negative
// records, certificates) read once per process.

import { decodePemCertificates } from "../../lib/pki/pem.ts";

const VECTORS = new URL("../../tests/fixtures/asl-vectors/", import.meta.url);

/** The session vector files, one per suite. */
export const SESSION_FILES = [
  "asl-session-AES_GCM.json",
  "asl-session-AES_CBC.json",
  "asl-session-X25519_AES_GCM.json",
] as const;

/** A recorded record (the fields the harness uses). */
export interface VectorRecord {
  readonly seq: number;
  readonly plaintext: string;
  readonly line: string;
}

/** A session vector (the fields the harness uses). */
export interface SessionVector {
  readonly suite: "AES_GCM" | "AES_CBC" | "X25519_AES_GCM";
  readonly messages: Readonly<Record<"M1" | "M2" | "M3" | "M4" | "M5" | "M6" | "M7", string>>;
  readonly keys: Readonly<Record<"c2s" | "s2c", Readonly<Record<string, string>>>>;
  readonly records: Readonly<Record<"c2s" | "s2c", readonly VectorRecord[]>>;
  readonly records_rejected?: readonly {
    readonly direction: "c2s" | "s2c";
    readonly recv_seq: number;
    readonly line: string;
  }[];
}

/** A record the receiver must reject. */
export interface NegativeRecord {
  readonly session: string;
  readonly direction: "c2s" | "s2c";
  readonly recv_seq: number;
  readonly line: string;
}

/** Reads a vector file as text. */
export function readVectorText(name: string): Promise<string> {
  return Deno.readTextFile(new URL(name, VECTORS));
}

const sessions = new Map<string, Promise<SessionVector>>();

/** Loads (once) a session vector file. */
export function loadSession(file: string): Promise<SessionVector> {
  let s = sessions.get(file);
  if (!s) {
    s = readVectorText(file).then((t) => JSON.parse(t) as SessionVector);
    sessions.set(file, s);
  }
  return s;
}

/** Loads the negative record vectors. */
export async function loadNegativeRecords(): Promise<NegativeRecord[]> {
  return JSON.parse(await readVectorText("asl-negative-records.json"));
}

/** The first certificate of a PEM vector file, DER. */
export async function loadCertDer(name: string): Promise<Uint8Array> {
  const der = decodePemCertificates(await readVectorText(name))[0];
  if (!der) throw new Error(`${name} holds no certificate`);
  return der;
}

/** The vector CA's private key (public test material) imported for signing. */
export async function loadCaSigningKey(): Promise<CryptoKey> {
  const pem = await readVectorText("ca.key");
  const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return crypto.subtle.importKey(
    "pkcs8",
    Uint8Array.fromBase64(body),
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    false,
    ["sign"],
  );
}

const encoder = new TextEncoder();
/** Text as bytes. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Bytes as a string of code points 0–255 (every byte kept, none replaced). */
export function latin1(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return out;
}
