// The development PKI behind `deno task certs` (issue #2; profiles fit ASL spec section 4):
// a CA (RSA or ECDSA), server certificates (SANs, serverAuth), user certificates
// (CN=<USERID>, clientAuth), and a CA-signed CRL. Keys are PKCS#8 PEM written mode 0600;
// existing files are never replaced without `force`.

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { isUserId, parseIpAddress } from "./names.ts";
import { parseCertificate } from "./certificate.ts";
import { parseCrl } from "./crl.ts";
import { PkiInputError } from "./errors.ts";
import { decodePemBlocks, decodePemCertificates, encodePem } from "./pem.ts";
import { decodePrivateKeyPem } from "./credentials.ts";
import { type KeyInfo, verifySignature } from "./algorithms.ts";
import { keepPreviousKey } from "./key_history.ts";
import {
  AsnConvert,
  bytesEqual,
  CertificateList,
  ECDSASigValue,
  stripLeadingZeros,
} from "./_asn1.ts";

/** RSA sizes the tool issues. */
export type RsaBits = 2048 | 3072 | 4096;
/** CA key algorithms the tool issues: RSA, or ECDSA P-256. */
export type CaAlg = "rsa" | "ecdsa";

/** Default validity of issued leaf certificates, days. */
export const DEFAULT_DAYS = 365;
/** Minimum validity of a CA made by `initPki`, days (longer when `days` is longer). */
export const CA_MIN_DAYS = 3650;
/** Issued certificates start this long before "now", to tolerate clock skew. */
export const BACKDATE_MS = 5 * 60 * 1000;
/** Next-update distance written into CRLs (informational; section 4 does not use it). */
export const CRL_NEXT_UPDATE_DAYS = 30;
/** SANs every server certificate of `initPki` carries. */
export const DEFAULT_SERVER_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "::1"];

const DAY_MS = 24 * 60 * 60 * 1000;
const HOST_NAME =
  /^(?:\*\.)?(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const FILE_STEM = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** A key pair and how its certificates are signed. */
export interface KeyPair {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

/**
 * Generates an RSA key pair (exponent 65537) usable for signing certificates, exportable.
 *
 * @example
 * ```ts ignore
 * const keys = await generateRsaKeys(2048);
 * ```
 */
export async function generateRsaKeys(bits: number): Promise<KeyPair> {
  return await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: bits,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
}

/**
 * Generates an ECDSA key pair on `curve`, exportable.
 *
 * @example
 * ```ts ignore
 * const keys = await generateEcKeys("P-256");
 * ```
 */
export async function generateEcKeys(curve: "P-256" | "P-384"): Promise<KeyPair> {
  return await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: curve }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
}

/**
 * The WebCrypto signing algorithm for certificates signed by `key`: RSA PKCS#1 v1.5 with
 * SHA-256, ECDSA with SHA-256 (P-256) or SHA-384 (P-384).
 *
 * @example
 * ```ts
 * import { signingAlgorithmFor } from "./dev_pki.ts";
 * console.log(signingAlgorithmFor({ type: "EC", curve: "P-384" })); // { name: "ECDSA", hash: "SHA-384" }
 * ```
 */
export function signingAlgorithmFor(key: KeyInfo): { name: string; hash: string } {
  if (key.type === "EC") {
    return { name: "ECDSA", hash: key.curve === "P-384" ? "SHA-384" : "SHA-256" };
  }
  return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
}

/**
 * Exports a private key as PKCS#8 PEM (`PRIVATE KEY`).
 *
 * @example
 * ```ts ignore
 * const pem = await exportPrivateKeyPem(keys.privateKey);
 * ```
 */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  return encodePem("PRIVATE KEY", new Uint8Array(await crypto.subtle.exportKey("pkcs8", key)));
}

/**
 * Imports a PKCS#8 PEM private key for signing certificates with the algorithm that fits
 * `key` (the matching certificate's key facts).
 *
 * @example
 * ```ts ignore
 * const caKey = await importSigningKey(await Deno.readTextFile("certs/ca.key"), caKeyInfo);
 * ```
 */
