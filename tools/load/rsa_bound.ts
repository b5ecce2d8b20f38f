// The handshake bounds of the load tool (issue #6, #12): how many handshakes per CPU-second
// the runtime's public-key speed allows a server, per suite, measured with WebCrypto directly.
// One unit is the server's public-key work in one ASL handshake (spec section 2):
// - AES_GCM / AES_CBC (the "RSA bound"): verify the client certificate's CA signature
//   (PKCS#1 v1.5), verify SIG_C (RSA-PSS), decrypt E (RSA-OAEP), sign M6 (RSA-PSS), encrypt E2
//   (RSA-OAEP);
// - X25519_AES_GCM ("M5 and M6 with X25519_AES_GCM"): verify the CA signature, an ephemeral
//   X25519 key pair (generate + export Q_S), verify SIG_C, K (import Q_C + deriveBits), sign
//   SIG_S (RSA-PSS) — no RSA-OAEP.
// Several units are kept in flight so WebCrypto's worker threads use every core.

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

interface Keys {
  serverPss: CryptoKeyPair;
  serverOaep: CryptoKeyPair;
  clientPss: CryptoKeyPair;
  clientOaep: CryptoKeyPair;
  ca: CryptoKeyPair;
}

async function makeKeys(): Promise<Keys> {
  const pss = { name: "RSA-PSS", hash: "SHA-256", ...RSA_2048 };
  const oaep = { name: "RSA-OAEP", hash: "SHA-256", ...RSA_2048 };
  const pkcs1 = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", ...RSA_2048 };
  const [serverPss, serverOaep, clientPss, clientOaep, ca] = await Promise.all([
    crypto.subtle.generateKey(pss, false, ["sign", "verify"]),
    crypto.subtle.generateKey(oaep, false, ["encrypt", "decrypt"]),
    crypto.subtle.generateKey(pss, false, ["sign", "verify"]),
    crypto.subtle.generateKey(oaep, false, ["encrypt", "decrypt"]),
    crypto.subtle.generateKey(pkcs1, false, ["sign", "verify"]),
  ]);
  return { serverPss, serverOaep, clientPss, clientOaep, ca };
}

type Op = () => Promise<unknown>;

const X25519 = { name: "X25519" } as const;

/** A fresh X25519 key pair and its raw public key, as the server makes Q_S for M4. */
async function x25519KeyPair(): Promise<{ privateKey: CryptoKey; raw: ArrayBuffer }> {
  const pair = await crypto.subtle.generateKey(X25519, false, ["deriveBits"]) as CryptoKeyPair;
  return { privateKey: pair.privateKey, raw: await crypto.subtle.exportKey("raw", pair.publicKey) };
}

type RsaOps = Record<"verify_cert" | "verify_sig_c" | "decrypt_e" | "sign_m6" | "encrypt_e2", Op>;
type X25519Ops = Record<
  "verify_cert" | "x25519_keygen" | "verify_sig_c" | "x25519_k" | "sign_sig_s",
  Op
>;

async function prepareOps(k: Keys): Promise<RsaOps> {
  const PSS = { name: "RSA-PSS", saltLength: 32 };
  const OAEP = { name: "RSA-OAEP" };
  const tbs = crypto.getRandomValues(new Uint8Array(900)); // a leaf's TBSCertificate
  const caSig = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", k.ca.privateKey, tbs);
  const m5 = crypto.getRandomValues(new Uint8Array(17 + 32 + 256));
  const sigC = await crypto.subtle.sign(PSS, k.clientPss.privateKey, m5);
  const e = await crypto.subtle.encrypt(OAEP, k.serverOaep.publicKey, new Uint8Array(64));
  const m6 = crypto.getRandomValues(new Uint8Array(19 + 32 + 32));
  const n = crypto.getRandomValues(new Uint8Array(32));
  return {
    verify_cert: () => crypto.subtle.verify("RSASSA-PKCS1-v1_5", k.ca.publicKey, caSig, tbs),
    verify_sig_c: () => crypto.subtle.verify(PSS, k.clientPss.publicKey, sigC, m5),
    decrypt_e: () => crypto.subtle.decrypt(OAEP, k.serverOaep.privateKey, e),
    sign_m6: () => crypto.subtle.sign(PSS, k.serverPss.privateKey, m6),
    encrypt_e2: () => crypto.subtle.encrypt(OAEP, k.clientOaep.publicKey, n),
  };
}

async function prepareX25519Ops(k: Keys, rsa: RsaOps): Promise<X25519Ops> {
  const PSS = { name: "RSA-PSS", saltLength: 32 };
  const own = await x25519KeyPair();
  const peerRaw = (await x25519KeyPair()).raw; // Q_C from M5
  const m6 = crypto.getRandomValues(new Uint8Array(19 + 32 + 32)); // label, TH_5, MAC_S
  return {
    verify_cert: rsa.verify_cert,
    x25519_keygen: () => x25519KeyPair(),
    verify_sig_c: rsa.verify_sig_c,
    x25519_k: async () => {
      const peer = await crypto.subtle.importKey("raw", peerRaw, X25519, false, []);
      return await crypto.subtle.deriveBits({ ...X25519, public: peer }, own.privateKey, 256);
    },
    sign_sig_s: () => crypto.subtle.sign(PSS, k.serverPss.privateKey, m6),
  };
}

/** Runs `unit` with `inFlight` copies in flight for `seconds`; returns units, CPU s, wall s. */
async function drive(unit: Op, inFlight: number, seconds: number, maxUnits: number) {
  const cpu0 = readCpuSeconds("self");
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let units = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < end && units < maxUnits) {
      await unit();
      units++;
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
  const keys = await makeKeys();
  const rsa = await prepareOps(keys);
  let ops: Record<string, Op>;
  let unit: Op;
  if (suite === "X25519_AES_GCM") {
    const x = await prepareX25519Ops(keys, rsa);
    ops = x;
    // The server's order: validate the chain, Q_S for M4; on M5 verify SIG_C, then K; sign M6.
    unit = async () => {
      await x.verify_cert();
      await x.x25519_keygen();
      await x.verify_sig_c();
      await x.x25519_k();
      await x.sign_sig_s();
    };
  } else {
    ops = rsa;
    // The server's order: validate the chain, verify SIG_C, decrypt E; then sign M6 and
    // encrypt E2.
    unit = async () => {
      await rsa.verify_cert();
      await rsa.verify_sig_c();
      await rsa.decrypt_e();
      await Promise.all([rsa.sign_m6(), rsa.encrypt_e2()]);
    };
  }
  await drive(unit, inFlight, 0.3, 1e6); // warm-up
  const main = await drive(unit, inFlight, seconds, 1e7);
  const op_cpu_ms: Record<string, number> = {};
  for (const [name, op] of Object.entries(ops)) {
    const r = await drive(op, inFlight, Math.max(0.3, seconds / 8), 1e7);
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
