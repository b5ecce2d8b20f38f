// Server CPU per ASL handshake (spec section 2, M1–M7) against the bound set by the runtime's
// public-key speed (issue #6, #12). Not a `deno bench` file: run it directly,
//   deno task bench:handshake [--suite X25519_AES_GCM] [--n 400] [--concurrency 8] [--rounds 3]
//     [--warmup 40] [--cache off] [--threads] [--prof DIR] [--role logic]
// `--suite` (default X25519_AES_GCM) is the one suite the client offers and the server accepts.
// The server (lib/asl `accept` on the vectors' credentials) runs in a CHILD process started with
// tools/harness.ts, so the client's own work is not counted; this process runs N handshakes over
// loopback TCP and reads the child's CPU time (all threads) before and after.
// The bound is the suite's public-key work of one handshake (tools/load/rsa_bound.ts, the load
// tool's code, on the vectors' keys) done N times in a fresh child of its own. Each round also measures two
// reference servers: the socket floor (the handshake's socket work, no crypto) and "floor +
// public-key calls" (the same plus exactly the server's WebCrypto public-key calls, nothing else)
// — the most any ASL server could reach against the bound on this machine.
// `--cache off` disables the validation cache; `--threads` adds per-thread CPU ticks; `--prof DIR`
// writes a V8 CPU profile of the server child into DIR; `--role logic` measures the server's
// handshake logic alone (recorded vector messages, no sockets). `--role
// server|floor|floor-rsa|bound` are the children.

import "reflect-metadata";
import { parseArgs } from "node:util";
import { Certificate } from "@peculiar/asn1-x509";
import { AsnConvert } from "@peculiar/asn1-schema";
import { accept, connect } from "../lib/asl/endpoint.ts";
import { FrameParser, FrameReader } from "../lib/asl/framing.ts";
import { ServerHandshake } from "../lib/asl/handshake_server.ts";
import { ValidationCache } from "../lib/pki/validation_cache.ts";
import { closeQuietly, prepareConn, writeAll } from "../lib/asl/transport.ts";
import { validateChain } from "../lib/pki/validate.ts";
import { parseSuiteList } from "../lib/asl/suites.ts";
import { ephemeralFromPrivateKey } from "../lib/asl/kx_x25519.ts";
import type { Suite } from "../lib/asl/types.ts";
import { type Child, LISTEN_LINE, spawnChild } from "../tools/harness.ts";
import { parseStatCpuTicks, readCpuSeconds, readProcText } from "../tools/load/proc.ts";
import {
  driveUnits,
  handshakeUnit,
  type Op,
  prepareServerWork,
  type ServerWork,
} from "../tools/load/rsa_bound.ts";
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
const run = (unit: Op, total: number) => driveUnits(unit, CONCURRENCY, Infinity, total);

/** CPU seconds of thread `tid` of process `pid` (clock ticks of 10 ms: coarse). */
const threadCpuSeconds = (pid: number, tid = pid) =>
  parseStatCpuTicks(readProcText(`/proc/${pid}/task/${tid}/stat`)) / 100;

/** CPU ticks (10 ms) per thread name of process `pid`, e.g. `tokio-runtime-w`. */
function threadTicks(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  const cat = new Deno.Command("sh", {
    args: ["-c", `cat /proc/${pid}/task/*/stat`],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  for (const stat of new TextDecoder().decode(cat.stdout).split("\n")) {
    if (stat === "") continue;
    const name = stat.startsWith(`${pid} `)
      ? "main"
      : stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    out.set(name, (out.get(name) ?? 0) + parseStatCpuTicks(stat));
  }
  return out;
}

/** Per-thread CPU ticks and main-thread wake-ups of `pid` since `before`, as one line. */
function threadDelta(pid: number, before: Map<string, number>, switches0: number): string {
  const delta = [...threadTicks(pid)].map(([name, t]) => `${name}=${t - (before.get(name) ?? 0)}`);
  delta.push(`main-wakeups=${voluntarySwitches(pid) - switches0}`);
  return delta.join(" ");
}

const voluntarySwitches = (pid: number) =>
  Number(
    /voluntary_ctxt_switches:\s+(\d+)/.exec(readProcText(`/proc/${pid}/task/${pid}/status`))
      ?.[1] ?? 0,
  );

/** Listens on 127.0.0.1 port 0, announces it as server.ts does, and serves until SIGTERM. */
async function listen(handle: (conn: Deno.TcpConn) => Promise<unknown>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0)); // exits cleanly: --prof writes
  Deno.addSignalListener("SIGUSR1", () => print(`CPU ${readCpuSeconds("self")}`));
  print(`listening addr=127.0.0.1:${listener.addr.port}`);
  for await (const conn of listener) handle(conn).catch(() => {});
}

