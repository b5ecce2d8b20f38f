// Tests of lib/asl/handshake*.ts (spec section 2), pure: both roles exchange messages in
// memory; M5 check order (SIG_C → decrypt → MAC); replayed M5; order of messages.

import "reflect-metadata";
import assert from "node:assert/strict";
import { buf, concatBytes } from "../lib/asl/bytes.ts";
import { AslError } from "../lib/asl/errors.ts";
import { type Frame, FrameParser } from "../lib/asl/framing.ts";
import { ClientHandshake } from "../lib/asl/handshake_client.ts";
import { ServerHandshake } from "../lib/asl/handshake_server.ts";
import { macInput, sigCInput } from "../lib/asl/kx_signatures.ts";
import { serializeM5 } from "../lib/asl/messages.ts";
import { validateChain } from "../lib/pki/validate.ts";
import { hex, loadSession, vectorCredentials, vectorTrust } from "./helpers/asl.ts";

const serverCreds = await vectorCredentials("server");
const clientCreds = await vectorCredentials("client");
const trust = await vectorTrust();

function frame(bytes: Uint8Array): Frame {
  const parser = new FrameParser();
  parser.push(bytes);
  return parser.next()!;
}
function isCode(code: string) {
  return (err: unknown) => err instanceof AslError && err.code === code && !err.remote;
}
function newServer() {
  return new ServerHandshake({ credentials: serverCreds, trust, validate: validateChain });
}
function newClient(suites: ("AES_GCM" | "AES_CBC")[] = ["AES_GCM", "AES_CBC"]) {
  return new ClientHandshake({
    credentials: clientCreds,
    trust,
    validate: validateChain,
    serverName: "localhost",
    suites,
  });
}

/** Runs M1..M4 between a real client and server; returns both and the transcript so far. */
async function upToM4() {
  const server = newServer();
  const client = newClient();
  const m1 = client.start();
  const m2 = (await server.receive(frame(m1))).reply!;
  const m3 = (await client.receive(frame(m2))).reply!;
  const m4 = (await server.receive(frame(m3))).reply!;
  return { server, client, m4, transcript: concatBytes([m1, m2, m3, m4]) };
}

async function signedM5(TH_4: Uint8Array, E: Uint8Array, MAC: Uint8Array): Promise<Uint8Array> {
  const SIG_C = new Uint8Array(
    await crypto.subtle.sign(
      { name: "RSA-PSS", saltLength: 32 },
      clientCreds.signKey,
      sigCInput(TH_4, E),
    ),
  );
  return serializeM5({ E, SIG_C, MAC });
}

async function serverPublicOaep(): Promise<CryptoKey> {
  const peer = await validateChain(serverCreds.chain, trust, { purpose: "server" });
  return await crypto.subtle.importKey(
    "spki",
    buf(peer.leafSpki),
    { name: "RSA-OAEP", hash: "SHA-256" },
    false,
    ["encrypt"],
  );
}

Deno.test("handshake: both roles agree on suite, identities and keys", async () => {
  const { server, client, m4 } = await upToM4();
  const m5 = (await client.receive(frame(m4))).reply!;
  const m6 = (await server.receive(frame(m5))).reply!;
  const end = await client.receive(frame(m6));
  const done = await server.receive(frame(end.reply!));
  assert.ok(end.result && done.result);
  assert.equal(end.result.suite, "AES_GCM");
  assert.equal(done.result.suite, "AES_GCM");
  assert.equal(end.result.peer.identity, "localhost");
  assert.equal(done.result.peer.identity, "alice");
  assert.deepEqual(end.result.keys, done.result.keys);
  assert.equal(client.expecting, "done");
  assert.equal(server.expecting, "done");
  await assert.rejects(server.receive(frame(end.reply!)), isCode("PROTOCOL_ERROR"));
});

Deno.test("handshake: an M5 whose signed E does not decrypt is DECRYPT_ERROR", async () => {
  const { server, transcript } = await upToM4();
  const TH_4 = new Uint8Array(await crypto.subtle.digest("SHA-256", transcript));
  const E = crypto.getRandomValues(new Uint8Array(256));
  await assert.rejects(
    server.receive(frame(await signedM5(TH_4, E, new Uint8Array(32)))),
    isCode("DECRYPT_ERROR"),
  );
});

Deno.test("handshake: an M5 whose E decrypts to 63 bytes is DECRYPT_ERROR", async () => {
  const { server, transcript } = await upToM4();
  const TH_4 = new Uint8Array(await crypto.subtle.digest("SHA-256", transcript));
  const E = new Uint8Array(
    await crypto.subtle.encrypt({ name: "RSA-OAEP" }, await serverPublicOaep(), new Uint8Array(63)),
  );
  await assert.rejects(
    server.receive(frame(await signedM5(TH_4, E, new Uint8Array(32)))),
    isCode("DECRYPT_ERROR"),
  );
});

