// The certificate profiles of the PKI maker (issue #2; they fit ASL spec section 4): CA
// extensions, server and client leaf extensions, validity windows, serial numbers, the
// checks on what a user may ask for (key size, days, host names, USERIDs, file stems), and
// `createCertificate`, the one place a certificate is signed. Pure apart from signing.

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { isUserId, parseIpAddress } from "./names.ts";
import { PkiInputError } from "./errors.ts";

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
/** Subject of the CA `initPki` makes. */
export const DEV_CA_SUBJECT = "CN=NetSec-MSG Dev CA";
/** One day in milliseconds. */
export const DAY_MS = 24 * 60 * 60 * 1000;

const HOST_NAME =
  /^(?:\*\.)?(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const FILE_STEM = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

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
  /** Start of validity. */
  readonly notBefore: Date;
  /** End of validity. */
  readonly notAfter: Date;
  /** Serial number, hex; default 16 random bytes (positive). */
  readonly serialHex?: string;
  /** Extensions, in order. */
  readonly extensions: readonly x509.Extension[];
}

/**
 * Creates and signs one X.509 v3 certificate.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateEcKeys } from "./keys.ts";
 * import { createCertificate } from "./profiles.ts";
 * const keys = await generateEcKeys("P-256");
 * const cert = await createCertificate({
 *   subject: "CN=x",
 *   publicKey: keys.publicKey,
 *   signingKey: keys.privateKey,
 *   signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
 *   notBefore: new Date(),
 *   notAfter: new Date(Date.now() + 60_000),
 *   extensions: [],
 * });
 * assert.equal(cert.subject, "CN=x");
 * ```
 */
export async function createCertificate(spec: CertificateSpec): Promise<x509.X509Certificate> {
  const issuer = spec.issuerCert ? spec.issuerCert.subjectName : spec.subject;
  return await x509.X509CertificateGenerator.create({
    serialNumber: spec.serialHex ?? randomSerialHex(),
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

/**
 * 16 random bytes as hex, top bit cleared (a positive INTEGER), never zero.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomSerialHex } from "./profiles.ts";
 * assert.match(randomSerialHex(), /^[0-7][0-9a-f]{31}$/);
 * ```
 */
export function randomSerialHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toHex();
}

/**
 * Standard extensions of a CA certificate: basicConstraints cA (critical, optional
 * pathLen), keyUsage keyCertSign+cRLSign (critical), subjectKeyIdentifier.
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
 * The subject of a server certificate for `hosts`: `CN=` the first DNS name that is not a
 * wildcard, else the first host.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serverSubject } from "./profiles.ts";
 * assert.equal(serverSubject(["10.0.0.1", "*.example.org", "chat.example.org"]), "CN=chat.example.org");
 * ```
 */
export function serverSubject(hosts: readonly string[]): string {
  return `CN=${hosts.find((h) => !parseIpAddress(h) && !h.startsWith("*")) ?? hosts[0]}`;
}

/**
 * Checks a `--host` value: an IP literal or a DNS name (optionally `*.` + name). Throws
 * `PkiInputError` otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkHostName } from "./profiles.ts";
 * assert.equal(checkHostName("[::1]"), "::1");
 * assert.throws(() => checkHostName("bad host"), /invalid host name/);
 * ```
 */
export function checkHostName(host: string): string {
  if (parseIpAddress(host)) return stripBrackets(host);
  if (host.length > 253 || !HOST_NAME.test(host)) {
    throw new PkiInputError(`invalid host name ${JSON.stringify(host)}`);
  }
  return host;
}

/** Checks an RSA key size (2048, 3072 or 4096). Throws `PkiInputError` otherwise. */
export function checkBits(bits: number): RsaBits {
  if (bits !== 2048 && bits !== 3072 && bits !== 4096) {
    throw new PkiInputError(`invalid key size ${bits} (2048, 3072 or 4096)`);
  }
  return bits;
}

/** Checks a validity in days (1 to 36500). Throws `PkiInputError` otherwise. */
export function checkDays(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > 36500) {
    throw new PkiInputError(`invalid number of days ${days} (1 to 36500)`);
  }
  return days;
}

/** Checks a CA key algorithm (rsa or ecdsa). Throws `PkiInputError` otherwise. */
export function checkCaAlg(caAlg: string): CaAlg {
  if (caAlg !== "rsa" && caAlg !== "ecdsa") {
    throw new PkiInputError(`invalid CA algorithm ${JSON.stringify(caAlg)} (rsa or ecdsa)`);
  }
  return caAlg;
}

/** Checks a USERID (ASL grammar: 1 to 111 ASCII letters or digits). Throws `PkiInputError`. */
export function checkUserId(userId: string): string {
  if (!isUserId(userId)) {
    throw new PkiInputError(
      `invalid USERID ${JSON.stringify(userId)} (1 to 111 ASCII letters or digits)`,
    );
  }
  return userId;
}

/**
 * Checks a `certs server --name` value and returns the file stem (a trailing `.pem`
 * dropped): letters, digits, ".", "_", "-", no directories. Throws `PkiInputError`.
 */
export function checkFileStem(name: string): string {
  const stem = name.endsWith(".pem") ? name.slice(0, -4) : name;
  if (!FILE_STEM.test(stem)) {
    throw new PkiInputError(
      `invalid --name ${JSON.stringify(name)} (letters, digits, ".", "_", "-"; no directories)`,
    );
  }
  return stem;
}

/**
 * The validity window of a certificate issued at `now` for `days`: from `BACKDATE_MS`
 * before `now` to `days` after it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BACKDATE_MS, DAY_MS, validity } from "./profiles.ts";
 * const { notBefore, notAfter } = validity(2, 1_000_000_000_000);
 * assert.equal(notBefore.getTime(), 1_000_000_000_000 - BACKDATE_MS);
 * assert.equal(notAfter.getTime(), 1_000_000_000_000 + 2 * DAY_MS);
 * ```
 */
export function validity(days: number, now = Date.now()): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + days * DAY_MS) };
}
