// Server CPU per ASL handshake (spec section 2, M1–M7) against the bound set by the runtime's
// public-key speed (issue #6, #12). Not a `deno bench` file: run it directly,
//   deno task bench:handshake [--suite X25519_AES_GCM] [--n 400] [--concurrency 8]
// `--suite` (default X25519_AES_GCM, the default suite) is the one suite the client offers and
// the server accepts. It starts the server in a CHILD process (so the client's own work is not
// counted), runs N handshakes from this process over loopback TCP and reads the child's CPU
// time (user + system, all threads: process.cpuUsage) before and after. Then it starts a
// second child that performs only the server's public-key work of one handshake N times,
// several in flight, and reports the same way (the suite's bound):
// - AES_GCM / AES_CBC: the CA's signature on the client certificate (PKCS#1 v1.5), PSS verify of
//   SIG_C, OAEP decrypt of E, then PSS sign of SIG_S and OAEP encrypt of E2;
// - X25519_AES_GCM: the CA's signature, an X25519 key pair for Q_S, PSS verify of SIG_C, K
//   (import Q_C + deriveBits), PSS sign of SIG_S — no RSA-OAEP.
// `--role server|bound` are the children; `--cache off` disables the validation cache;
// `--prof DIR` writes a V8 CPU profile of the server child into DIR; `--role logic` measures
// the server's handshake logic alone (recorded vector messages, no sockets). Each round also
// measures two reference servers: the socket floor (the handshake's socket work, no crypto) and
// "floor + public-key calls" (the same plus exactly the server's WebCrypto public-key calls,
// nothing else) — the most any ASL server could reach against the bound on this machine.

import "reflect-metadata";
import process from "node:process";
import { parseArgs } from "node:util";
import { Certificate } from "@peculiar/asn1-x509";
import { AsnConvert } from "@peculiar/asn1-schema";
import { accept, connect } from "../lib/asl/endpoint.ts";
import { FrameParser, FrameReader } from "../lib/asl/framing.ts";
import { ServerHandshake } from "../lib/asl/handshake_server.ts";
import { ValidationCache } from "../lib/pki/validation_cache.ts";
import { closeQuietly, prepareConn, writeAll } from "../lib/asl/transport.ts";
import { validateChain } from "../lib/pki/validate.ts";
import type { Credentials, TrustStore } from "../lib/pki/types.ts";
import { parseSuiteList } from "../lib/asl/suites.ts";
import { ephemeralFromPrivateKey } from "../lib/asl/kx_x25519.ts";
import type { Suite } from "../lib/asl/types.ts";
import { prepareServerWork, type ServerWork } from "../tools/load/rsa_bound.ts";
import { readVectorText, vectorCredentials, vectorTrust } from "./fixtures.ts";

const { values } = parseArgs({
  options: {
    role: { type: "string", default: "driver" },
    n: { type: "string", default: "400" },
    warmup: { type: "string", default: "40" },
    concurrency: { type: "string", default: "8" },
    cache: { type: "string", default: "on" },
    prof: { type: "string" },
    rounds: { type: "string", default: "3" },
    threads: { type: "boolean", default: false },
    suite: { type: "string", default: "X25519_AES_GCM" },
  },
});
const suiteList = parseSuiteList(values.suite);
if (typeof suiteList === "string" || suiteList.length !== 1) {
  const why = typeof suiteList === "string" ? suiteList : "give one suite name";
  Deno.stderr.writeSync(new TextEncoder().encode(`bench:handshake: --suite: ${why}\n`));
  Deno.exit(2);
}
/** The one suite the client offers and the server accepts. */
const SUITE: Suite = suiteList[0]!;
const N = Number(values.n);
const WARMUP = Number(values.warmup);
const CONCURRENCY = Number(values.concurrency);

