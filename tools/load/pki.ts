// The load tool's throwaway PKI (issue #6): the CA and server certificate come from
// lib/pki's initPki; the many test users (up to 10 000 idle sessions) get certificates
// that share ONE RSA-2048 key, each with its own CN, made with lib/pki's createCertificate
// and leafExtensions and signed by the CA key — 10 000 RSA key generations would take
// longer than the whole run.

import {
  createCertificate,
  initPki,
  leafExtensions,
  loadCa,
  type LoadedCa,
} from "../../lib/pki/dev_pki.ts";
import { decodePemBlocks } from "../../lib/pki/pem.ts";
import type { Credentials, TrustStore } from "../../lib/pki/types.ts";

/** The PKI files the run uses. */
export interface LoadPki {
  readonly dir: string;
  readonly caPem: string;
  readonly trust: TrustStore;
  readonly caCertPath: string;
  readonly serverCertPath: string;
  readonly serverKeyPath: string;
}

function pemDer(text: string, label: string): Uint8Array<ArrayBuffer> {
  const block = decodePemBlocks(text).find((b) => b.label === label);
  if (block === undefined) throw new Error(`no ${label} PEM block`);
  return new Uint8Array(block.der);
}

/** Reads DIR/ca.pem (and the server files' paths) into a LoadPki. */
export function readPki(dir: string): LoadPki {
  const caPem = Deno.readTextFileSync(`${dir}/ca.pem`);
  return {
    dir,
    caPem,
    trust: { anchors: [pemDer(caPem, "CERTIFICATE")], crls: [] },
    caCertPath: `${dir}/ca.pem`,
    serverCertPath: `${dir}/server.pem`,
    serverKeyPath: `${dir}/server.key`,
  };
}

/** Creates the throwaway PKI in `dir` with lib/pki's initPki (RSA-2048 server key). */
export async function createPki(dir: string): Promise<LoadPki> {
  await initPki({ dir, bits: 2048, days: 2, force: true });
  return readPki(dir);
}

/** Issues client credentials for many USERIDs that share one RSA-2048 key. */
export class UserFactory {
  readonly #ca: LoadedCa;
  readonly #publicKey: CryptoKey;
  readonly #signKey: CryptoKey;
  readonly #decryptKey: CryptoKey;
  readonly #cache = new Map<string, Credentials>();

  private constructor(
    ca: LoadedCa,
    publicKey: CryptoKey,
    signKey: CryptoKey,
    decryptKey: CryptoKey,
  ) {
    this.#ca = ca;
    this.#publicKey = publicKey;
    this.#signKey = signKey;
    this.#decryptKey = decryptKey;
  }

  /** Loads the CA of `pki` (DIR/ca.pem and DIR/ca.key) and makes the shared user key. */
  static async create(pki: LoadPki): Promise<UserFactory> {
    const ca = await loadCa(pki.dir);
    const keys = await crypto.subtle.generateKey(
      {
        name: "RSA-PSS",
        hash: "SHA-256",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
      },
      true,
      ["sign", "verify"],
    );
    const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
    const pss = { name: "RSA-PSS", hash: "SHA-256" };
    const oaep = { name: "RSA-OAEP", hash: "SHA-256" };
    const signKey = await crypto.subtle.importKey("pkcs8", pkcs8, pss, false, ["sign"]);
    const decryptKey = await crypto.subtle.importKey("pkcs8", pkcs8, oaep, false, ["decrypt"]);
    return new UserFactory(ca, keys.publicKey, signKey, decryptKey);
  }

  /** Credentials (certificate CN = `userId`, EKU clientAuth, by lib/pki) for one user; cached. */
  async credentials(userId: string): Promise<Credentials> {
    const cached = this.#cache.get(userId);
    if (cached !== undefined) return cached;
    const now = Date.now();
    const cert = await createCertificate({
      subject: `CN=${userId}`,
      issuerCert: this.#ca.cert,
      publicKey: this.#publicKey,
      signingKey: this.#ca.signingKey,
      signingAlgorithm: this.#ca.signingAlgorithm,
      notBefore: new Date(now - 3_600_000),
      notAfter: new Date(now + 2 * 86_400_000),
      extensions: await leafExtensions("client", this.#publicKey, this.#ca.cert),
    });
    const creds: Credentials = {
      chain: [new Uint8Array(cert.rawData)],
      signKey: this.#signKey,
      decryptKey: this.#decryptKey,
    };
    this.#cache.set(userId, creds);
    return creds;
  }
}
