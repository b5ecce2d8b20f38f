// Test helpers for the ASL tests: the conformance vectors (tests/fixtures/asl-vectors) loaded
// as credentials and trust stores, hex helpers, and a forced random source for replays.

import { concatBytes } from "../../lib/asl/bytes.ts";
import { FrameReader } from "../../lib/asl/framing.ts";
import { createPipe } from "../../lib/asl/pipe.ts";
import { writeAll } from "../../lib/asl/transport.ts";
import type { Duplex } from "../../lib/asl/types.ts";
import { parseTrustStore } from "../../lib/pki/credentials.ts";
import { decodePemCertificates } from "../../lib/pki/pem.ts";
import type { Credentials, TrustStore } from "../../lib/pki/types.ts";
import { testKeys } from "./cert_builder.ts";

/** Directory of the vector fixtures. */
export const VECTORS = new URL("../fixtures/asl-vectors/", import.meta.url);

/** One recorded record of a session file. */
export interface VectorRecord {
  readonly seq: number;
  readonly plaintext: string;
  readonly cbc_iv?: string;
  readonly record_hex: string;
  readonly line: string;
}

/** A session vector file (see the fixtures README). */
export interface SessionVector {
  readonly suite: "AES_GCM" | "AES_CBC";
  readonly server_name: string;
  readonly client_identity: string;
  readonly messages: Record<"M1" | "M2" | "M3" | "M4" | "M5" | "M6" | "M7", string>;
  readonly server_random: string;
  readonly N: string;
  readonly K: string;
  readonly P: string;
  readonly E: string;
  readonly SIG_C: string;
  readonly SIG_C_input: string;
  readonly MAC: string;
  readonly E2: string;
  readonly SIG_S: string;
  readonly SIG_S_input: string;
  readonly TH_4: string;
  readonly TH_5: string;
  readonly TH_7: string;
  readonly keys: Record<"c2s" | "s2c", Record<string, string>>;
  readonly records: Record<"c2s" | "s2c", readonly VectorRecord[]>;
}

/** One negative record vector. */
export interface NegativeRecord {
  readonly suite: "AES_GCM" | "AES_CBC";
  readonly session: string;
  readonly direction: "c2s" | "s2c";
  readonly recv_seq: number;
  readonly line: string;
  readonly reason: string;
}

/** Reads a fixture file as text. */
export function readVectorText(name: string): Promise<string> {
  return Deno.readTextFile(new URL(name, VECTORS));
}

/** Loads a session vector by suite. */
export async function loadSession(suite: "AES_GCM" | "AES_CBC"): Promise<SessionVector> {
  return JSON.parse(await readVectorText(`asl-session-${suite}.json`));
}

/** Loads the negative record vectors. */
export async function loadNegativeRecords(): Promise<NegativeRecord[]> {
  return JSON.parse(await readVectorText("asl-negative-records.json"));
}

/** Hex to bytes. */
export function hex(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.fromHex(text);
}

/** Imports a PKCS#8 PEM RSA key for RSA-PSS signing and RSA-OAEP decryption. */
export async function importPrivateKey(
  pem: string,
): Promise<Pick<Credentials, "signKey" | "decryptKey">> {
  const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  const der = Uint8Array.fromBase64(body);
  const [signKey, decryptKey] = await Promise.all([
    crypto.subtle.importKey("pkcs8", der, { name: "RSA-PSS", hash: "SHA-256" }, false, ["sign"]),
    crypto.subtle.importKey("pkcs8", der, { name: "RSA-OAEP", hash: "SHA-256" }, false, [
      "decrypt",
    ]),
  ]);
  return { signKey, decryptKey };
}

/** Credentials from a vector certificate/key pair (`server` or `client`). */
export async function vectorCredentials(who: "server" | "client"): Promise<Credentials> {
  const chain = decodePemCertificates(await readVectorText(`${who}.crt`));
  return { chain, ...(await importPrivateKey(await readVectorText(`${who}.key`))) };
}

/** The vector CA as a trust store. */
export async function vectorTrust(): Promise<TrustStore> {
  return { anchors: decodePemCertificates(await readVectorText("ca.crt")), crls: [] };
}

/** A random source that returns the given values in order, then fails. */
export function forcedRandom(...values: Uint8Array[]): (length: number) => Uint8Array {
  const queue = [...values];
  return (length) => {
    const next = queue.shift();
    if (!next || next.length !== length) throw new Error(`forced random: no ${length}-byte value`);
    return next;
  };
}

// --- Failure-path certificates made with the openssl CLI (tests only) ---------------------

