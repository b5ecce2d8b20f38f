// The handshake bounds of the load tool (issue #6, #12): how many handshakes per CPU-second
// the runtime's public-key speed allows a server, per suite, measured with WebCrypto directly.
// One unit is the server's public-key work in one ASL handshake (spec section 2):
// - AES_GCM / AES_CBC (the "RSA bound"): verify the client certificate's CA signature
//   (PKCS#1 v1.5), verify SIG_C (RSA-PSS), decrypt E (RSA-OAEP), sign M6 (RSA-PSS), encrypt E2
//   (RSA-OAEP);
// - X25519_AES_GCM ("M5 and M6 with X25519_AES_GCM"): verify the CA signature, an ephemeral
//   X25519 key pair (generate + export Q_S), verify SIG_C, K (import Q_C + deriveBits), sign
//   SIG_S (RSA-PSS) — no RSA-OAEP.
// Several units are kept in flight so WebCrypto's worker threads use every core. The same
// work, unit and loop (`prepareServerWork`, `handshakeUnit`, `driveUnits`) are
// bench/handshake_cpu.ts's bound, on the vectors' keys.

import type { Suite } from "../../lib/asl/types.ts";
import { readCpuSeconds } from "./proc.ts";

/** The measured bound. */
export interface HandshakeBound {
  /** The suite whose server-side work one unit is. */
  readonly suite: Suite;
  /** Units (handshakes' worth of server RSA work) per CPU-second of this process. */
  readonly handshakes_per_cpu_s: number;
  /** Units per wall-clock second. */
  readonly per_wall_s: number;
  /** Units completed. */
  readonly units: number;
  /** CPU ms per operation kind (measured one kind at a time, same concurrency). */
  readonly op_cpu_ms: Record<string, number>;
}

const RSA_2048 = { modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) };
const PSS = { name: "RSA-PSS", saltLength: 32 };
const OAEP = { name: "RSA-OAEP" };
const X25519 = { name: "X25519" } as const;

/** The keys (and the signed client certificate) one handshake's server work uses. */
export interface BoundKeys {
  /** The CA's public key, and its PKCS#1 v1.5 signature `certSig` over the leaf's `tbs`. */
  readonly caVerify: CryptoKey;
  readonly tbs: Uint8Array<ArrayBuffer>;
  readonly certSig: Uint8Array<ArrayBuffer>;
  /** The client's RSA-PSS private key (makes SIG_C), its public PSS and OAEP keys. */
  readonly clientSign: CryptoKey;
  readonly clientVerify: CryptoKey;
  readonly clientEncrypt: CryptoKey;
  /** The server's RSA-PSS and RSA-OAEP private keys and its OAEP public key (makes E). */
  readonly serverSign: CryptoKey;
  readonly serverDecrypt: CryptoKey;
  readonly serverEncrypt: CryptoKey;
}

/** Fresh RSA-2048 keys for every role and a signed 900-byte stand-in TBSCertificate. */
async function generateBoundKeys(): Promise<BoundKeys> {
  const gen = (name: string, usages: KeyUsage[]) =>
    crypto.subtle.generateKey({ name, hash: "SHA-256", ...RSA_2048 }, false, usages);
  const [serverPss, serverOaep, clientPss, clientOaep, ca] = await Promise.all([
    gen("RSA-PSS", ["sign", "verify"]),
    gen("RSA-OAEP", ["encrypt", "decrypt"]),
    gen("RSA-PSS", ["sign", "verify"]),
    gen("RSA-OAEP", ["encrypt", "decrypt"]),
    gen("RSASSA-PKCS1-v1_5", ["sign", "verify"]),
  ]) as CryptoKeyPair[];
  const tbs = crypto.getRandomValues(new Uint8Array(900));
  return {
    caVerify: ca!.publicKey,
    tbs,
    certSig: new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", ca!.privateKey, tbs)),
    clientSign: clientPss!.privateKey,
    clientVerify: clientPss!.publicKey,
    clientEncrypt: clientOaep!.publicKey,
    serverSign: serverPss!.privateKey,
    serverDecrypt: serverOaep!.privateKey,
    serverEncrypt: serverOaep!.publicKey,
  };
}

export type Op = () => Promise<unknown>;

/** The server's public-key work of one handshake with a suite, as calls on prepared inputs. */
export interface ServerWork {
  /** Verify the CA's signature on the client certificate (skipped on a validation-cache hit). */
  readonly verifyCertificate: Op;
  /** After M3: X25519_AES_GCM makes Q_S's key pair; RSA suites do nothing here. */
  readonly afterM3: Op;
  /**
   * After M5, up to M6: verify SIG_C, decrypt E, then encrypt E2 and sign SIG_S in parallel;
   * or, with X25519_AES_GCM, verify SIG_C, K (import Q_C + deriveBits), sign SIG_S.
   */
  readonly afterM5: Op;
  /** Each operation alone, by name (for the per-operation CPU breakdown). */
  readonly ops: Record<string, Op>;
}