/** Role `server`: lib/asl's accept with the vectors' server credentials, sessions drained. */
async function roleServer() {
  const credentials = await vectorCredentials("server");
  const trust = await vectorTrust();
  const internals = values.cache === "off" ? { validate: validateChain } : {};
  await listen(async (conn) => {
    const session = await accept(conn, { credentials, trust, suites: [SUITE] }, internals);
    for await (const _ of session) { /* discard */ }
  });
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
  const steps: (Op | undefined)[] = work
    ? [
      undefined,
      async () => {
        if (values.cache === "off") await work.verifyCertificate();
        await work.afterM3();
      },
      work.afterM5,
    ]
    : [];
  await listen(async (conn) => {
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
  });
}

/**
 * The server's handshake logic alone, no sockets: N ServerHandshakes fed the recorded vector
 * messages M1, M3, M5, M7 (server_random forced so the recorded M5 verifies), several in flight.
 */
async function roleLogic() {
  const v = await recorded();
  const ephemeral = v.d_S === undefined
    ? undefined
    : await ephemeralFromPrivateKey(Uint8Array.fromHex(v.d_S));
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
  await run(once, WARMUP);
  const main0 = threadCpuSeconds(Deno.pid);
  const r = await run(once, N);
  print(
    `handshake logic alone (${SUITE}, no sockets): ${(r.cpu * 1000 / N).toFixed(3)} ms CPU, ` +
      `main thread ${
        ((threadCpuSeconds(Deno.pid) - main0) * 1000 / N).toFixed(3)
      } ms per handshake`,
  );
}

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

/** The bound in ms of CPU per handshake: the server's public-key work (CA signature included). */
async function measureBound(): Promise<number> {
  const unit = handshakeUnit(await serverWork());
  await run(unit, WARMUP);
  const main0 = threadCpuSeconds(Deno.pid);
  const r = await run(unit, N);
  if (values.threads) {
    const main = (threadCpuSeconds(Deno.pid) - main0) * 1000 / N;
    print(`bound main thread: ${main.toFixed(3)} ms`);
  }
  return r.cpu * 1000 / N;
}

/**
 * The bound measured in a fresh child (role `bound`), as the server is: in this process it
 * would also pay for the driver's garbage and read about 5 % dearer (seen 2026-12-04).
 */
async function boundInChild(): Promise<number> {
  const args = ["--role", "bound", "--suite", SUITE, "--n", String(N), "--warmup", String(WARMUP)];
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      import.meta.filename!,
      ...args,
      ...(values.threads ? ["--threads"] : []),
    ],
    stderr: "inherit",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  const bound = Number(lines.find((l) => l.startsWith("BOUND "))?.slice(6));
  if (!out.success || !(bound > 0)) throw new Error("the bound child gave no figure");
  for (const line of lines) if (!line.startsWith("BOUND ")) print(line);
  return bound;
}

/** Starts a server child (role `server`, `floor` or `floor-rsa`) through tools/harness.ts. */
function spawnRole(role: "server" | "floor" | "floor-rsa"): Promise<Child> {
  const flags: string[] = [];
  if (values.prof && role === "server") {
    flags.push("--cpu-prof", `--cpu-prof-dir=${values.prof}`, "--cpu-prof-interval=200");
  }
  const v8 = Deno.env.get("ASL_BENCH_V8_FLAGS");
  if (v8 && role === "server") flags.push(`--v8-flags=${v8}`);
  const args = ["--role", role, "--cache", values.cache!, "--suite", SUITE];
  return spawnChild({
    cmd: [Deno.execPath(), "run", "--allow-all", ...flags, import.meta.filename!, ...args],
    ready: LISTEN_LINE,
  });
}

/**
 * A child's CPU seconds, all threads, from its own process.cpuUsage (µs, where /proc counts
 * 10 ms ticks): it prints a `CPU` line on SIGUSR1.
 */
async function childCpuSeconds(child: Child): Promise<number> {
  const cpuLines = () => child.output().filter((line) => line.startsWith("CPU "));
  const seen = cpuLines().length;
  child.kill("SIGUSR1");
  for (let waited = 0; waited < 10_000; waited++) {
    const lines = cpuLines();
    if (lines.length > seen) return Number(lines.at(-1)!.slice(4));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`the ${child.pid} child did not report its CPU time`);
}