export async function importSigningKey(pem: string, key: KeyInfo): Promise<CryptoKey> {
  const der = decodePrivateKeyPem(pem) as Uint8Array<ArrayBuffer>;
  const params = key.type === "EC"
    ? { name: "ECDSA", namedCurve: key.curve }
    : { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  try {
    return await crypto.subtle.importKey("pkcs8", der, params, false, ["sign"]);
  } catch (e) {
    throw new PkiInputError(
      "the CA private key cannot be imported for its certificate's key type",
      {
        cause: e,
      },
    );
  }
}

/** Everything `createCertificate` needs; extensions are given explicitly. */
export interface CertificateSpec {
  /** Subject DN, e.g. `CN=alice`. */
  readonly subject: string;
  /** Issuer: its certificate (its subject Name bytes are copied) or, when self-signed, omitted. */
  readonly issuerCert?: x509.X509Certificate;
  /** The subject's public key. */
  readonly publicKey: CryptoKey;
  /** The issuer's private key (the subject's own when self-signed). */
  readonly signingKey: CryptoKey;
  /** WebCrypto signing algorithm, e.g. `{ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }`. */
  readonly signingAlgorithm: Algorithm & { hash?: string; saltLength?: number };
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Serial number, hex; default 16 random bytes (positive). */
  readonly serialHex?: string;
  readonly extensions: readonly x509.Extension[];
}

/**
 * Creates and signs one X.509 v3 certificate.
 *
 * @example
 * ```ts ignore
 * const cert = await createCertificate({ subject: "CN=x", publicKey, signingKey, ... });
 * ```
 */
export async function createCertificate(spec: CertificateSpec): Promise<x509.X509Certificate> {
  const serial = spec.serialHex ?? randomSerialHex();
  const issuer = spec.issuerCert ? spec.issuerCert.subjectName : spec.subject;
  return await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: spec.subject,
    issuer,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    publicKey: spec.publicKey,
    signingKey: spec.signingKey,
    signingAlgorithm: spec.signingAlgorithm,
    extensions: [...spec.extensions],
  });
}

/** 16 random bytes as hex, top bit cleared (a positive INTEGER), never zero. */
export function randomSerialHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toHex();
}

/**
 * Standard extensions of a CA certificate: basicConstraints cA (critical, optional
 * pathLen), keyUsage keyCertSign+cRLSign (critical), subjectKeyIdentifier.
 *
 * @example
 * ```ts ignore
 * const exts = await caExtensions(keys.publicKey);
 * ```
 */
export async function caExtensions(
  publicKey: CryptoKey,
  pathLen?: number,
): Promise<x509.Extension[]> {
  return [
    new x509.BasicConstraintsExtension(true, pathLen, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
  ];
}

/**
 * Standard extensions of an ASL leaf: basicConstraints cA=FALSE, keyUsage
 * digitalSignature+keyEncipherment (critical), EKU serverAuth or clientAuth, SANs (server),
 * subject and authority key identifiers.
 *
 * @example
 * ```ts ignore
 * const exts = await leafExtensions("server", keys.publicKey, caCert, ["localhost"]);
 * ```
 */
export async function leafExtensions(
  purpose: "server" | "client",
  publicKey: CryptoKey,
  issuerCert: x509.X509Certificate,
  hosts: readonly string[] = [],
): Promise<x509.Extension[]> {
  const exts: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension([
      purpose === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
    ]),
  ];
  if (hosts.length > 0) {
    exts.push(
      new x509.SubjectAlternativeNameExtension(
        hosts.map((h): x509.JsonGeneralName =>
          parseIpAddress(h) ? { type: "ip", value: stripBrackets(h) } : { type: "dns", value: h }
        ),
      ),
    );
  }
  exts.push(await x509.SubjectKeyIdentifierExtension.create(publicKey));
  exts.push(await x509.AuthorityKeyIdentifierExtension.create(issuerCert));
  return exts;
}

function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/**
 * Checks a `--host` value: an IP literal or a DNS name (optionally `*.` + name). Throws
 * `PkiInputError` otherwise.
 *
 * @example
 * ```ts
 * import { checkHostName } from "./dev_pki.ts";
 * console.log(checkHostName("chat.example.org")); // "chat.example.org"
 * ```
 */
export function checkHostName(host: string): string {
  if (parseIpAddress(host)) return stripBrackets(host);
  if (host.length > 253 || !HOST_NAME.test(host)) {
    throw new PkiInputError(`invalid host name ${JSON.stringify(host)}`);
  }
  return host;
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw new PkiInputError(`cannot inspect ${path}: ${(e as Error).message}`, { cause: e });
  }
}

async function refuseExisting(paths: readonly string[], force: boolean): Promise<void> {
  if (force) return;
  for (const p of paths) {
    if (await exists(p)) {
      throw new PkiInputError(`${p} already exists (use --force to replace it)`);
    }
  }
}

