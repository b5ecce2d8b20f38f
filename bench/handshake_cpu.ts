// Server CPU per ASL handshake (spec section 2, M1–M7) against the bound set by the runtime's
// RSA speed (issue #6). Not a `deno bench` file: run it directly,
//   deno run --allow-all bench/handshake_cpu.ts [--n 400] [--concurrency 8]
// It starts the server in a CHILD process (so the client's own RSA work is not counted),
// runs N handshakes from this process over loopback TCP and reads the child's CPU time
// (user + system, all threads: process.cpuUsage) before and after. Then it starts a second
// child that performs only the server's RSA work of one handshake N times, several in
// flight — OAEP decrypt of E, PSS verify of SIG_C, the CA's signature on the client
// certificate, PSS sign of SIG_S, OAEP encrypt of E2 — and reports the same way.
// `--role server|rsa` are the children; `--cache off` disables the validation cache.

import "reflect-metadata";
import process from "node:process";
import { parseArgs } from "node:util";
import { Certificate } from "@peculiar/asn1-x509";
import { AsnConvert } from "@peculiar/asn1-schema";
import { accept, connect } from "../lib/asl/endpoint.ts";
import { validateChain } from "../lib/pki/validate.ts";
import { vectorCredentials, vectorTrust } from "../tests/helpers/asl.ts";

const { values } = parseArgs({
  options: {
    role: { type: "string", default: "driver" },
    n: { type: "string", default: "400" },
    warmup: { type: "string", default: "40" },
    concurrency: { type: "string", default: "8" },
    cache: { type: "string", default: "on" },
  },
});
const N = Number(values.n);
const WARMUP = Number(values.warmup);
const CONCURRENCY = Number(values.concurrency);

const encoder = new TextEncoder();
const print = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Runs `total` tasks with at most `width` in flight. */
async function inFlight(total: number, width: number, task: (i: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < total) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, total) }, worker));
}

/** Reads stdin lines and answers `cpu` with the process's CPU time; `quit` exits. */
async function serveCommands(onQuit: () => void) {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of Deno.stdin.readable) {
    buffered += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = buffered.indexOf("\n")) >= 0) {
      const command = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      if (command === "cpu") print(`CPU ${cpuMicros()}`);
      if (command === "quit") return onQuit();
    }
  }
}

async function roleServer() {
  const credentials = await vectorCredentials("server");
  const trust = await vectorTrust();
  const internals = values.cache === "off" ? { validate: validateChain } : {};
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  print(`PORT ${listener.addr.port}`);
  const loop = (async () => {
    for await (const conn of listener) {
      accept(conn, { credentials, trust }, internals).then(async (session) => {
        for await (const _ of session) { /* discard */ }
      }).catch(() => {});
    }
  })().catch(() => {});
  await serveCommands(() => listener.close());
  await loop;
  Deno.exit(0);
}

async function roleRsa() {
  const server = await vectorCredentials("server");
  const client = await vectorCredentials("client");
  const trust = await vectorTrust();
  const spkiOf = async (der: Uint8Array) =>
    (await validateChain([der], trust, { purpose: der === server.chain[0] ? "server" : "client" }))
      .leafSpki as Uint8Array<ArrayBuffer>;
  const importPub = (spki: Uint8Array<ArrayBuffer>, name: string, usage: KeyUsage) =>
    crypto.subtle.importKey("spki", spki, { name, hash: "SHA-256" }, false, [usage]);
  const clientSpki = await spkiOf(client.chain[0]!);
  const serverSpki = await spkiOf(server.chain[0]!);
  const caSpki = AsnConvert.serialize(
    AsnConvert.parse(trust.anchors[0]!, Certificate).tbsCertificate.subjectPublicKeyInfo,
  );
  const caKey = await crypto.subtle.importKey(
    "spki",
    caSpki,
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const leaf = AsnConvert.parse(client.chain[0]!, Certificate);
  const tbs = new Uint8Array(AsnConvert.serialize(leaf.tbsCertificate));
  const certSig = new Uint8Array(leaf.signatureValue);
  const clientVerify = await importPub(clientSpki, "RSA-PSS", "verify");
  const clientEncrypt = await importPub(clientSpki, "RSA-OAEP", "encrypt");
  const serverEncrypt = await importPub(serverSpki, "RSA-OAEP", "encrypt");
  const PSS = { name: "RSA-PSS", saltLength: 32 };
  const OAEP = { name: "RSA-OAEP" };
  const P = crypto.getRandomValues(new Uint8Array(64));
  const E = await crypto.subtle.encrypt(OAEP, serverEncrypt, P);
  const data = crypto.getRandomValues(new Uint8Array(305));
  const SIG_C = await crypto.subtle.sign(PSS, client.signKey, data);
  const N32 = P.subarray(0, 32);
  const once = async () => {
    const [a, b] = await Promise.all([
      crypto.subtle.verify(PSS, clientVerify, SIG_C, data),
      crypto.subtle.verify("RSASSA-PKCS1-v1_5", caKey, certSig, tbs),
      crypto.subtle.decrypt(OAEP, server.decryptKey, E),
    ]);
    if (!a || !b) throw new Error("verification failed");
    await Promise.all([
      crypto.subtle.encrypt(OAEP, clientEncrypt, N32),
      crypto.subtle.sign(PSS, server.signKey, data),
    ]);
  };
  await inFlight(WARMUP, CONCURRENCY, once);
  const before = cpuMicros();
  const t0 = performance.now();
  await inFlight(N, CONCURRENCY, once);
  print(`RSA ${cpuMicros() - before} ${performance.now() - t0}`);
}

async function* splitLines(text: ReadableStream<string>): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of text) {
    buffered += chunk;
    let at: number;
    while ((at = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
    }
  }
}

