// Shared shapes of the certificate layer: what the validator takes and returns, and the
// loaded key material the protocol uses. Implemented by validate.ts and credentials.ts.

/** Trust configuration: the CA file's certificates and, optionally, CRLs. */
export interface TrustStore {
  /** Trust anchors (DER), from a CA file holding one or more certificates. */
  readonly anchors: readonly Uint8Array[];
  /** CRLs (DER) to check revocation against; empty when none is configured. */
  readonly crls: readonly Uint8Array[];
}

/** What a chain is validated for (ASL section 4). */
export interface ValidateOptions {
  /** `server`: EKU serverAuth and, when `host` is set, name matching; `client`: EKU clientAuth and CN identity. */
  readonly purpose: "server" | "client";
  /** The host the client dialled (DNS name or IP literal); checked for `purpose: "server"`. */
  readonly host?: string;
  /** The time to validate at; default now. */
  readonly at?: Date;
}

/** A chain that passed validation. */
export interface ValidatedPeer {
  /** Client: the leaf's subject CN (a USERID). Server: the host matched, or the leaf's CN when no host was checked. */
  readonly identity: string;
  /** The leaf certificate, DER. */
  readonly leafDer: Uint8Array;
  /**
   * The chain as the peer presented it, leaf first, DER (`chain[0]` is `leafDer`); what the
   * server records at REGISTER and answers to `CERT` (ASL section 5).
   */
  readonly chain: readonly Uint8Array[];
  /** The leaf's SubjectPublicKeyInfo, DER (an RSA key of 2048–4096 bits). */
  readonly leafSpki: Uint8Array;
  /** The leaf's subject as a string (e.g. `CN=alice`). */
  readonly subject: string;
  /** SHA-256 of the leaf DER, lowercase hex with colons (`ab:cd:…`). */
  readonly fingerprint: string;
  /** End of the leaf's validity. */
  readonly notAfter: Date;
}

/** A party's own certificate chain and private key, ready for ASL. */
export interface Credentials {
  /** Own chain, leaf first, DER (1 to 5 certificates). */
  readonly chain: readonly Uint8Array[];
  /** The private key imported for RSA-PSS signing (SHA-256), non-extractable. */
  readonly signKey: CryptoKey;
  /** The same private key imported for RSA-OAEP decryption (SHA-256), non-extractable. */
  readonly decryptKey: CryptoKey;
}