async function writeOut(path: string, text: string, secret: boolean, force: boolean) {
  const mode = secret ? 0o600 : 0o644;
  try {
    await Deno.writeTextFile(path, text, { mode, createNew: !force });
    if (Deno.build.os !== "windows") await Deno.chmod(path, mode);
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new PkiInputError(`${path} already exists (use --force to replace it)`, { cause: e });
    }
    throw new PkiInputError(`cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

async function makeDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new PkiInputError(`cannot create directory ${dir}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

function checkBits(bits: number): RsaBits {
  if (bits !== 2048 && bits !== 3072 && bits !== 4096) {
    throw new PkiInputError(`invalid key size ${bits} (2048, 3072 or 4096)`);
  }
  return bits;
}

function checkDays(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > 36500) {
    throw new PkiInputError(`invalid number of days ${days} (1 to 36500)`);
  }
  return days;
}

function validity(days: number, now = Date.now()): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + days * DAY_MS) };
}

/** Paths written by `initPki`. */
export interface InitPkiResult {
  /** The CA certificate, `DIR/ca.pem`. */
  readonly caCert: string;
  /** The CA private key, `DIR/ca.key` (mode 0600). */
  readonly caKey: string;
  /** The server certificate, `DIR/server.pem`. */
  readonly serverCert: string;
  /** The server private key, `DIR/server.key` (mode 0600). */
  readonly serverKey: string;
}

/** Options of `initPki` (`certs init`). */
export interface InitPkiOptions {
  /** Output directory (created when missing). */
  readonly dir: string;
  /** Extra server names besides localhost, 127.0.0.1 and ::1. */
  readonly hosts?: readonly string[];
  /** RSA size for the server key (and the CA key when `caAlg` is rsa); default 2048. */
  readonly bits?: number;
  /** CA key algorithm; default rsa. */
  readonly caAlg?: CaAlg;
  /** Server certificate validity in days (default 365); the CA gets at least 3650. */
  readonly days?: number;
  /** Replace existing files. */
  readonly force?: boolean;
}

/**
 * Creates a CA (`DIR/ca.pem`, `DIR/ca.key`) and a server certificate (`DIR/server.pem`,
 * `DIR/server.key`) with SANs localhost, 127.0.0.1, ::1 and every extra host.
 *
 * @example
 * ```ts ignore
 * import { initPki } from "./dev_pki.ts";
 * const paths = await initPki({ dir: "certs", hosts: ["chat.example.org"] });
 * console.log(paths.caCert); // "certs/ca.pem"
 * ```
 */
export async function initPki(options: InitPkiOptions): Promise<InitPkiResult> {
  const bits = checkBits(options.bits ?? 2048);
  const days = checkDays(options.days ?? DEFAULT_DAYS);
  const caAlg = options.caAlg ?? "rsa";
  if (caAlg !== "rsa" && caAlg !== "ecdsa") {
    throw new PkiInputError(`invalid CA algorithm ${JSON.stringify(caAlg)} (rsa or ecdsa)`);
  }
  const hosts = [
    ...new Set([...DEFAULT_SERVER_HOSTS, ...(options.hosts ?? []).map(checkHostName)]),
  ];
  const force = options.force ?? false;
  const out: InitPkiResult = {
    caCert: joinPath(options.dir, "ca.pem"),
    caKey: joinPath(options.dir, "ca.key"),
    serverCert: joinPath(options.dir, "server.pem"),
    serverKey: joinPath(options.dir, "server.key"),
  };
  await makeDir(options.dir);
  await refuseExisting(Object.values(out), force);

  const caKeys = caAlg === "rsa" ? await generateRsaKeys(bits) : await generateEcKeys("P-256");
  const caAlgorithm = caAlg === "rsa"
    ? { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }
    : { name: "ECDSA", hash: "SHA-256" };
  const caCert = await createCertificate({
    subject: "CN=NetSec-MSG Dev CA",
    publicKey: caKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: caAlgorithm,
    ...validity(Math.max(days, CA_MIN_DAYS)),
    extensions: await caExtensions(caKeys.publicKey),
  });
  const serverKeys = await generateRsaKeys(bits);
  const serverCert = await createCertificate({
    subject: `CN=${hosts.find((h) => !parseIpAddress(h) && !h.startsWith("*")) ?? "localhost"}`,
    issuerCert: caCert,
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: caAlgorithm,
    ...validity(days),
    extensions: await leafExtensions("server", serverKeys.publicKey, caCert, hosts),
  });
  await writeOut(out.caKey, await exportPrivateKeyPem(caKeys.privateKey), true, force);
  await writeOut(out.caCert, caCert.toString("pem") + "\n", false, force);
  await writeOut(out.serverKey, await exportPrivateKeyPem(serverKeys.privateKey), true, force);
  await writeOut(out.serverCert, serverCert.toString("pem") + "\n", false, force);
  return out;
}