interface Child {
  readonly process: Deno.ChildProcess;
  readonly lines: AsyncIterator<string>;
  send(line: string): Promise<void>;
}

function spawn(role: string): Child {
  const args = ["run", "--allow-all", import.meta.filename!, "--role", role];
  args.push("--n", String(N), "--warmup", String(WARMUP), "--concurrency", String(CONCURRENCY));
  args.push("--cache", values.cache!);
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    env: { DENO_NO_UPDATE_CHECK: "1" },
  }).spawn();
  const lines = splitLines(child.stdout.pipeThrough(new TextDecoderStream()));
  const writer = child.stdin.getWriter();
  return {
    process: child,
    lines,
    send: (line) => writer.write(encoder.encode(line + "\n")),
  };
}

async function expectLine(child: Child, prefix: string): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    const { value, done } = await child.lines.next();
    if (done) throw new Error(`child ended before ${prefix}`);
    if (value.startsWith(prefix + " ")) return value.split(" ").slice(1);
  }
  throw new Error(`no ${prefix} line from the child`);
}

async function driver() {
  const credentials = await vectorCredentials("client");
  const trust = await vectorTrust();
  const server = spawn("server");
  let serverMs: number;
  let wallMs: number;
  try {
    const [port] = await expectLine(server, "PORT");
    const handshake = async () => {
      const session = await connect({ hostname: "127.0.0.1", port: Number(port) }, {
        credentials,
        trust,
        serverName: "127.0.0.1",
      });
      await session.close();
    };
    await inFlight(WARMUP, CONCURRENCY, handshake);
    await server.send("cpu");
    const [before] = await expectLine(server, "CPU");
    const t0 = performance.now();
    await inFlight(N, CONCURRENCY, handshake);
    wallMs = performance.now() - t0;
    await server.send("cpu");
    const [after] = await expectLine(server, "CPU");
    serverMs = (Number(after) - Number(before)) / 1000 / N;
    await server.send("quit");
  } finally {
    await server.process.status;
  }
  const rsa = spawn("rsa");
  const [rsaCpu, rsaWall] = await expectLine(rsa, "RSA");
  await rsa.process.status;
  const rsaMs = Number(rsaCpu) / 1000 / N;
  const fmt = (x: number) => x.toFixed(3);
  print(`handshakes: ${N} (concurrency ${CONCURRENCY}, cache ${values.cache})`);
  print(`server CPU per handshake: ${fmt(serverMs)} ms = ${(1000 / serverMs).toFixed(1)}/CPU-s`);
  print(`client wall: ${(N / wallMs * 1000).toFixed(1)} handshakes/s (client-bound here)`);
  print(
    `RSA bound: ${fmt(rsaMs)} ms = ${(1000 / rsaMs).toFixed(1)}/CPU-s ` +
      `(${(N / Number(rsaWall) * 1000).toFixed(1)}/s wall)`,
  );
  print(`non-RSA server CPU: ${fmt(serverMs - rsaMs)} ms; ${(rsaMs / serverMs * 100).toFixed(1)}% of bound`);
}

if (import.meta.main) {
  if (values.role === "server") await roleServer();
  else if (values.role === "rsa") await roleRsa();
  else await driver();
}