interface ServerRound {
  /** Server CPU per handshake, all threads, ms. */
  readonly totalMs: number;
  /** Server main-thread CPU per handshake, ms. */
  readonly mainMs: number;
}

async function measureServer(role: "server" | "floor" | "floor-rsa"): Promise<ServerRound> {
  const credentials = await vectorCredentials("client");
  const trust = await vectorTrust();
  const m = await vectorMessages();
  const server = await spawnRole(role);
  try {
    const address = { hostname: "127.0.0.1", port: server.port };
    const handshake = role === "server"
      ? async () => {
        const options = { credentials, trust, serverName: "127.0.0.1", suites: [SUITE] };
        await (await connect(address, options)).close();
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
    await run(handshake, WARMUP);
    const ticks0 = threadTicks(server.pid);
    const switches0 = voluntarySwitches(server.pid);
    const cpu0 = await childCpuSeconds(server);
    const main0 = threadCpuSeconds(server.pid);
    await run(handshake, N);
    const cpu = await childCpuSeconds(server) - cpu0;
    const main = threadCpuSeconds(server.pid) - main0;
    if (values.threads) {
      print(`server thread ticks: ${threadDelta(server.pid, ticks0, switches0)}`);
    }
    return { totalMs: cpu * 1000 / N, mainMs: main * 1000 / N };
  } finally {
    await server.stop();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function driver() {
  const rounds: { s: ServerRound; b: number; fl: ServerRound; fw: ServerRound }[] = [];
  const f = (x: number) => x.toFixed(3);
  print(
    `${SUITE}: ${N} handshakes per round, concurrency ${CONCURRENCY}, cache ${values.cache}`,
  );
  for (let r = 0; r < Number(values.rounds); r++) {
    // Interleaved, so all see the same machine load.
    const s = await measureServer("server");
    const b = await boundInChild();
    const fl = await measureServer("floor");
    const fw = await measureServer("floor-rsa");
    rounds.push({ s, b, fl, fw });
    print(
      `round ${r + 1}: server ${f(s.totalMs)} ms/handshake (main thread ${f(s.mainMs)}), ` +
        `${SUITE} bound ${f(b)} ms, ${(b / s.totalMs * 100).toFixed(1)}% of bound; ` +
        `socket floor ${f(fl.totalMs)} ms; floor + public-key calls ${f(fw.totalMs)} ms ` +
        `(main thread ${f(fw.mainMs)})`,
    );
  }
  const med = (of: (r: typeof rounds[number]) => number) => median(rounds.map(of));
  const total = med((r) => r.s.totalMs);
  const bound = med((r) => r.b);
  print(`median server CPU per handshake: ${f(total)} ms = ${(1000 / total).toFixed(1)}/CPU-s`);
  print(`median server main-thread CPU per handshake: ${f(med((r) => r.s.mainMs))} ms`);
  print(`median ${SUITE} bound: ${f(bound)} ms = ${(1000 / bound).toFixed(1)}/CPU-s`);
  const fl = med((r) => r.fl.totalMs);
  print(`median socket floor (no crypto): ${f(fl)} ms per handshake`);
  print(`server at ${(bound / total * 100).toFixed(1)}% of the ${SUITE} bound`);
  const fw = med((r) => r.fw.totalMs);
  print(
    `floor + public-key calls, nothing else (no parsing, hashing, key schedule or session): ` +
      `${f(fw)} ms (main thread ${f(med((r) => r.fw.mainMs))}) = ` +
      `${(bound / fw * 100).toFixed(1)}% of the bound: the most any server could reach here`,
  );
  print(
    `bound + socket floor would be ${(bound / (bound + fl) * 100).toFixed(1)}% of the bound; ` +
      `the rest (${f(total - bound - fl)} ms) is handshake and session logic`,
  );
}

if (import.meta.main) {
  const roles: Record<string, () => Promise<void>> = {
    server: roleServer,
    floor: () => roleFloor(),
    "floor-rsa": async () => roleFloor(await serverWork()),
    logic: roleLogic,
    bound: async () => void print(`BOUND ${await measureBound()}`),
    driver,
  };
  const role = roles[values.role];
  if (role === undefined) {
    Deno.stderr.writeSync(encoder.encode(`bench:handshake: --role: unknown ${values.role}\n`));
    Deno.exit(2);
  }
  await role();
}