/** The CA of a directory, loaded for issuing. */
export interface LoadedCa {
  readonly cert: x509.X509Certificate;
  readonly der: Uint8Array;
  readonly key: KeyInfo;
  readonly signingKey: CryptoKey;
  readonly signingAlgorithm: { name: string; hash: string };
}

/**
 * Loads `DIR/ca.pem` and `DIR/ca.key` and checks that they belong together.
 *
 * @example
 * ```ts ignore
 * const ca = await loadCa("certs");
 * ```
 */
export async function loadCa(dir: string): Promise<LoadedCa> {
  const certPath = joinPath(dir, "ca.pem");
  const keyPath = joinPath(dir, "ca.key");
  const certPem = await readText(certPath);
  const keyPem = await readText(keyPath);
  let der: Uint8Array;
  let info: KeyInfo;
  try {
    const ders = decodePemCertificates(certPem);
    if (ders.length !== 1) throw new PkiInputError("expected exactly one certificate");
    der = ders[0]!;
    info = parseCertificate(der).key;
  } catch (e) {
    throw new PkiInputError(`${certPath}: ${(e as Error).message}`, { cause: e });
  }
  let signingKey: CryptoKey;
  try {
    signingKey = await importSigningKey(keyPem, info);
  } catch (e) {
    throw new PkiInputError(`${keyPath}: ${(e as Error).message}`, { cause: e });
  }
  const cert = new x509.X509Certificate(der as Uint8Array<ArrayBuffer>);
  const signingAlgorithm = signingAlgorithmFor(info);
  const probe = new Uint8Array(32);
  const sig = await crypto.subtle.sign(signingAlgorithm, signingKey, probe);
  const pub = await crypto.subtle.importKey(
    "spki",
    parseCertificate(der).spki as Uint8Array<ArrayBuffer>,
    info.type === "EC" ? { name: "ECDSA", namedCurve: info.curve } : signingAlgorithm,
    false,
    ["verify"],
  );
  if (!(await crypto.subtle.verify(signingAlgorithm, pub, sig, probe))) {
    throw new PkiInputError(`${keyPath} does not belong to ${certPath}`);
  }
  return { cert, der, key: info, signingKey, signingAlgorithm };
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new PkiInputError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Options of `issueUser` (`certs user`). */
export interface IssueUserOptions {
  /** The PKI directory holding `ca.pem` and `ca.key`; the user's files are written there. */
  readonly dir: string;
  /** The USERID: 1 to 111 ASCII letters or digits; becomes the subject CN. */
  readonly userId: string;
  /** RSA key size: 2048 (default), 3072 or 4096. */
  readonly bits?: number;
  /** Validity in days; default 365. */
  readonly days?: number;
  /** Replace existing files. */
  readonly force?: boolean;
}

/** Paths written for one leaf certificate. */
export interface IssuedPaths {
  /** The certificate, PEM. */
  readonly cert: string;
  /** The private key, PKCS#8 PEM (mode 0600). */
  readonly key: string;
}

/**
 * Issues a client certificate for `userId` from the CA in `dir`: `DIR/<USERID>.pem` and
 * `DIR/<USERID>.key`, CN=<USERID>, EKU clientAuth, RSA.
 *
 * @example
 * ```ts ignore
 * import { issueUser } from "./dev_pki.ts";
 * const { cert, key } = await issueUser({ dir: "certs", userId: "alice" });
 * ```
 */
export async function issueUser(options: IssueUserOptions): Promise<IssuedPaths> {
  if (!isUserId(options.userId)) {
    throw new PkiInputError(
      `invalid USERID ${JSON.stringify(options.userId)} (1 to 111 ASCII letters or digits)`,
    );
  }
  const bits = checkBits(options.bits ?? 2048);
  const days = checkDays(options.days ?? DEFAULT_DAYS);
  const out = {
    cert: joinPath(options.dir, `${options.userId}.pem`),
    key: joinPath(options.dir, `${options.userId}.key`),
  };
  const force = options.force ?? false;
  await refuseExisting([out.cert, out.key], force);
  const ca = await loadCa(options.dir);
  const keys = await generateRsaKeys(bits);
  const cert = await createCertificate({
    subject: `CN=${options.userId}`,
    issuerCert: ca.cert,
    publicKey: keys.publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm: ca.signingAlgorithm,
    ...validity(days),
    extensions: await leafExtensions("client", keys.publicKey, ca.cert),
  });
  // A replaced key is kept as `<key>.N`, so that what was sealed to it can still be read.
  if (force) keepPreviousKey(out.key);
  await writeOut(out.key, await exportPrivateKeyPem(keys.privateKey), true, force);
  await writeOut(out.cert, cert.toString("pem") + "\n", false, force);
  return out;
}

/** Options of `issueServer` (`certs server`). */
export interface IssueServerOptions {
  readonly dir: string;
  /** File stem: writes `DIR/<name>.pem` and `DIR/<name>.key` (a trailing `.pem` is dropped). */
  readonly name: string;
  /** The names the certificate carries as SANs (at least one). */
  readonly hosts: readonly string[];
  readonly bits?: number;
  readonly days?: number;
  readonly force?: boolean;
}

/**
 * Issues an extra server certificate from the CA in `dir` with exactly the given SANs.
 *
 * @example
 * ```ts ignore
 * import { issueServer } from "./dev_pki.ts";
 * await issueServer({ dir: "certs", name: "chat", hosts: ["chat.example.org"] });
 * ```
 */
export async function issueServer(options: IssueServerOptions): Promise<IssuedPaths> {
  const stem = options.name.endsWith(".pem") ? options.name.slice(0, -4) : options.name;
  if (!FILE_STEM.test(stem)) {
    throw new PkiInputError(
      `invalid --name ${
        JSON.stringify(options.name)
      } (letters, digits, ".", "_", "-"; no directories)`,
    );
  }
  if (options.hosts.length === 0) throw new PkiInputError("at least one --host is required");
  const hosts = [...new Set(options.hosts.map(checkHostName))];
  const bits = checkBits(options.bits ?? 2048);
  const days = checkDays(options.days ?? DEFAULT_DAYS);
  const out = {
    cert: joinPath(options.dir, `${stem}.pem`),
    key: joinPath(options.dir, `${stem}.key`),
  };
  const force = options.force ?? false;
  await refuseExisting([out.cert, out.key], force);
  const ca = await loadCa(options.dir);
  const keys = await generateRsaKeys(bits);
  const cert = await createCertificate({
    subject: `CN=${hosts.find((h) => !parseIpAddress(h) && !h.startsWith("*")) ?? hosts[0]}`,
    issuerCert: ca.cert,
    publicKey: keys.publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm: ca.signingAlgorithm,
    ...validity(days),
    extensions: await leafExtensions("server", keys.publicKey, ca.cert, hosts),
  });
  await writeOut(out.key, await exportPrivateKeyPem(keys.privateKey), true, force);
  await writeOut(out.cert, cert.toString("pem") + "\n", false, force);
  return out;
}

/** What `revokeCertificate` did. */
export interface RevokeResult {
  /** The CRL written (`DIR/ca.crl`). */
  readonly crl: string;
  /** The revoked serial, hex. */
  readonly serialHex: string;
  /** True when the serial was already on the CRL (the CRL is re-signed anyway). */
  readonly alreadyRevoked: boolean;
  /** Number of entries on the CRL now. */
  readonly entries: number;
}

/**
 * Adds the certificate in `certPath` (issued by the CA in `dir`) to `DIR/ca.crl`, a PEM
 * X.509 v2 CRL signed by the CA, keeping earlier entries.
 *
 * @example
 * ```ts ignore
 * import { revokeCertificate } from "./dev_pki.ts";
 * await revokeCertificate({ dir: "certs", certPath: "certs/alice.pem" });
 * ```
 */
export async function revokeCertificate(
  options: { readonly dir: string; readonly certPath: string },
): Promise<RevokeResult> {
  const ca = await loadCa(options.dir);
  const caParsed = parseCertificate(ca.der);
  const pem = await readText(options.certPath);
  let target;
  try {
    const ders = decodePemCertificates(pem);
    if (ders.length === 0) throw new PkiInputError("no certificate in the file");
    target = parseCertificate(ders[0]!);
  } catch (e) {
    throw new PkiInputError(`${options.certPath}: ${(e as Error).message}`, { cause: e });
  }
  const signedByCa = target.sigAlg.status === "ok" &&
    await verifySignature(
      caParsed.spki,
      caParsed.key,
      target.sigAlg.alg,
      target.tbs,
      target.signature,
    );
  if (target.issuerId !== caParsed.subjectId || !signedByCa) {
    throw new PkiInputError(
      `${options.certPath} was not issued by ${joinPath(options.dir, "ca.pem")}`,
    );
  }
  const crlPath = joinPath(options.dir, "ca.crl");
  const entries: x509.X509CrlEntry[] = [];
  if (await exists(crlPath)) {
    const text = await readText(crlPath);
    try {
      for (const block of decodePemBlocks(text)) {
        if (block.label !== "X509 CRL") continue;
        const parsed = parseCrl(block.der);
        if (parsed.issuerId !== caParsed.subjectId) continue;
        entries.push(...new x509.X509Crl(block.der as Uint8Array<ArrayBuffer>).entries);
      }
    } catch (e) {
      throw new PkiInputError(`${crlPath}: ${(e as Error).message}`, { cause: e });
    }
  }
  const norm = (hex: string) => hex.toLowerCase().replace(/^(00)+(?=.)/, "");
  const serialHex = target.serialHex;
  const seen = new Set<string>();
  const list: x509.X509CrlEntryParams[] = [];
  for (const e of entries) {
    const s = norm(e.serialNumber);
    if (seen.has(s)) continue;
    seen.add(s);
    list.push({ serialNumber: e.serialNumber, revocationDate: e.revocationDate });
  }
  const alreadyRevoked = seen.has(serialHex);
  if (!alreadyRevoked) {
    const hex = serialHex.length % 2 === 1 ? "0" + serialHex : serialHex;
    list.push({
      serialNumber: /^[89a-f]/.test(hex) ? "00" + hex : hex,
      revocationDate: new Date(),
    });
  }
  const now = Date.now();
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subjectName,
    thisUpdate: new Date(now),
    nextUpdate: new Date(now + CRL_NEXT_UPDATE_DAYS * DAY_MS),
    entries: list,
    signingAlgorithm: ca.signingAlgorithm,
    signingKey: ca.signingKey,
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(ca.cert)],
  });
  const der = await dropEmptyEntryExtensions(new Uint8Array(crl.rawData), ca);
  // Written beside and renamed over: a server watching the file never reads half of it.
  const tmp = `${crlPath}.${crypto.getRandomValues(new Uint8Array(4)).toHex()}.tmp`;
  await writeOut(tmp, encodePem("X509 CRL", der), false, false);
  try {
    await Deno.rename(tmp, crlPath);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new PkiInputError(`cannot write ${crlPath}: ${(e as Error).message}`, { cause: e });
  }
  return { crl: crlPath, serialHex, alreadyRevoked, entries: list.length };
}