/** Prepares the server work of `suite` with `keys` (default: freshly generated ones). */
export async function prepareServerWork(suite: Suite, keys?: BoundKeys): Promise<ServerWork> {
  const k = keys ?? await generateBoundKeys();
  const m5 = crypto.getRandomValues(new Uint8Array(17 + 32 + 256));
  const sigC = await crypto.subtle.sign(PSS, k.clientSign, m5);
  const m6 = crypto.getRandomValues(new Uint8Array(19 + 32 + 32)); // label, TH_5, MAC_S
  const verify_cert = () => crypto.subtle.verify("RSASSA-PKCS1-v1_5", k.caVerify, k.certSig, k.tbs);
  const verify_sig_c = () => crypto.subtle.verify(PSS, k.clientVerify, sigC, m5);
  if (suite === "X25519_AES_GCM") {
    const keyPair = async () => {
      const pair = await crypto.subtle.generateKey(X25519, false, ["deriveBits"]) as CryptoKeyPair;
      return { pair, raw: await crypto.subtle.exportKey("raw", pair.publicKey) };
    };
    const own = await keyPair();
    const peerRaw = (await keyPair()).raw; // Q_C from M5
    const ops = {
      verify_cert,
      x25519_keygen: keyPair,
      verify_sig_c,
      x25519_k: async () => {
        const peer = await crypto.subtle.importKey("raw", peerRaw, X25519, false, []);
        return await crypto.subtle.deriveBits(
          { ...X25519, public: peer },
          own.pair.privateKey,
          256,
        );
      },
      sign_sig_s: () => crypto.subtle.sign(PSS, k.serverSign, m6),
    };
    return {
      verifyCertificate: verify_cert,
      afterM3: keyPair,
      afterM5: async () => {
        await verify_sig_c();
        await ops.x25519_k();
        await ops.sign_sig_s();
      },
      ops,
    };
  }
  const e = await crypto.subtle.encrypt(OAEP, k.serverEncrypt, new Uint8Array(64));
  const n = crypto.getRandomValues(new Uint8Array(32));
  const ops = {
    verify_cert,
    verify_sig_c,
    decrypt_e: () => crypto.subtle.decrypt(OAEP, k.serverDecrypt, e),
    sign_m6: () => crypto.subtle.sign(PSS, k.serverSign, m6),
    encrypt_e2: () => crypto.subtle.encrypt(OAEP, k.clientEncrypt, n),
  };
  return {
    verifyCertificate: verify_cert,
    afterM3: () => Promise.resolve(),
    afterM5: async () => {
      await verify_sig_c();
      await ops.decrypt_e();
      await Promise.all([ops.sign_m6(), ops.encrypt_e2()]);
    },
    ops,
  };
}

/** One unit in the server's order: the chain (and Q_S) after M3; the M5/M6 work after M5. */
export function handshakeUnit(work: ServerWork): Op {
  return async () => {
    await Promise.all([work.verifyCertificate(), work.afterM3()]);
    await work.afterM5();
  };
}

/**
 * Runs `unit` with `inFlight` copies in flight until `seconds` have passed or `maxUnits` have
 * started; returns the units done, this process's CPU seconds and the wall seconds.
 */
export async function driveUnits(unit: Op, inFlight: number, seconds: number, maxUnits: number) {
  const cpu0 = readCpuSeconds("self");
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let units = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < end && units < maxUnits) {
      units++;
      await unit();
    }
  }));
  return { units, cpu: readCpuSeconds("self") - cpu0, wall: (performance.now() - t0) / 1000 };
}

/**
 * Measures the handshake bound of `suite` for `seconds` (plus a short per-operation
 * breakdown), with `inFlight` handshakes' worth of work in flight (default 8).
 */
export async function measureHandshakeBound(
  suite: Suite,
  seconds: number,
  inFlight = 8,
): Promise<HandshakeBound> {
  const work = await prepareServerWork(suite);
  const unit = handshakeUnit(work);
  await driveUnits(unit, inFlight, 0.3, 1e6); // warm-up
  const main = await driveUnits(unit, inFlight, seconds, 1e7);
  const op_cpu_ms: Record<string, number> = {};
  for (const [name, op] of Object.entries(work.ops)) {
    const r = await driveUnits(op, inFlight, Math.max(0.3, seconds / 8), 1e7);
    op_cpu_ms[name] = r.units > 0 ? (r.cpu * 1000) / r.units : 0;
  }
  return {
    suite,
    handshakes_per_cpu_s: main.cpu > 0 ? main.units / main.cpu : 0,
    per_wall_s: main.units / main.wall,
    units: main.units,
    op_cpu_ms,
  };
}

/** The RSA bound: the bound of `AES_GCM` (RSA key transport). */
export function measureRsaBound(seconds: number, inFlight = 8): Promise<HandshakeBound> {
  return measureHandshakeBound("AES_GCM", seconds, inFlight);
}
