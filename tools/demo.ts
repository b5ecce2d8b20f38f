// `deno task demo`: the README's first command. Makes a throwaway PKI in a temporary
// directory, starts a server on a free loopback port, connects alice, bob and carol, shows
// the seven ASL handshake steps of one connection (names and sizes, never secrets; spec
// section 2), a 1:1 and a group message with their acks (section 5), and a message to an
// offline user delivered when that user connects. Cleans up and exits 0.

import { formatTraceEvent } from "../lib/asl/mod.ts";
import type { HandshakeTraceEvent } from "../lib/asl/types.ts";
import {
  connect,
  type IncomingMessage,
  initPki,
  issueUser,
  loadCredentials,
  loadTrustStore,
  type MessengerClient,
  serve,
  type TrustStore,
} from "../mod.ts";

const encoder = new TextEncoder();
const b64 = (text: string) => encoder.encode(text).toBase64();

/** Where the demo writes its lines. */
export type Write = (line: string) => void;

async function next(client: MessengerClient): Promise<IncomingMessage> {
  const result = await client.messages().next();
  if (result.done) throw new Error("the client closed before a message arrived");
  return result.value;
}

/** Runs the whole demo, writing its story through `write`. */
export async function runDemo(write: Write): Promise<void> {
  const started = performance.now();
  const dir = await Deno.makeTempDir({ prefix: "netsec-demo-" });
  const clients: MessengerClient[] = [];
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  try {
    write("== 1. A throwaway PKI in " + dir);
    const certs = `${dir}/certs`;
    await initPki({ dir: certs });
    for (const user of ["alice", "bob", "carol"]) await issueUser({ dir: certs, userId: user });
    write(
      "   CA, server (localhost, 127.0.0.1, ::1), alice, bob, carol: RSA-2048, signed by the CA",
    );
    const trust: TrustStore = await loadTrustStore(`${certs}/ca.pem`);
    const creds = (name: string) => loadCredentials(`${certs}/${name}.pem`, `${certs}/${name}.key`);

    server = await serve({
      hostname: "127.0.0.1",
      port: 0,
      credentials: await creds("server"),
      trust,
      dataPath: `${dir}/messages.db`,
    });
    const port = server.addr.port;
    write(`== 2. Server listening on 127.0.0.1:${port}`);

    const join = async (user: string, trace?: (e: HandshakeTraceEvent) => void) => {
      const client = await connect({
        user,
        hostname: "localhost",
        port,
        credentials: await creds(user),
        trust,
        ...(trace ? { trace } : {}),
      });
      clients.push(client);
      return client;
    };

    write("== 3. alice connects: the seven ASL handshake messages (as alice sees them)");
    const steps: HandshakeTraceEvent[] = [];
    const alice = await join("alice", (e) => steps.push(e));
    for (const step of steps) write("   " + formatTraceEvent(step));
    write(
      `   secure channel up: ${alice.info.suite}, server certificate SHA-256 ` +
        `${alice.info.serverFingerprint?.slice(0, 23)}…; REGISTER alice → OK alice`,
    );
    write(
      alice.info.suite === "X25519_AES_GCM"
        ? "   forward secret: the session key came from ephemeral X25519 keys that are now gone," +
          " so even a stolen server.key cannot decrypt a recording of this session"
        : "   not forward secret: the session key travelled under the server's RSA key",
    );
    const bob = await join("bob");
    const carol = await join("carol");
    write("   bob and carol connect and register the same way");

    write("== 4. A 1:1 message: alice → bob");
    const one = await alice.send("bob", "hello bob");
    write(`   alice → server  MESSAGE ${one.id} bob ${b64("hello bob")}`);
    write(`   server → alice  OK ${one.id}   (stored durably for bob)`);
    const m1 = await next(bob);
    write(`   server → bob    MESSAGE ${m1.sid} ${m1.from} ${b64(m1.text)}`);
    write(`   bob shows       [${hhmm(m1.receivedAt)}] ${m1.from}: ${m1.text}`);
    const m1b = next(bob); // pulling again acknowledges m1
    write(`   bob → server    OK ${m1.sid}   (acknowledged after it was shown)`);

    write("== 5. A group message: alice → {bob,carol}");
    const group = await alice.send(["bob", "carol"], "lunch at noon?");
    write(`   alice → server  MESSAGE ${group.id} {bob,carol} ${b64("lunch at noon?")}`);
    write(`   server → alice  OK ${group.id}`);
    for (const [name, pending] of [["bob", m1b], ["carol", next(carol)]] as const) {
      const m = await pending;
      write(`   server → ${name.padEnd(7)}MESSAGE ${m.sid} ${m.from} …   ${name} shows: ${m.text}`);
    }
    write("   bob and carol each answer OK <sid> once they have shown it");

    write("== 6. carol goes offline; alice writes to her anyway");
    await carol.close();
    const offline = await alice.send("carol", "see you tomorrow");
    write(`   server → alice  OK ${offline.id}   (queued for carol, who is offline)`);
    const carolAgain = await join("carol");
    write("   carol reconnects: handshake, REGISTER carol → OK carol, then her queue:");
    const m3 = await next(carolAgain);
    write(`   server → carol  MESSAGE ${m3.sid} ${m3.from} …   carol shows: ${m3.text}`);

    write(`== Done in ${((performance.now() - started) / 1000).toFixed(1)} s; cleaning up`);
  } finally {
    for (const client of clients) await client.close();
    await server?.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function hhmm(date: Date): string {
  return `${String(date.getHours()).padStart(2, "0")}:${
    String(date.getMinutes()).padStart(2, "0")
  }`;
}

if (import.meta.main) {
  const write: Write = (line) => Deno.stdout.writeSync(encoder.encode(line + "\n"));
  try {
    await runDemo(write);
    Deno.exit(0);
  } catch (err) {
    Deno.stderr.writeSync(encoder.encode(`demo failed: ${(err as Error).message}\n`));
    Deno.exit(1);
  }
}
