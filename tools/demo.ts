// `deno task demo`: the README's first command. Makes a throwaway PKI in a temporary
// directory, starts a server on a free loopback port, connects alice, bob and carol, shows
// the seven ASL handshake steps of one connection (names and sizes, never secrets; spec
// section 2), a 1:1 and a group message with their acks (section 5), sealed end to end
// (section 7), a message to an offline user delivered when that user connects, what the
// server's database holds of a sealed message (an opaque envelope) and what happens when the
// server tampers with it (the recipient refuses it with BAD_SEAL and is warned). Cleans up
// and exits 0.

import { DatabaseSync } from "node:sqlite";

import { formatTraceEvent } from "../lib/asl/mod.ts";
import type { HandshakeTraceEvent } from "../lib/asl/types.ts";
import {
  type ClientEvent,
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

    const dbPath = `${dir}/messages.db`;
    /** The newest stored row for `recipient`, read straight from the server's SQLite file. */
    const storedRow = (recipient: string) => {
      const db = new DatabaseSync(dbPath, { readOnly: true });
      try {
        return db.prepare(
          "SELECT sid, sender, payload FROM queue WHERE recipient = ? ORDER BY sid DESC LIMIT 1",
        ).get(recipient) as { sid: number; sender: string; payload: string } | undefined;
      } finally {
        db.close();
      }
    };
    const short = (payload: string) => `${payload.slice(0, 24)}…(${payload.length} chars)`;

    const join = async (
      user: string,
      trace?: (e: HandshakeTraceEvent) => void,
      onEvent?: (e: ClientEvent) => void,
    ) => {
      const client = await connect({
        user,
        hostname: "localhost",
        port,
        credentials: await creds(user),
        trust,
        ...(trace ? { trace } : {}),
        ...(onEvent ? { onEvent } : {}),
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

    write("== 4. A 1:1 message: alice → bob, sealed end to end (only bob can read it)");
    const one = await alice.send("bob", "hello bob");
    const row1 = storedRow("bob");
    write(`   alice → server  MESSAGE ${one.id} bob ${short(row1?.payload ?? "")}`);
    write(`   server → alice  OK ${one.id}   (stored durably for bob)`);
    const m1 = await next(bob);
    write(`   server → bob    MESSAGE ${m1.sid} ${m1.from} ${short(row1?.payload ?? "")}`);
    write(
      `   bob shows       [${hhmm(m1.receivedAt)}] ${m1.sealed ? "🔒" : "[NOT SEALED]"} ` +
        `${m1.from}: ${m1.text}`,
    );
    write(
      `   🔒: bob opened it with his key and checked alice's signature (certificate ` +
        `${m1.senderFingerprint?.slice(0, 12)}…, pinned on first use)`,
    );
    const m1b = next(bob); // pulling again acknowledges m1
    write(`   bob → server    OK ${m1.sid}   (acknowledged after it was shown)`);

    write("== 5. A group message: alice → {bob,carol}");
    const group = await alice.send(["bob", "carol"], "lunch at noon?");
    write(
      `   alice → server  MESSAGE ${group.id} {bob,carol} ${
        short(storedRow("carol")?.payload ?? "")
      }`,
    );
    write("   one envelope: the text sealed once, its key wrapped for bob and for carol");
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

    write("== 7. What the server stores, and a server that tampers");
    await carolAgain.close();
    const secret = "the door code is 4711";
    await alice.send("carol", secret);
    const row = storedRow("carol");
    if (row === undefined) throw new Error("the message to carol is not in the database");
    write(`   the row in ${dbPath.slice(dir.length + 1)}: sid ${row.sid}, from ${row.sender},`);
    write(`   payload ${row.payload.slice(0, 60)}…`);
    const files = [dbPath, `${dbPath}-wal`].flatMap((f) => {
      try {
        return [new TextDecoder().decode(Deno.readFileSync(f))];
      } catch {
        return [];
      }
    });
    const b64Secret = encoder.encode(secret).toBase64();
    const plainInDb = files.some((text) => text.includes(secret) || text.includes(b64Secret));
    write(
      `   an opaque envelope of ${row.payload.length} base64 characters; the text is in the ` +
        `database: ${plainInDb ? "YES (!)" : "no"}`,
    );
    const bytes = Uint8Array.fromBase64(row.payload);
    bytes[bytes.length - 300]! ^= 0x01; // one bit of the ciphertext
    const db = new DatabaseSync(dbPath);
    try {
      db.prepare("UPDATE queue SET payload = ? WHERE sid = ?").run(bytes.toBase64(), row.sid);
    } finally {
      db.close();
    }
    write("   the server flips one bit of the stored payload before carol connects");
    let warned!: (e: Extract<ClientEvent, { type: "bad_seal" }>) => void;
    const badSeal = new Promise<Extract<ClientEvent, { type: "bad_seal" }>>((r) => warned = r);
    await join("carol", undefined, (e) => e.type === "bad_seal" && warned(e));
    const warning = await badSeal;
    write(`   carol → server  FAILED ${warning.sid} BAD_SEAL   (not shown)`);
    write(
      `   carol is warned: a sealed message from ${warning.from} was refused (${warning.message})`,
    );

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
