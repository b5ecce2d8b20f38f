// The PKI maker (issue #2, issue 14 item 6): an in-memory CA that issues the project's
// certificates (profiles.ts; ASL spec section 4) and CRLs, and hands back credentials —
// certificates as DER and PEM, keys as WebCrypto keys, PKCS#8 PEM on request, ASL
// `Credentials` ready for a session. No files: `deno task certs`, the server's dev PKI,
// the demo, the tests' throwaway PKIs and the load tool all build on this (files through
// pki_files.ts).

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { encodePemCertificate } from "./pem.ts";
import { PkiInputError } from "./errors.ts";
import {
  credentialsFor,
  exportPrivateKeyPem,
  generateEcKeys,
  generateRsaKeys,
  type KeyPair,
  type SigningAlgorithm,
  signingAlgorithmOf,
} from "./keys.ts";
import {
  CA_MIN_DAYS,
  type CaAlg,
  caExtensions,
  checkUserId,
  createCertificate,
  DEFAULT_DAYS,
  DEFAULT_SERVER_HOSTS,
  DEV_CA_SUBJECT,
  leafExtensions,
  serverSubject,
  validity,
} from "./profiles.ts";
import { type RevokedEntry, signCrl } from "./crl_issue.ts";
import type { Credentials, TrustStore } from "./types.ts";

/** A certificate the issuer made (or loaded). */
export interface IssuedCert {
  /** DER bytes. */
  readonly der: Uint8Array;
  /** PEM (`CERTIFICATE` block, trailing newline). */
  readonly pem: string;
  /** Parsed, for reading fields. */
  readonly cert: x509.X509Certificate;
}

/** A server or user certificate with its key and the chain sent with it. */
export interface IssuedLeaf extends IssuedCert {
  /** The subject's key pair (the private key exportable). */
  readonly keys: KeyPair;
  /** The chain as sent in ASL (leaf first, then intermediates), DER. */
  readonly chain: readonly Uint8Array[];
  /** The chain as PEM, leaf first: what a `.pem` certificate file holds. */
  readonly chainPem: string;
  /** The private key as PKCS#8 PEM: what a `.key` file holds. */
  keyPem(): Promise<string>;
  /** ASL credentials (RSA-PSS signing and RSA-OAEP decryption keys, non-extractable). */
  credentials(): Promise<Credentials>;
}

/** Options of `Issuer.create` (a new self-signed root CA). */
export interface NewCaOptions {
  /** Subject DN; default `CN=NetSec-MSG Dev CA`. */
  readonly subject?: string;
  /** Key algorithm when `keys` is not given: RSA (default) or ECDSA P-256. */
  readonly caAlg?: CaAlg;
  /** RSA size when a key is generated; default 2048. */
  readonly bits?: number;
  /** Validity in days; default 3650. */
  readonly days?: number;
  /** Use this key pair instead of generating one (RSA or ECDSA). */
  readonly keys?: KeyPair;
}

/** Options of a leaf certificate. */
export interface LeafOptions {
  /** RSA size when a key is generated; default 2048. */
  readonly bits?: number;
  /** Validity in days; default 365. */
  readonly days?: number;
  /** Use this RSA key pair instead of generating one (many certificates may share one). */
  readonly keys?: KeyPair;
}

/** Options of an intermediate CA. */
export interface IntermediateOptions extends LeafOptions {
  /** Subject DN. */
  readonly subject: string;
  /** pathLenConstraint; default none. */
  readonly pathLen?: number;
}

function issued(der: Uint8Array): IssuedCert {
  return {
    der,
    pem: encodePemCertificate(der),
    cert: new x509.X509Certificate(der as Uint8Array<ArrayBuffer>),
  };
}

/** An in-memory certificate authority that issues the project's certificates. */
export class Issuer {
  /** The CA certificate leaves are signed by. */
  readonly ca: IssuedCert;
  /** The root (trust anchor) this CA chains to: `ca` itself for a root. */
  readonly root: IssuedCert;
  /** The CA's key pair, when this issuer made it (absent when loaded from a key file). */
  readonly keys: KeyPair | undefined;
  /** The CA's private key and the algorithm certificates are signed with. */
  readonly signingKey: CryptoKey;
  readonly signingAlgorithm: SigningAlgorithm;
  /** Certificates sent after a leaf: the intermediates up to (not including) the root. */
  readonly intermediates: readonly Uint8Array[];

  private constructor(
    ca: IssuedCert,
    root: IssuedCert,
    signingKey: CryptoKey,
    keys: KeyPair | undefined,
    intermediates: readonly Uint8Array[],
  ) {
    this.ca = ca;
    this.root = root;
    this.keys = keys;
    this.signingKey = signingKey;
    this.signingAlgorithm = signingAlgorithmOf(signingKey);
    this.intermediates = intermediates;
  }

