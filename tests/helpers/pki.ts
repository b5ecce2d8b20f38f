// Test helper: throwaway PKIs and odd certificates, fast. RSA keys come from a per-process
// pool (generated once, reused), so a test file pays for a handful of key generations at
// most. `makeTestPki` writes the same file layout as `deno task certs init|user`.
// Certificates can be edited at the ASN.1 level (`mutate`) and re-signed, to build every
// kind of bad certificate ASL spec section 4 must reject.

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate } from "@peculiar/asn1-x509";
import { ECDSASigValue } from "../../lib/pki/_asn1.ts";
import {
  caExtensions,
  exportPrivateKeyPem,
  generateEcKeys,
  generateRsaKeys,
  leafExtensions,
} from "../../lib/pki/dev_pki.ts";
import { encodePem, encodePemCertificate } from "../../lib/pki/pem.ts";
import { parseCredentials } from "../../lib/pki/credentials.ts";
import type { Credentials, TrustStore } from "../../lib/pki/types.ts";

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

/**
 * The `slot`-th pooled key of a kind (RSA of `bits`, or an EC curve), generated on first
 * use and reused for the rest of the process. Different slots are different keys.
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
      const pair = kind === "RSA" ? await generateRsaKeys(bits) : await generateEcKeys(kind);
      return {
        kind,
        bits: kind === "RSA" ? bits : 0,
        privateKey: pair.privateKey,
        publicKey: pair.publicKey,
        pem: await exportPrivateKeyPem(pair.privateKey),
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
  if (signing.name !== "ECDSA") return raw.buffer;
  const half = raw.length / 2;
  const int = (b: Uint8Array) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = b.subarray(i);
    return ((v[0]! & 0x80) ? new Uint8Array([0, ...v]) : v.slice()).buffer;
  };
  return AsnConvert.serialize(
    new ECDSASigValue({ r: int(raw.subarray(0, half)), s: int(raw.subarray(half)) }),
  );
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
      profile === "server" ? (options.hosts ?? ["localhost", "127.0.0.1", "::1"]) : [],
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

/** A throwaway PKI on disk, in the layout of `deno task certs`. */
export interface TestPki {
  readonly dir: string;
  readonly ca: TestCert;
  /** The intermediate CA, when asked for. */
  readonly intermediate?: TestCert;
  readonly server: TestCert;
  readonly users: Readonly<Record<string, TestCert>>;
  /** Paths: `ca.pem`, `ca.key`, `server.pem`, `server.key`. */
  readonly caCertPath: string;
  readonly caKeyPath: string;
  readonly serverCertPath: string;
  readonly serverKeyPath: string;
  /** `DIR/<user>.pem` / `.key`. */
  certPath(user: string): string;
  keyPath(user: string): string;
  /** The trust store of `ca.pem` (no CRL). */
  readonly trust: TrustStore;
  /** DER chain as sent (leaf, then the intermediate if any). */
  chain(who: "server" | string): Uint8Array[];
  /** Credentials for `server` or a user (leaf + intermediate, imported key). */
  credentials(who: "server" | string): Promise<Credentials>;
}

/** Options of `makeTestPki`. */
export interface TestPkiOptions {
  /** USERIDs to issue client certificates for. */
  readonly users?: readonly string[];
  /** Server SANs; default localhost, 127.0.0.1, ::1. */
  readonly hosts?: readonly string[];
  /** CA key: RSA (default) or ECDSA. */
  readonly caAlg?: "rsa" | "ecdsa";
  /** Put an intermediate CA between the root and the leaves (sent in every chain file). */
  readonly intermediate?: boolean;
}

/**
 * Writes a throwaway PKI into `dir` (created when missing): `ca.pem`, `ca.key`,
 * `server.pem`, `server.key`, and `<user>.pem` / `<user>.key` per user. Keys come from the
 * pool: the CA uses slot 0 (RSA) or an EC key, the intermediate slot 1, the server slot 2,
 * users slots 3, 4, … — so every party has its own key.
 *
 * @example
 * ```ts ignore
 * const pki = await makeTestPki(dir, { users: ["alice", "bob"] });
 * const creds = await pki.credentials("alice");
 * ```
 */
export async function makeTestPki(dir: string, options: TestPkiOptions = {}): Promise<TestPki> {
  await Deno.mkdir(dir, { recursive: true });
  const caKeys = options.caAlg === "ecdsa" ? await testKeys("P-256", 0) : await testKeys("RSA", 0);
  // A distinct CA name per PKI, so that two test PKIs never look like the same CA.
  const caName = `CN=Test CA ${crypto.getRandomValues(new Uint8Array(4)).toHex()}`;
  const ca = await makeCert({ subject: caName, keys: caKeys, profile: "ca" });
  const intermediate = options.intermediate
    ? await makeCert({
      subject: "CN=Test Intermediate CA",
      keys: await testKeys("RSA", 1),
      issuer: ca,
      profile: "ca",
      pathLen: 0,
    })
    : undefined;
  const leafIssuer = intermediate ?? ca;
  const server = await makeCert({
    subject: "CN=localhost",
    keys: await testKeys("RSA", 2),
    issuer: leafIssuer,
    profile: "server",
    hosts: options.hosts ?? ["localhost", "127.0.0.1", "::1"],
  });
  const users: Record<string, TestCert> = {};
  let slot = 3;
  for (const user of options.users ?? []) {
    users[user] = await makeCert({
      subject: `CN=${user}`,
      keys: await testKeys("RSA", slot++),
      issuer: leafIssuer,
      profile: "client",
    });
  }
  const path = (name: string) => `${dir}/${name}`;
  const tail = intermediate ? intermediate.pem : "";
  const write = async (name: string, text: string, mode: number) => {
    await Deno.writeTextFile(path(name), text, { mode });
  };
  await write("ca.pem", ca.pem, 0o644);
  await write("ca.key", caKeys.pem, 0o600);
  await write("server.pem", server.pem + tail, 0o644);
  await write("server.key", server.keys.pem, 0o600);
  for (const [user, cert] of Object.entries(users)) {
    await write(`${user}.pem`, cert.pem + tail, 0o644);
    await write(`${user}.key`, cert.keys.pem, 0o600);
  }
  const leafOf = (who: string): TestCert => {
    const leaf = who === "server" ? server : users[who];
    if (!leaf) throw new Error(`no such test party ${who}`);
    return leaf;
  };
  const chain = (who: string) => [leafOf(who).der, ...(intermediate ? [intermediate.der] : [])];
  return {
    dir,
    ca,
    ...(intermediate ? { intermediate } : {}),
    server,
    users,
    caCertPath: path("ca.pem"),
    caKeyPath: path("ca.key"),
    serverCertPath: path("server.pem"),
    serverKeyPath: path("server.key"),
    certPath: (user) => path(`${user}.pem`),
    keyPath: (user) => path(`${user}.key`),
    trust: { anchors: [ca.der], crls: [] },
    chain,
    credentials: (who) =>
      parseCredentials(
        chain(who).map((d) => encodePemCertificate(d)).join(""),
        leafOf(who).keys.pem,
      ),
  };
}

/** PEM of a DER CRL. */
export function crlPem(der: Uint8Array): string {
  return encodePem("X509 CRL", der);
}