const encoder = new TextEncoder();
const print = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** CPU ticks (10 ms) per thread name of this process, e.g. `tokio-runtime-w`. */
function threadTicks(): Map<string, number> {
  const out = new Map<string, number>();
  for (const task of Deno.readDirSync("/proc/self/task")) {
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/self/task/${task.name}/stat`);
    } catch {
      continue; // the thread ended
    }
    const name = task.name === String(Deno.pid)
      ? "main"
      : stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out.set(name, (out.get(name) ?? 0) + Number(fields[11]) + Number(fields[12]));
  }
  return out;
}
let lastTicks = new Map<string, number>();
let lastSwitches = 0;

/** CPU time of this process's main (JS) thread in µs (clock ticks of 10 ms: coarse). */
function mainThreadMicros(): number {
  const stat = Deno.readTextFileSync(`/proc/self/task/${Deno.pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
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
      if (command === "cpu") print(`CPU ${cpuMicros()} ${mainThreadMicros()}`);
      if (command === "threads") {
        const now = threadTicks();
        const delta = [...now].map(([name, t]) => `${name}=${t - (lastTicks.get(name) ?? 0)}`);
        lastTicks = now;
        const status = Deno.readTextFileSync(`/proc/self/task/${Deno.pid}/status`);
        const switches = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
        delta.push(`main-wakeups=${switches - lastSwitches}`);
        lastSwitches = switches;
        print(`THREADS ${delta.join(" ")}`);
      }
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
      accept(conn, { credentials, trust, suites: [SUITE] }, internals).then(async (session) => {
        for await (const _ of session) { /* discard */ }
      }).catch(() => {});
    }
  })().catch(() => {});
  await serveCommands(() => listener.close());
  await loop;
  Deno.exit(0);
}

/** The parts of a recorded session (asl-session-<suite>.json) this bench uses. */
interface Recorded {
  readonly messages: Record<"M1" | "M2" | "M3" | "M4" | "M5" | "M6" | "M7", string>;
  readonly server_random: string;
  /** The server's X25519 private key (X25519_AES_GCM only). */
  readonly d_S?: string;
}

/** The recorded session of the bench's suite. */
async function recorded(): Promise<Recorded> {
  return JSON.parse(await readVectorText(`asl-session-${SUITE}.json`));
}

/** The seven vector messages, for the floor measurement. */
async function vectorMessages(): Promise<Uint8Array[]> {
  const v = await recorded();
  const steps = ["M1", "M2", "M3", "M4", "M5", "M6", "M7"] as const;
  return steps.map((step) => encoder.encode(v.messages[step]));
}

/**
 * The socket floor: a server that does a handshake's socket work and framing only (accept,
 * TCP_NODELAY, read M1/M3/M5/M7, write canned M2/M4/M6, read to the end, close), no crypto.
 * With `work` (role `floor-rsa`) it also does the server's public-key calls where the server
 * does them: after M3 the CA signature (only with `--cache off`: a cache hit skips it) and, for
 * X25519_AES_GCM, Q_S's key pair; after M5 the suite's M5/M6 work (SIG_C and E, then E2 and
 * SIG_S; or SIG_C, K, SIG_S). Nothing else: no parsing, hashing or key schedule.
 */
async function roleFloor(work?: ServerWork) {
  const m = await vectorMessages();
  const steps: ((() => Promise<unknown>) | undefined)[] = work
    ? [
      undefined,
      async () => {
        if (values.cache === "off") await work.verifyCertificate();
        await work.afterM3();
      },
      work.afterM5,
    ]
    : [];
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  print(`PORT ${listener.addr.port}`);
  const loop = (async () => {
    for await (const conn of listener) {
      (async () => {
        prepareConn(conn);
        const reader = new FrameReader(conn);
        try {
          for (const [i, reply] of [m[1]!, m[3]!, m[5]!].entries()) {
            if (await reader.next() === null) return;
            await steps[i]?.();
            await writeAll(conn, reply);
          }
          await reader.next(); // M7
          while (await reader.readChunk() !== null) { /* until the client closes */ }
        } finally {
          closeQuietly(conn);
        }
      })().catch(() => {});
    }
  })().catch(() => {});
  await serveCommands(() => listener.close());
  await loop;
  Deno.exit(0);
}

/**
 * The server's handshake logic alone, no sockets: N ServerHandshakes fed the recorded vector
 * messages M1, M3, M5, M7 (server_random forced so the recorded M5 verifies), several in flight.
 */
async function roleLogic() {
  const v = await recorded();
  const ephemeral = v.d_S === undefined ? undefined : await ephemeralFromPrivateKey(hex(v.d_S));
  const credentials = await vectorCredentials("server");
  const trust = await vectorTrust();
  const frames = (["M1", "M3", "M5", "M7"] as const).map((step) => {
    const parser = new FrameParser();
    parser.push(encoder.encode(v.messages[step]));
    return parser.next()!;
  });
  const validate = values.cache === "off" ? validateChain : new ValidationCache();
  const once = async () => {
    const server = new ServerHandshake({
      credentials,
      trust,
      validate,
      suites: [SUITE],
      random: () => Uint8Array.fromHex(v.server_random),
      ...(ephemeral !== undefined ? { ephemeral: () => Promise.resolve(ephemeral) } : {}),
    });
    for (const frame of frames) await server.receive(frame);
  };
  await inFlight(WARMUP, CONCURRENCY, once);
  const before = cpuMicros();
  const mainBefore = mainThreadMicros();
  await inFlight(N, CONCURRENCY, once);
  print(`LOGIC ${cpuMicros() - before} ${mainThreadMicros() - mainBefore}`);
}