  /** Makes a new self-signed root CA (keyCertSign, cRLSign; no pathLen). */
  static async create(options: NewCaOptions = {}): Promise<Issuer> {
    const keys = options.keys ??
      (options.caAlg === "ecdsa"
        ? await generateEcKeys("P-256")
        : await generateRsaKeys(options.bits ?? 2048));
    const cert = await createCertificate({
      subject: options.subject ?? DEV_CA_SUBJECT,
      publicKey: keys.publicKey,
      signingKey: keys.privateKey,
      signingAlgorithm: signingAlgorithmOf(keys.privateKey),
      ...validity(options.days ?? CA_MIN_DAYS),
      extensions: await caExtensions(keys.publicKey),
    });
    const ca = issued(new Uint8Array(cert.rawData));
    return new Issuer(ca, ca, keys.privateKey, keys, []);
  }

  /**
   * An issuer over an existing root CA: its certificate (DER) and its private key imported
   * for signing (keys.ts `importSigningKey`). The caller checks that they belong together.
   */
  static fromCa(caDer: Uint8Array, signingKey: CryptoKey): Issuer {
    const ca = issued(caDer);
    return new Issuer(ca, ca, signingKey, undefined, []);
  }

  /** The trust store of this CA's root (no CRL). */
  get trust(): TrustStore {
    return { anchors: [this.root.der], crls: [] };
  }

  /** Issues an intermediate CA below this one; its leaves send it after themselves. */
  async intermediate(options: IntermediateOptions): Promise<Issuer> {
    const keys = options.keys ?? await generateRsaKeys(options.bits ?? 2048);
    const cert = await this.#sign(
      options.subject,
      keys,
      options.days ?? CA_MIN_DAYS,
      await caExtensions(keys.publicKey, options.pathLen),
    );
    return new Issuer(cert, this.root, keys.privateKey, keys, [cert.der, ...this.intermediates]);
  }

  /**
   * Issues a server certificate: EKU serverAuth, the given SANs (default localhost,
   * 127.0.0.1, ::1; checked by the caller), subject CN the first plain DNS name.
   */
  async server(
    options: LeafOptions & { readonly hosts?: readonly string[]; readonly subject?: string } = {},
  ): Promise<IssuedLeaf> {
    const hosts = options.hosts ?? DEFAULT_SERVER_HOSTS;
    const keys = options.keys ?? await generateRsaKeys(options.bits ?? 2048);
    const extensions = await leafExtensions("server", keys.publicKey, this.ca.cert, hosts);
    const subject = options.subject ?? serverSubject(hosts);
    return this.#leaf(await this.#sign(subject, keys, options.days, extensions), keys);
  }

  /** Issues a user certificate: CN=`userId` (checked), EKU clientAuth. */
  async user(userId: string, options: LeafOptions = {}): Promise<IssuedLeaf> {
    const subject = `CN=${checkUserId(userId)}`;
    const keys = options.keys ?? await generateRsaKeys(options.bits ?? 2048);
    const extensions = await leafExtensions("client", keys.publicKey, this.ca.cert);
    return this.#leaf(await this.#sign(subject, keys, options.days, extensions), keys);
  }

  /** Signs a CRL (DER) listing `entries` (crl_issue.ts `withRevoked` builds them). */
  async crl(entries: readonly RevokedEntry[], now: number = Date.now()): Promise<Uint8Array> {
    return await signCrl(
      { cert: this.ca.cert, signingKey: this.signingKey, signingAlgorithm: this.signingAlgorithm },
      entries,
      now,
    );
  }

  /**
   * The CA's private key as PKCS#8 PEM (what `ca.key` holds). Throws when the issuer was
   * loaded from a key file (there is no exportable key; the file already holds it): `PkiInputError`.
   */
  async keyPem(): Promise<string> {
    if (this.keys === undefined) {
      throw new PkiInputError("this issuer's CA key was loaded, not made: it cannot be exported");
    }
    return await exportPrivateKeyPem(this.keys.privateKey);
  }

  async #sign(
    subject: string,
    keys: KeyPair,
    days: number = DEFAULT_DAYS,
    extensions: readonly x509.Extension[],
  ): Promise<IssuedCert> {
    const cert = await createCertificate({
      subject,
      issuerCert: this.ca.cert,
      publicKey: keys.publicKey,
      signingKey: this.signingKey,
      signingAlgorithm: this.signingAlgorithm,
      ...validity(days),
      extensions,
    });
    return issued(new Uint8Array(cert.rawData));
  }

  #leaf(cert: IssuedCert, keys: KeyPair): IssuedLeaf {
    const chain = [cert.der, ...this.intermediates];
    return {
      ...cert,
      keys,
      chain,
      chainPem: chain.map((der) => encodePemCertificate(der)).join(""),
      keyPem: () => exportPrivateKeyPem(keys.privateKey),
      credentials: () => credentialsFor(chain, keys.privateKey),
    };
  }
}