/** Certificates for failure paths, all in one temp directory. */
export interface BadPeers {
  readonly dir: string;
  /** alice, issued by another CA (`UNKNOWN_CA`). */
  readonly wrongCa: Credentials;
  /** A server certificate for localhost issued by that other CA. */
  readonly wrongCaServer: Credentials;
  /** alice, valid 2020–2021 (`CERT_EXPIRED`). */
  readonly expired: Credentials;
  /** alice, revoked in `trustWithCrl` (`CERT_REVOKED`). */
  readonly revoked: Credentials;
  /** alice with EKU serverAuth only (`BAD_CERTIFICATE`). */
  readonly wrongEku: Credentials;
  /** alice with an RSA-1024 key (`BAD_CERTIFICATE`). */
  readonly rsa1024: Credentials;
  /** The vector CA plus a CRL revoking `revoked`. */
  readonly trustWithCrl: TrustStore;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

const CA_CONFIG = `[ca]
default_ca = ca_default
[ca_default]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
crlnumber = crlnumber
default_md = sha256
default_crl_days = 30
policy = policy_any
unique_subject = no
copy_extensions = none
[policy_any]
commonName = supplied
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
`;

async function credentialsFrom(dir: string, name: string): Promise<Credentials> {
  const chain = decodePemCertificates(await Deno.readTextFile(`${dir}/${name}.crt`));
  return { chain, ...(await importPrivateKey(await Deno.readTextFile(`${dir}/${name}.key`))) };
}

/**
 * Makes the failure-path certificates with `openssl` in a new temp directory (remove it with
 * `Deno.remove(dir, { recursive: true })`).
 */
export async function makeBadPeers(): Promise<BadPeers> {
  const dir = await Deno.makeTempDir({ prefix: "asl_bad_peers_" });
  await Deno.writeTextFile(`${dir}/ca.cnf`, CA_CONFIG);
  await Deno.writeTextFile(`${dir}/index.txt`, "");
  await Deno.writeTextFile(`${dir}/serial`, "1000\n");
  await Deno.writeTextFile(`${dir}/crlnumber`, "1000\n");
  await Deno.copyFile(new URL("ca.crt", VECTORS), `${dir}/ca.crt`);
  await Deno.copyFile(new URL("ca.key", VECTORS), `${dir}/ca.key`);
  // Keys from the test key pool (generating six RSA keys in openssl was most of the time).
  const keySlots: Record<string, [number, number]> = {
    other: [10, 2048],
    wrong_ca: [11, 2048],
    wrong_ca_server: [12, 2048],
    expired: [13, 2048],
    wrong_eku: [14, 2048],
    rsa1024: [1, 1024],
    revoked: [15, 2048],
  };
  for (const [name, [slot, bits]] of Object.entries(keySlots)) {
    await Deno.writeTextFile(`${dir}/${name}.key`, (await testKeys("RSA", slot, bits)).pem);
  }
  // Another CA, not trusted by anyone.
  await openssl([
    "req",
    "-x509",
    "-key",
    "other.key",
    "-out",
    "other.crt",
    "-subj",
    "/CN=Other CA",
    "-days",
    "365",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ], dir);
  type IssueOpts = {
    ext?: string;
    ca?: string;
    cn?: string;
    dates?: [string, string];
  };
  const request = (name: string, opts: IssueOpts) =>
    openssl([
      "req",
      "-new",
      "-key",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${opts.cn ?? "alice"}`,
    ], dir);
  const sign = (name: string, opts: IssueOpts) => {
    const ca = opts.ca ?? "ca";
    const dates = opts.dates
      ? ["-startdate", opts.dates[0], "-enddate", opts.dates[1]]
      : ["-days", "365"];
    return openssl([
      "ca",
      "-batch",
      "-notext",
      "-config",
      "ca.cnf",
      "-cert",
      `${ca}.crt`,
      "-keyfile",
      `${ca}.key`,
      "-in",
      `${name}.csr`,
      "-out",
      `${name}.crt`,
      "-extensions",
      opts.ext ?? "client",
      ...dates,
    ], dir);
  };
  const specs: [string, IssueOpts][] = [
    ["wrong_ca", { ca: "other" }],
    ["wrong_ca_server", { ca: "other", ext: "server", cn: "localhost" }],
    ["expired", { dates: ["20200101000000Z", "20210101000000Z"] }],
    ["wrong_eku", { ext: "server" }],
    ["rsa1024", {}], // its key is the pool's 1024-bit one
    ["revoked", {}],
  ];
  await Promise.all(specs.map(([name, opts]) => request(name, opts)));
  for (const [name, opts] of specs) await sign(name, opts); // openssl ca is not concurrent-safe
  await openssl([
    "ca",
    "-config",
    "ca.cnf",
    "-cert",
    "ca.crt",
    "-keyfile",
    "ca.key",
    "-revoke",
    "revoked.crt",
  ], dir);
  await openssl([
    "ca",
    "-gencrl",
    "-config",
    "ca.cnf",
    "-cert",
    "ca.crt",
    "-keyfile",
    "ca.key",
    "-out",
    "crl.pem",
  ], dir);
  const crlPem = await Deno.readTextFile(`${dir}/crl.pem`);
  const trustWithCrl = parseTrustStore(await readVectorText("ca.crt"), crlPem);
  return {
    dir,
    wrongCa: await credentialsFrom(dir, "wrong_ca"),
    wrongCaServer: await credentialsFrom(dir, "wrong_ca_server"),
    expired: await credentialsFrom(dir, "expired"),
    revoked: await credentialsFrom(dir, "revoked"),
    wrongEku: await credentialsFrom(dir, "wrong_eku"),
    rsa1024: await credentialsFrom(dir, "rsa1024"),
    trustWithCrl,
  };
}

// --- Transports and a man in the middle ---------------------------------------------------

/** Where a test runs: the in-memory pipe or real loopback TCP. */
export type Transport = "pipe" | "tcp";

/** A connected pair of streams; `close()` closes whatever is still open. */
export interface StreamPair {
  readonly server: Duplex;
  readonly client: Duplex;
  close(): void;
}

function closeAll(...streams: Duplex[]) {
  for (const s of streams) {
    try {
      s.close();
    } catch {
      // already closed
    }
  }
}

/** A connected server/client stream pair over `transport` (TCP: 127.0.0.1, port 0). */
export async function streamPair(transport: Transport): Promise<StreamPair> {
  if (transport === "pipe") {
    const [server, client] = createPipe();
    return { server, client, close: () => closeAll(server, client) };
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const [client, server] = await Promise.all([
      Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
      listener.accept(),
    ]);
    client.setNoDelay(true);
    server.setNoDelay(true);
    return { server, client, close: () => closeAll(server, client) };
  } finally {
    listener.close();
  }
}

/** Rewrites one message (its exact text, `LF LF` included) into the messages to forward. */
export type Rewrite = (index: number, message: string) => string[];

const WIDE_LIMITS = { maxBytes: 1 << 20, maxLines: 1 << 16, maxLineChars: 1 << 20 };

async function pump(from: Duplex, to: Duplex, rewrite: Rewrite | undefined): Promise<void> {
  const reader = new FrameReader(from, WIDE_LIMITS);
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  try {
    for (let index = 0;; index++) {
      const frame = await reader.next();
      if (frame === null) break;
      const text = decoder.decode(frame.bytes);
      const out = rewrite ? rewrite(index, text) : [text];
      if (out.length > 0) await writeAll(to, encoder.encode(out.join("")));
    }
    await to.closeWrite();
  } catch {
    closeAll(from, to);
  }
}

/**
 * A man in the middle: client ⇄ mitm ⇄ server over two pipes or two loopback TCP
 * connections, each direction split into messages and passed through `c2s` / `s2c`.
 * Returns the ends for each side and a promise that settles when both directions are done.
 */
export async function manInTheMiddle(
  rewrites: { c2s?: Rewrite; s2c?: Rewrite },
  transport: Transport = "pipe",
): Promise<StreamPair & { done: Promise<void> }> {
  const front = await streamPair(transport); // client ⇄ mitm (mitm plays the server)
  const back = await streamPair(transport); // mitm ⇄ server (mitm plays the client)
  const done = Promise.all([
    pump(front.server, back.client, rewrites.c2s),
    pump(back.client, front.server, rewrites.s2c),
  ]).then(() => closeAll(front.server, back.client));
  return {
    client: front.client,
    server: back.server,
    done,
    close: () => {
      front.close();
      back.close();
    },
  };
}

/** Writes text to a stream. */
export async function writeText(conn: Duplex, text: string): Promise<void> {
  await writeAll(conn, new TextEncoder().encode(text));
}

/** Reads a stream to its end (bounded by `max` bytes) and returns the text. */
export async function readToEnd(conn: Duplex, max = 1 << 20): Promise<string> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(16384);
  try {
    while (total < max) {
      const n = await conn.read(buf);
      if (n === null) break;
      parts.push(buf.slice(0, n));
      total += n;
    }
  } catch {
    // reset: what was read is the answer
  }
  return new TextDecoder().decode(concatBytes(parts));
}