const hex = (text: string) => Uint8Array.fromHex(text);

/** The server's public-key work of one handshake with SUITE on the vectors' keys (rsa_bound.ts). */
async function serverWork(): Promise<ServerWork> {
  const server = await vectorCredentials("server");
  const client = await vectorCredentials("client");
  const trust = await vectorTrust();
  const spkiOf = async (der: Uint8Array, purpose: "server" | "client") =>
    (await validateChain([der], trust, { purpose })).leafSpki as Uint8Array<ArrayBuffer>;
  const importPub = async (der: Uint8Array, purpose: "server" | "client", name: string) =>
    crypto.subtle.importKey("spki", await spkiOf(der, purpose), { name, hash: "SHA-256" }, false, [
      name === "RSA-PSS" ? "verify" : "encrypt",
    ]);
  const caSpki = AsnConvert.serialize(
    AsnConvert.parse(trust.anchors[0]!, Certificate).tbsCertificate.subjectPublicKeyInfo,
  );
  const leaf = AsnConvert.parse(client.chain[0]!, Certificate);
  return await prepareServerWork(SUITE, {
    caVerify: await crypto.subtle.importKey(
      "spki",
      caSpki,
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      false,
      ["verify"],
    ),
    tbs: new Uint8Array(AsnConvert.serialize(leaf.tbsCertificate)),
    certSig: new Uint8Array(leaf.signatureValue),
    clientSign: client.signKey,
    clientVerify: await importPub(client.chain[0]!, "client", "RSA-PSS"),
    clientEncrypt: await importPub(client.chain[0]!, "client", "RSA-OAEP"),
    serverSign: server.signKey,
    serverDecrypt: server.decryptKey,
    serverEncrypt: await importPub(server.chain[0]!, "server", "RSA-OAEP"),
  });
}