/**
 * @peculiar/x509 2.2.0 writes an empty `crlEntryExtensions` SEQUENCE for entries without
 * extensions, which RFC 5280 forbids (SIZE (1..MAX)) and strict DER parsers refuse. This
 * removes them and signs the corrected TBSCertList again with the CA key.
 */
async function dropEmptyEntryExtensions(der: Uint8Array, ca: LoadedCa): Promise<Uint8Array> {
  const asn = AsnConvert.parse(der, CertificateList);
  for (const entry of asn.tbsCertList.revokedCertificates ?? []) {
    if (entry.crlEntryExtensions?.length === 0) delete entry.crlEntryExtensions;
  }
  const tbs = new Uint8Array(AsnConvert.serialize(asn.tbsCertList));
  if (asn.tbsCertListRaw && bytesEqual(tbs, new Uint8Array(asn.tbsCertListRaw))) return der;
  const raw = new Uint8Array(await crypto.subtle.sign(ca.signingAlgorithm, ca.signingKey, tbs));
  let signature: ArrayBuffer = raw.buffer;
  if (ca.key.type === "EC") {
    const half = raw.length / 2;
    const int = (bytes: Uint8Array): ArrayBuffer => {
      const v = stripLeadingZeros(bytes);
      const out = (v[0]! & 0x80) ? new Uint8Array([0, ...v]) : v.slice();
      return out.buffer;
    };
    signature = AsnConvert.serialize(
      new ECDSASigValue({ r: int(raw.subarray(0, half)), s: int(raw.subarray(half)) }),
    );
  }
  const fixed = new CertificateList({
    tbsCertList: asn.tbsCertList,
    signatureAlgorithm: asn.signatureAlgorithm,
    signature,
  });
  return new Uint8Array(AsnConvert.serialize(fixed));
}
