// The RSA bound of the load tool (issue #6): how many handshakes per CPU-second the
// runtime's RSA speed allows a server, measured with WebCrypto directly. One unit is the
// server's RSA work in one ASL handshake (spec section 2): verify the client certificate's
// CA signature, verify SIG_C (RSA-PSS), decrypt E (RSA-OAEP), sign M6 (RSA-PSS), encrypt E2
// (RSA-OAEP). Several units are kept in flight so WebCrypto's worker threads use every core.

import { readCpuSeconds } from "./proc.ts";

/** The measured bound. */
export interface RsaBound {
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

async function prepareOps(k: Keys): Promise<Record<string, Op>> {
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
 * Measures the RSA bound for `seconds` (plus a short per-operation breakdown), with
 * `inFlight` handshakes' worth of work in flight (default 8).
 */
export async function measureRsaBound(seconds: number, inFlight = 8): Promise<RsaBound> {
  const ops = await prepareOps(await makeKeys());
  const o = ops as Record<
    "verify_cert" | "verify_sig_c" | "decrypt_e" | "sign_m6" | "encrypt_e2",
    Op
  >;
  // The server's order: validate the chain, verify SIG_C, decrypt E; then sign M6 and encrypt E2.
  const unit = async () => {
    await o.verify_cert();
    await o.verify_sig_c();
    await o.decrypt_e();
    await Promise.all([o.sign_m6(), o.encrypt_e2()]);
  };
  await drive(unit, inFlight, 0.3, 1e6); // warm-up
  const main = await drive(unit, inFlight, seconds, 1e7);
  const op_cpu_ms: Record<string, number> = {};
  for (const [name, op] of Object.entries(ops)) {
    const r = await drive(op, inFlight, Math.max(0.3, seconds / 8), 1e7);
    op_cpu_ms[name] = r.units > 0 ? (r.cpu * 1000) / r.units : 0;
  }
  return {
    handshakes_per_cpu_s: main.cpu > 0 ? main.units / main.cpu : 0,
    per_wall_s: main.units / main.wall,
    units: main.units,
    op_cpu_ms,
  };
}