Deno.test("handshake: a signed M5 with the right P but a wrong MAC is DECRYPT_ERROR; right MAC passes", async () => {
  const { server, transcript } = await upToM4();
  const TH_4 = new Uint8Array(await crypto.subtle.digest("SHA-256", transcript));
  const P = crypto.getRandomValues(new Uint8Array(64));
  const E = new Uint8Array(
    await crypto.subtle.encrypt({ name: "RSA-OAEP" }, await serverPublicOaep(), P),
  );
  const macKey = await crypto.subtle.importKey(
    "raw",
    P.slice(32),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const MAC = new Uint8Array(await crypto.subtle.sign("HMAC", macKey, macInput(TH_4)));
  const wrong = MAC.slice();
  wrong[31]! ^= 1;
  await assert.rejects(
    server.receive(frame(await signedM5(TH_4, E, wrong))),
    isCode("DECRYPT_ERROR"),
  );
  // A fresh run with the correct MAC is accepted (the check is not failing everything).
  const again = await upToM4();
  const TH_4b = new Uint8Array(await crypto.subtle.digest("SHA-256", again.transcript));
  const macB = new Uint8Array(await crypto.subtle.sign("HMAC", macKey, macInput(TH_4b)));
  const out = await again.server.receive(frame(await signedM5(TH_4b, E, macB)));
  assert.match(new TextDecoder().decode(out.reply), /^SESSIONKEYOK /);
});

Deno.test("handshake: the vector M5 replayed into a new session is BAD_SIGNATURE", async () => {
  const v = await loadSession("AES_GCM");
  const server = newServer(); // fresh server_random
  const enc = new TextEncoder();
  await server.receive(frame(enc.encode(v.messages.M1)));
  await server.receive(frame(enc.encode(v.messages.M3)));
  await assert.rejects(server.receive(frame(enc.encode(v.messages.M5))), isCode("BAD_SIGNATURE"));
  assert.equal(server.expecting, "failed");
  assert.ok(hex(v.server_random).length === 32);
});

Deno.test("handshake: messages out of order are PROTOCOL_ERROR on either role", async () => {
  const v = await loadSession("AES_GCM");
  const enc = new TextEncoder();
  const server = newServer();
  await server.receive(frame(enc.encode(v.messages.M1)));
  await assert.rejects(server.receive(frame(enc.encode(v.messages.M5))), isCode("PROTOCOL_ERROR"));
  const client = newClient();
  client.start();
  await assert.rejects(client.receive(frame(enc.encode(v.messages.M6))), isCode("PROTOCOL_ERROR"));
});

Deno.test("handshake: ASYMCRYPOOK NONE gives NO_SHARED_SUITE to the client", async () => {
  const v = await loadSession("AES_GCM");
  const enc = new TextEncoder();
  const client = newClient();
  client.start();
  await client.receive(frame(enc.encode(v.messages.M2)));
  await assert.rejects(
    client.receive(frame(enc.encode("ASYMCRYPOOK NONE\n\n"))),
    isCode("NO_SHARED_SUITE"),
  );
});

Deno.test("handshake: the server never picks DES_CBC or unknown names", async () => {
  const server = newServer();
  const client = new ClientHandshake({
    credentials: clientCreds,
    trust,
    validate: validateChain,
    serverName: "localhost",
    offer: ["DES_CBC", "CHACHA_POLY", "AES_CBC"],
  });
  const m2 = (await server.receive(frame(client.start()))).reply!;
  const m3 = (await client.receive(frame(m2))).reply!;
  const out = await server.receive(frame(m3));
  assert.equal(new TextDecoder().decode(out.reply), "ASYMCRYPOOK AES_CBC\n\n");
});

Deno.test("handshake: the server's admit gate wraps M3 and M5 work only, and is released on failure", async () => {
  const log: string[] = [];
  let held = 0;
  const admit = () => {
    held++;
    log.push("admit");
    return Promise.resolve(() => {
      held--;
      log.push("release");
    });
  };
  const server = new ServerHandshake({
    credentials: serverCreds,
    trust,
    validate: validateChain,
    admit,
  });
  const client = newClient();
  const m2 = (await server.receive(frame(client.start()))).reply!;
  assert.deepEqual(log, []); // M1 is cheap: no gate
  const m3 = (await client.receive(frame(m2))).reply!;
  const m4 = (await server.receive(frame(m3))).reply!;
  assert.deepEqual(log, ["admit", "release"]);
  assert.equal(held, 0); // nothing held while waiting for M5
  const m5 = (await client.receive(frame(m4))).reply!;
  const m6 = (await server.receive(frame(m5))).reply!;
  assert.deepEqual(log, ["admit", "release", "admit", "release"]);
  await client.receive(frame(m6));

  // A failing M5 still releases its gate.
  const bad = new ServerHandshake({
    credentials: serverCreds,
    trust,
    validate: validateChain,
    admit,
  });
  const c2 = newClient();
  const n2 = (await bad.receive(frame(c2.start()))).reply!;
  const n4 = (await bad.receive(frame((await c2.receive(frame(n2))).reply!))).reply!;
  const n5 = (await c2.receive(frame(n4))).reply!;
  const tampered = n5.slice();
  tampered[20] = tampered[20] === 0x41 ? 0x42 : 0x41; // a byte inside E's base64
  await assert.rejects(bad.receive(frame(tampered)), isCode("BAD_SIGNATURE"));
  assert.equal(held, 0);
});
