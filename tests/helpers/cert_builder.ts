// Test helper: the pool of test keys and the builder of odd certificates and CRLs. RSA
// keys come from tests/fixtures/test-keys/ (made once by tests/helpers/make_test_keys.ts,
// imported in a millisecond) and, past the slots stored there, from a per-process pool
// (generated once, reused), so a test file pays for no RSA key generation at all. `makeCert` signs with any algorithm and can edit a
// certificate at the ASN.1 level (`mutate`) and re-sign it, to build every kind of bad
// certificate ASL spec section 4 must reject; ASL-shaped profiles come from lib/pki.
// Imported through tests/helpers/pki.ts.

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate } from "@peculiar/asn1-x509";
import {
  ecdsaSignatureDer,
  exportPrivateKeyPem,
  generateEcKeys,
  generateRsaKeys,
} from "../../lib/pki/keys.ts";
import { caExtensions, DEFAULT_SERVER_HOSTS, leafExtensions } from "../../lib/pki/profiles.ts";
import { encodePem, encodePemCertificate } from "../../lib/pki/pem.ts";
/** A key pair from the pool. `kind` says how certificates signed by it are signed. */
export interface TestKeys {
  readonly kind: "RSA" | "P-256" | "P-384";
  readonly bits: number;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** PKCS#8 PEM of the private key. */
  readonly pem: string;
}

const pool = new Map<string, Promise<TestKeys>>();

/** The stored RSA test keys of `bits` (PKCS#8 PEM, one per slot), or none. */
export function storedRsaKeysUrl(bits: number): URL {
  return new URL(`../fixtures/test-keys/rsa-${bits}.pem`, import.meta.url);
}

const stored = new Map<number, Promise<string[]>>();

/** The PEM blocks of the stored keys of `bits`; empty when the file is missing or unreadable. */
function storedRsaKeys(bits: number): Promise<string[]> {
  let keys = stored.get(bits);
  if (!keys) {
    keys = Deno.readTextFile(storedRsaKeysUrl(bits)).then(
      (text) => text.match(/-----BEGIN PRIVATE KEY-----[^-]+-----END PRIVATE KEY-----\n/g) ?? [],
      () => [],
    );
    stored.set(bits, keys);
  }
  return keys;
}

/** A stored RSA key as the pair `generateRsaKeys` makes (RSASSA-PKCS1-v1_5, SHA-256, extractable). */
async function importRsaPair(
  pem: string,
): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey }> {
  const alg = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8Der(pem), alg, true, ["sign"]);
  const { n, e } = await crypto.subtle.exportKey("jwk", privateKey);
  const jwk: JsonWebKey = { kty: "RSA", ...(n ? { n } : {}), ...(e ? { e } : {}) };
  const publicKey = await crypto.subtle.importKey("jwk", jwk, alg, true, ["verify"]);
  return { privateKey, publicKey };
}

/**
 * The `slot`-th pooled key of a kind (RSA of `bits`, or an EC curve): an RSA key stored in
 * tests/fixtures/test-keys/ when there is one for the slot, else generated on first use;
 * reused for the rest of the process. Different slots are different keys.
 */
export function testKeys(
  kind: "RSA" | "P-256" | "P-384" = "RSA",
  slot = 0,
  bits = 2048,
): Promise<TestKeys> {
  const id = `${kind}/${kind === "RSA" ? bits : 0}/${slot}`;
  let keys = pool.get(id);
  if (!keys) {
    keys = (async () => {
      const pem = kind === "RSA" ? (await storedRsaKeys(bits))[slot] : undefined;
      const pair = pem !== undefined
        ? await importRsaPair(pem)
        : kind === "RSA"
        ? await generateRsaKeys(bits)
        : await generateEcKeys(kind);
      return {
        kind,
        bits: kind === "RSA" ? bits : 0,
        privateKey: pair.privateKey,
        publicKey: pair.publicKey,
        pem: pem ?? await exportPrivateKeyPem(pair.privateKey),
      };
    })();
    pool.set(id, keys);
  }
  return keys;
}

