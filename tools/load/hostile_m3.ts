// The hostile-M3 fault phase of the load tool (issue 13, finding 1): clients that send, before
// any authentication, a self-signed certificate with 1 500 tiny extensions (about 17 KB of DER,
// 23 KB as PEM: inside the 32 KB message limit), a byte changed each time so that no cache can
// help, at a fixed rate while a relay runs. The server must refuse each with BAD_CERTIFICATE on
// the raw-DER size bounds (spec section 4), cheaply enough that the relay keeps its throughput.

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { FrameReader } from "../../lib/asl/framing.ts";
import { serializeM1, serializeM3 } from "../../lib/asl/messages.ts";
import { closeQuietly, dial, writeAll } from "../../lib/asl/transport.ts";
import { generateRsaKeys, type KeyPair } from "../../lib/pki/keys.ts";
import { createCertificate } from "../../lib/pki/profiles.ts";
import { errorReply } from "./faults.ts";
import { sleep } from "./relay.ts";
import { round } from "./stats.ts";

/** Extensions in the hostile certificate (the spec allows 24). */
export const HOSTILE_EXTENSIONS = 1_500;

/**
 * A self-signed RSA certificate (one day, SHA-256, serial 01: its size depends only on the
 * rest) of `subject` with `extensions`, DER.
 */
export async function selfSignedWith(
  keys: KeyPair,
  subject: string,
  extensions: x509.Extension[],
): Promise<Uint8Array> {
  const cert = await createCertificate({
    subject,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    serialHex: "01",
    extensions,
  });
  return new Uint8Array(cert.rawData);
}

/** A self-signed RSA certificate with `HOSTILE_EXTENSIONS` one-byte private extensions. */
export async function hostileCertificate(): Promise<Uint8Array> {
  const extensions = Array.from(
    { length: HOSTILE_EXTENSIONS },
    (_, i) => new x509.Extension(`1.2.${i}`, false, new Uint8Array([0x05, 0x00])),
  );
  return await selfSignedWith(await generateRsaKeys(2048), "CN=alice", extensions);
}

/** What the hostile clients saw. */
export interface HostileOutcome {
  readonly certificate_bytes: number;
  readonly attempts: number;
  /** Attempts answered `ASL_ERROR BAD_CERTIFICATE`. */
  readonly refused_bad_certificate: number;
  /** Any other answer (or none), by its first line. */
  readonly other: Record<string, number>;
  /** Median and slowest time from sending M3 to the server's answer, ms (client side). */
  readonly answer_ms_p50: number;
  readonly answer_ms_max: number;
}

/** M1, then (after M2) the hostile certificate as M3; the server's `ASL_ERROR` line. */
async function oneHostileHandshake(
  address: { hostname: string; port: number },
  der: Uint8Array,
): Promise<{ answer: string; ms: number }> {
  const conn = await dial(address);
  try {
    await writeAll(conn, serializeM1());
    const reader = new FrameReader(conn);
    if (await reader.next() === null) return { answer: "closed before M2", ms: 0 };
    const m3 = serializeM3({ suites: ["X25519_AES_GCM", "AES_GCM"], chain: [der] });
    const sent = performance.now();
    await writeAll(conn, m3);
    const answer = await errorReply(reader) || "no answer";
    return { answer, ms: performance.now() - sent };
  } finally {
    closeQuietly(conn);
  }
}

/**
 * Sends `perSecond` hostile M3s a second for `seconds` seconds (each from a fresh connection,
 * each certificate changed in its last byte so that nothing is cached), and tallies answers.
 */
export async function hostileHandshakes(
  hostname: string,
  port: number,
  der: Uint8Array,
  perSecond: number,
  seconds: number,
): Promise<HostileOutcome> {
  const total = Math.max(1, Math.round(perSecond * seconds));
  const started = performance.now();
  const runs: Promise<{ answer: string; ms: number }>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = started + (i * 1000) / perSecond - performance.now();
    if (wait > 0) await sleep(wait);
    const variant = der.slice();
    variant[variant.length - 1] = (variant[variant.length - 1]! + i) & 0xff; // in the signature
    runs.push(
      oneHostileHandshake({ hostname, port }, variant)
        .catch((err) => ({ answer: `error ${(err as Error).name}`, ms: 0 })),
    );
  }
  const results = await Promise.all(runs);
  const other: Record<string, number> = {};
  let refused = 0;
  for (const r of results) {
    if (r.answer === "ASL_ERROR BAD_CERTIFICATE") refused++;
    else other[r.answer] = (other[r.answer] ?? 0) + 1;
  }
  const times = results.filter((r) => r.answer.startsWith("ASL_ERROR")).map((r) => r.ms)
    .sort((a, b) => a - b);
  return {
    certificate_bytes: der.length,
    attempts: total,
    refused_bad_certificate: refused,
    other,
    answer_ms_p50: round(times[Math.floor(times.length / 2)] ?? 0, 2),
    answer_ms_max: round(times[times.length - 1] ?? 0, 2),
  };
}