/** The bound: the server's public-key work of one handshake (CA signature included), N times. */
async function roleBound() {
  const work = await serverWork();
  const once = async () => {
    await Promise.all([work.verifyCertificate(), work.afterM3()]);
    await work.afterM5();
  };
  await inFlight(WARMUP, CONCURRENCY, once);
  const before = cpuMicros();
  const mainBefore = mainThreadMicros();
  const t0 = performance.now();
  await inFlight(N, CONCURRENCY, once);
  print(
    `BOUND ${cpuMicros() - before} ${performance.now() - t0} ${mainThreadMicros() - mainBefore}`,
  );
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

function spawn(name: string): Child {
  const role = name === "logic" ? "logic-child" : name;
  const args = ["run", "--allow-all"];
  if (values.prof && role === "server") {
    args.push("--cpu-prof", `--cpu-prof-dir=${values.prof}`, "--cpu-prof-interval=200");
  }
  if (Deno.env.get("ASL_BENCH_V8_FLAGS") && role === "server") {
    args.push(`--v8-flags=${Deno.env.get("ASL_BENCH_V8_FLAGS")}`);
  }
  args.push(import.meta.filename!, "--role", role);
  args.push("--n", String(N), "--warmup", String(WARMUP), "--concurrency", String(CONCURRENCY));
  args.push("--cache", values.cache!, "--rounds", "1", "--suite", SUITE);
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

interface ServerRound {
  /** Server CPU per handshake, all threads, ms. */
  readonly totalMs: number;
  /** Server main-thread CPU per handshake, ms. */
  readonly mainMs: number;
  /** Handshakes per second of wall time (bounded by this client process). */
  readonly rate: number;
}

async function measureServer(
  credentials: Credentials,
  trust: TrustStore,
  role: "server" | "floor" | "floor-rsa",
): Promise<ServerRound> {
  const server = spawn(role);
  const m = await vectorMessages();
  try {
    const [port] = await expectLine(server, "PORT");
    const address = { hostname: "127.0.0.1", port: Number(port) };
    const handshake = role === "server"
      ? async () => {
        const options = { credentials, trust, serverName: "127.0.0.1", suites: [SUITE] };
        const session = await connect(address, options);
        await session.close();
      }
      : async () => {
        const conn = await Deno.connect(address);
        prepareConn(conn);
        const reader = new FrameReader(conn);
        try {
          for (const message of [m[0]!, m[2]!, m[4]!]) {
            await writeAll(conn, message);
            await reader.next();
          }
          await writeAll(conn, m[6]!);
        } finally {
          closeQuietly(conn);
        }
      };
    await inFlight(WARMUP, CONCURRENCY, handshake);
    await server.send("threads");
    await expectLine(server, "THREADS");
    await server.send("cpu");
    const before = (await expectLine(server, "CPU")).map(Number);
    const t0 = performance.now();
    await inFlight(N, CONCURRENCY, handshake);
    const wallMs = performance.now() - t0;
    await server.send("cpu");
    const after = (await expectLine(server, "CPU")).map(Number);
    await server.send("threads");
    if (values.threads) {
      print(`server thread ticks: ${(await expectLine(server, "THREADS")).join(" ")}`);
    } else await expectLine(server, "THREADS");
    await server.send("quit");
    return {
      totalMs: (after[0]! - before[0]!) / 1000 / N,
      mainMs: (after[1]! - before[1]!) / 1000 / N,
      rate: N / wallMs * 1000,
    };
  } finally {
    await server.process.status;
  }
}

async function measureBound(): Promise<number> {
  const child = spawn("bound");
  const [cpu, _wall, main] = await expectLine(child, "BOUND");
  await child.process.status;
  if (values.threads) print(`bound child main thread: ${(Number(main) / 1000 / N).toFixed(3)} ms`);
  return Number(cpu) / 1000 / N;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function driver() {
  const credentials = await vectorCredentials("client");
  const trust = await vectorTrust();
  const rounds = Number(values.rounds);
  const server: ServerRound[] = [];
  const floor: ServerRound[] = [];
  const floorWork: ServerRound[] = [];
  const bounds: number[] = [];
  const f = (x: number) => x.toFixed(3);
  print(
    `${SUITE}: ${N} handshakes per round, concurrency ${CONCURRENCY}, cache ${values.cache}`,
  );
  for (let r = 0; r < rounds; r++) {
    // Interleaved, so both see the same machine load.
    const s = await measureServer(credentials, trust, "server");
    const b = await measureBound();
    const fl = await measureServer(credentials, trust, "floor");
    const fw = await measureServer(credentials, trust, "floor-rsa");
    server.push(s);
    bounds.push(b);
    floor.push(fl);
    floorWork.push(fw);
    print(
      `round ${r + 1}: server ${f(s.totalMs)} ms/handshake (main thread ${f(s.mainMs)}), ` +
        `${SUITE} bound ${f(b)} ms, ${(b / s.totalMs * 100).toFixed(1)}% of bound; ` +
        `socket floor ${f(fl.totalMs)} ms; floor + public-key calls ${f(fw.totalMs)} ms ` +
        `(main thread ${f(fw.mainMs)})`,
    );
  }
  const total = median(server.map((s) => s.totalMs));
  const main = median(server.map((s) => s.mainMs));
  const bound = median(bounds);
  print(`median server CPU per handshake: ${f(total)} ms = ${(1000 / total).toFixed(1)}/CPU-s`);
  print(`median server main-thread CPU per handshake: ${f(main)} ms`);
  print(`median ${SUITE} bound: ${f(bound)} ms = ${(1000 / bound).toFixed(1)}/CPU-s`);
  const fl = median(floor.map((s) => s.totalMs));
  print(`median socket floor (no crypto): ${f(fl)} ms per handshake`);
  print(`server at ${(bound / total * 100).toFixed(1)}% of the ${SUITE} bound`);
  const fw = median(floorWork.map((s) => s.totalMs));
  print(
    `floor + public-key calls, nothing else (no parsing, hashing, key schedule or session): ` +
      `${f(fw)} ms (main thread ${f(median(floorWork.map((s) => s.mainMs)))}) = ` +
      `${(bound / fw * 100).toFixed(1)}% of the bound: the most any server could reach here`,
  );
  print(
    `bound + socket floor would be ${(bound / (bound + fl) * 100).toFixed(1)}% of the bound; ` +
      `the rest (${f(total - bound - fl)} ms) is handshake and session logic`,
  );
}

if (import.meta.main) {
  if (values.role === "server") await roleServer();
  else if (values.role === "bound") await roleBound();
  else if (values.role === "floor") await roleFloor();
  else if (values.role === "floor-rsa") await roleFloor(await serverWork());
  else if (values.role === "logic") {
    const child = spawn("logic");
    const [total, main] = (await expectLine(child, "LOGIC")).map(Number);
    await child.process.status;
    print(
      `handshake logic alone (${SUITE}, no sockets): ${(total! / 1000 / N).toFixed(3)} ms CPU, ` +
        `main thread ${(main! / 1000 / N).toFixed(3)} ms per handshake`,
    );
  } else if (values.role === "logic-child") await roleLogic();
  else await driver();
}