/** A certificate made by the helper, with the keys of its subject. */
export interface TestCert {
  readonly der: Uint8Array;
  readonly pem: string;
  readonly cert: x509.X509Certificate;
  readonly keys: TestKeys;
}

/** How a certificate is signed. Default: RSA PKCS#1 v1.5 SHA-256, or ECDSA with the curve's hash. */
export type TestSigning =
  | {
    readonly name: "RSASSA-PKCS1-v1_5";
    readonly hash: "SHA-1" | "SHA-256" | "SHA-384" | "SHA-512";
  }
  | {
    readonly name: "RSA-PSS";
    readonly hash: "SHA-256" | "SHA-384" | "SHA-512";
    readonly saltLength: number;
  }
  | { readonly name: "ECDSA"; readonly hash: "SHA-1" | "SHA-256" | "SHA-384" | "SHA-512" };

/** Options of `makeCert`. */
export interface MakeCertOptions {
  /** Subject DN; default `CN=test`. */
  readonly subject?: string;
  /** Issuer; default self-signed. */
  readonly issuer?: TestCert;
  /** Subject keys; default pool RSA slot 0. */
  readonly keys?: TestKeys;
  /** `ca` (cA, keyCertSign+cRLSign), `server`, `client` (ASL leaf profiles) or `none`. Default `none`. */
  readonly profile?: "ca" | "server" | "client" | "none";
  /** SANs for the server profile; default `["localhost", "127.0.0.1", "::1"]`. */
  readonly hosts?: readonly string[];
  /** pathLenConstraint for the ca profile. */
  readonly pathLen?: number;
  /** Extensions after the profile's. */
  readonly extensions?: readonly x509.Extension[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly serialHex?: string;
  readonly signing?: TestSigning;
  /** Edits the parsed certificate after signing; it is then signed again (unless `resign: false`). */
  readonly mutate?: (asn: Certificate) => void;
  readonly resign?: boolean;
}

const HOUR = 3600_000;

function defaultSigning(keys: TestKeys): TestSigning {
  if (keys.kind === "P-384") return { name: "ECDSA", hash: "SHA-384" };
  if (keys.kind === "P-256") return { name: "ECDSA", hash: "SHA-256" };
  return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
}

const signingKeys = new Map<string, Promise<CryptoKey>>();

/** The issuer's private key imported for `signing` (RSA keys are re-imported per algorithm). */
function signingKeyFor(keys: TestKeys, signing: TestSigning): Promise<CryptoKey> {
  const id = `${keys.pem}|${signing.name}|${signing.hash}`;
  let key = signingKeys.get(id);
  if (!key) {
    const der = pkcs8Der(keys.pem);
    const params = keys.kind === "RSA"
      ? { name: signing.name, hash: signing.hash }
      : { name: "ECDSA", namedCurve: keys.kind };
    key = crypto.subtle.importKey("pkcs8", der, params, false, ["sign"]);
    signingKeys.set(id, key);
  }
  return key;
}

function pkcs8Der(pem: string): Uint8Array<ArrayBuffer> {
  const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.fromBase64(body);
}

/** Signs `tbs` as a certificate signature value (ECDSA converted to DER SEQUENCE{r,s}). */
async function signValue(keys: TestKeys, signing: TestSigning, tbs: Uint8Array<ArrayBuffer>) {
  const key = await signingKeyFor(keys, signing);
  const params = signing.name === "RSA-PSS"
    ? { name: "RSA-PSS", saltLength: signing.saltLength }
    : signing.name === "ECDSA"
    ? { name: "ECDSA", hash: signing.hash }
    : { name: signing.name };
  const raw = new Uint8Array(await crypto.subtle.sign(params, key, tbs));
  return signing.name === "ECDSA" ? ecdsaSignatureDer(raw).buffer : raw.buffer;
}

/**
 * Makes one certificate. Profiles give ASL-shaped CA/server/client certificates; `mutate`
 * edits the ASN.1 for odd cases and re-signs with the issuer's key.
 */
export async function makeCert(options: MakeCertOptions = {}): Promise<TestCert> {
  const keys = options.keys ?? await testKeys("RSA", 0);
  const issuerKeys = options.issuer?.keys ?? keys;
  const signing = options.signing ?? defaultSigning(issuerKeys);
  const now = Date.now();
  let exts: x509.Extension[] = [];
  const profile = options.profile ?? "none";
  if (profile === "ca") exts = await caExtensions(keys.publicKey, options.pathLen);
  if (profile === "server" || profile === "client") {
    const issuerCert = options.issuer?.cert;
    if (!issuerCert) throw new Error("leaf profiles need an issuer");
    exts = await leafExtensions(
      profile,
      keys.publicKey,
      issuerCert,
      profile === "server" ? (options.hosts ?? DEFAULT_SERVER_HOSTS) : [],
    );
  }
  exts.push(...(options.extensions ?? []));
  const signingKey = await signingKeyFor(issuerKeys, signing);
  const generated = await x509.X509CertificateGenerator.create({
    serialNumber: options.serialHex ?? randomSerial(),
    subject: options.subject ?? "CN=test",
    issuer: options.issuer ? options.issuer.cert.subjectName : options.subject ?? "CN=test",
    notBefore: options.notBefore ?? new Date(now - HOUR),
    notAfter: options.notAfter ?? new Date(now + 24 * HOUR),
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: signing.name === "RSA-PSS"
      ? { name: "RSA-PSS", hash: signing.hash, saltLength: signing.saltLength } as Algorithm
      : { name: signing.name, hash: signing.hash } as Algorithm,
    extensions: exts,
  });
  let der = new Uint8Array(generated.rawData);
  if (options.mutate) {
    const asn = AsnConvert.parse(der, Certificate);
    options.mutate(asn);
    delete asn.tbsCertificateRaw;
    if (options.resign ?? true) {
      const tbs = new Uint8Array(AsnConvert.serialize(asn.tbsCertificate));
      asn.signatureValue = await signValue(issuerKeys, signing, tbs);
    }
    der = new Uint8Array(AsnConvert.serialize(asn));
  }
  return { der, pem: encodePemCertificate(der), cert: new x509.X509Certificate(der), keys };
}

function randomSerial(): string {
  const b = crypto.getRandomValues(new Uint8Array(12));
  b[0] = (b[0]! & 0x7f) | 1;
  return b.toHex();
}

/** Re-signs an already built certificate's DER after `mutate` (same issuer and signing). */
export async function resignDer(
  der: Uint8Array,
  issuerKeys: TestKeys,
  mutate: (asn: Certificate) => void,
  signing: TestSigning = defaultSigning(issuerKeys),
): Promise<Uint8Array> {
  const asn = AsnConvert.parse(der, Certificate);
  mutate(asn);
  delete asn.tbsCertificateRaw;
  asn.signatureValue = await signValue(
    issuerKeys,
    signing,
    new Uint8Array(AsnConvert.serialize(asn.tbsCertificate)),
  );
  return new Uint8Array(AsnConvert.serialize(asn));
}

/** Makes a CRL signed by `issuer` listing `serialHexes`. */
export async function makeCrl(
  issuer: TestCert,
  serialHexes: readonly string[],
  signing: TestSigning = defaultSigning(issuer.keys),
): Promise<Uint8Array> {
  const now = Date.now();
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.cert.subjectName,
    thisUpdate: new Date(now - HOUR),
    nextUpdate: new Date(now + 24 * HOUR),
    // A reason code keeps @peculiar/x509 from writing an empty entry-extensions SEQUENCE.
    entries: serialHexes.map((s) => ({
      serialNumber: s,
      revocationDate: new Date(now - HOUR),
      reason: x509.X509CrlReason.keyCompromise,
    })),
    signingAlgorithm: signing.name === "RSA-PSS"
      ? { name: "RSA-PSS", hash: signing.hash, saltLength: signing.saltLength } as Algorithm
      : { name: signing.name, hash: signing.hash } as Algorithm,
    signingKey: await signingKeyFor(issuer.keys, signing),
  });
  return new Uint8Array(crl.rawData);
}

/** PEM of a DER CRL. */
export function crlPem(der: Uint8Array): string {
  return encodePem("X509 CRL", der);
}
