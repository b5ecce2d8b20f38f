// The key exchanges of M4–M6 (lib/asl/kx_x25519.ts, kx_rsa.ts) against the revision 4 vector
// session asl-session-X25519_AES_GCM.json (fixtures README, "Everything but SIG_C and SIG_S is
// reproducible"), and the X25519 handshake replayed live in both roles with the vectors' fixed
// ephemeral keys.

import "reflect-metadata";
import assert from "node:assert/strict";
import { ClientHandshake } from "../lib/asl/handshake_client.ts";
import { ServerHandshake } from "../lib/asl/handshake_server.ts";
import { AslError } from "../lib/asl/errors.ts";
import { FrameParser } from "../lib/asl/framing.ts";
import { deriveSessionKeys } from "../lib/asl/key_schedule.ts";
import { macInput, macSInput, sigCInput, sigSInput, verifyPss } from "../lib/asl/kx_signatures.ts";
import {
  ephemeralFromPrivateKey,
  type EphemeralKeyPair,
  sharedSecret,
  x25519ClientCheckM6,
  x25519ClientM5,
  x25519ServerCheckM5,
  x25519ServerM6,
} from "../lib/asl/kx_x25519.ts";
import { parseM4, parseM5X25519, parseM6X25519 } from "../lib/asl/messages.ts";
import { nodePrimitives, webPrimitives } from "../lib/asl/primitives.ts";
import { importLeafKeys } from "../lib/pki/validation_cache.ts";
import { validateChain } from "../lib/pki/validate.ts";
import {
  forcedRandom,
  hex,
  readVectorText,
  vectorCredentials,
  vectorTrust,
} from "./helpers/asl.ts";

const STEPS = ["M1", "M2", "M3", "M4", "M5", "M6", "M7"] as const;
const encoder = new TextEncoder();

interface X25519Vector {
  readonly suite: "X25519_AES_GCM";
  readonly offer: string[];
  readonly server_name: string;
  readonly client_identity: string;
  readonly messages: Record<(typeof STEPS)[number], string>;
  readonly server_random: string;
  readonly d_C: string;
  readonly d_S: string;
  readonly Q_C: string;
  readonly Q_S: string;
  readonly K: string;
  readonly SIG_C: string;
  readonly SIG_C_input: string;
  readonly MAC: string;
  readonly MAC_input: string;
  readonly MAC_S: string;
  readonly MAC_S_input: string;
  readonly SIG_S: string;
  readonly SIG_S_input: string;
  readonly TH_4: string;
  readonly TH_5: string;
  readonly TH_7: string;
  readonly labels: Record<"server_random" | "d_C" | "d_S", string>;
  readonly keys: Record<"c2s" | "s2c", { key: string; iv: string }>;
}

async function loadVector(): Promise<X25519Vector> {
  return JSON.parse(await readVectorText("asl-session-X25519_AES_GCM.json"));
}

function frameOf(text: string) {
  const parser = new FrameParser();
  parser.push(encoder.encode(text));
  const frame = parser.next();
  assert.ok(frame, "message parses");
  return frame;
}

async function sha256(text: string): Promise<string> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text))).toHex();
}

function transcript(v: X25519Vector, upTo: number): string {
  return STEPS.slice(0, upTo).map((s) => v.messages[s]).join("");
}

async function leafKeys(who: "server" | "client") {
  const creds = await vectorCredentials(who);
  const peer = await validateChain(creds.chain, await vectorTrust(), {
    purpose: who,
    ...(who === "server" ? { host: "localhost" } : {}),
  });
  return { creds, keys: await importLeafKeys(peer.leafSpki) };
}

Deno.test("kx vectors X25519_AES_GCM: labels give server_random, d_C and d_S", async () => {
  const v = await loadVector();
  for (const name of ["server_random", "d_C", "d_S"] as const) {
    assert.equal(await sha256(v.labels[name]), v[name]);
  }
});

Deno.test("kx vectors X25519_AES_GCM: Q_C, Q_S from d_C, d_S; K both ways, not all zero", async () => {
  const v = await loadVector();
  const client = await ephemeralFromPrivateKey(hex(v.d_C));
  const server = await ephemeralFromPrivateKey(hex(v.d_S));
  assert.equal(client.publicKey.toHex(), v.Q_C);
  assert.equal(server.publicKey.toHex(), v.Q_S);
  const kc = await sharedSecret(client.privateKey, server.publicKey);
  const ks = await sharedSecret(server.privateKey, client.publicKey);
  assert.equal(kc.toHex(), v.K);
  assert.equal(ks.toHex(), v.K);
  assert.ok(kc.some((b) => b !== 0));
});

Deno.test("kx vectors X25519_AES_GCM: messages carry Q_S, Q_C, MAC, MAC_S; transcript hashes", async () => {
  const v = await loadVector();
  const m4 = parseM4(frameOf(v.messages.M4).lines);
  assert.equal(m4.suite, "X25519_AES_GCM");
  assert.equal(m4.Q_S?.toHex(), v.Q_S);
  const m5 = parseM5X25519(frameOf(v.messages.M5).lines);
  assert.deepEqual([m5.Q_C.toHex(), m5.SIG_C.toHex(), m5.MAC.toHex()], [v.Q_C, v.SIG_C, v.MAC]);
  const m6 = parseM6X25519(frameOf(v.messages.M6).lines);
  assert.deepEqual([m6.MAC_S.toHex(), m6.SIG_S.toHex()], [v.MAC_S, v.SIG_S]);
  assert.equal(await sha256(transcript(v, 4)), v.TH_4);
  assert.equal(await sha256(transcript(v, 5)), v.TH_5);
  assert.equal(await sha256(transcript(v, 7)), v.TH_7);
  assert.deepEqual(v.messages.M3.split("\n")[0]!.split(" ").slice(1), v.offer);
});

for (const prims of [nodePrimitives, webPrimitives]) {
  Deno.test(`kx vectors X25519_AES_GCM (${prims.impl}): the server's order on M5: SIG_C, K, MAC`, async () => {
    const v = await loadVector();
    const m5 = parseM5X25519(frameOf(v.messages.M5).lines);
    const TH_4 = hex(v.TH_4);
    assert.equal(sigCInput(TH_4, m5.Q_C).toHex(), v.SIG_C_input);
    assert.equal(macInput(TH_4).toHex(), v.MAC_input);
    const { keys } = await leafKeys("client");
    const ephemeral = await ephemeralFromPrivateKey(hex(v.d_S));
    const K = await x25519ServerCheckM5({ m5, TH_4, ephemeral, clientVerify: keys.verify, prims });
    assert.equal(K.toHex(), v.K);
    // The same M5 under another transcript: SIG_C fails first.
    await assert.rejects(
      x25519ServerCheckM5({ m5, TH_4: hex(v.TH_5), ephemeral, clientVerify: keys.verify, prims }),
      (e) => e instanceof AslError && e.code === "BAD_SIGNATURE",
    );
  });

  Deno.test(`kx vectors X25519_AES_GCM (${prims.impl}): MAC_S reproduced; the client's order on M6`, async () => {
    const v = await loadVector();
    const TH_5 = hex(v.TH_5);
    assert.equal(macSInput(TH_5).toHex(), v.MAC_S_input);
    const m6 = parseM6X25519(frameOf(v.messages.M6).lines);
    assert.equal(sigSInput(TH_5, m6.MAC_S).toHex(), v.SIG_S_input);
    const { creds: server, keys } = await leafKeys("server");
    const made = await x25519ServerM6({ K: hex(v.K), TH_5, signKey: server.signKey, prims });
    assert.equal(made.MAC_S.toHex(), v.MAC_S);
    assert.ok(await verifyPss(keys.verify, made.SIG_S, sigSInput(TH_5, made.MAC_S)));
    await x25519ClientCheckM6({ m6, K: hex(v.K), TH_5, serverVerify: keys.verify, prims });
    const wrongK = hex(v.K);
    wrongK[0]! ^= 1;
    await assert.rejects(
      x25519ClientCheckM6({ m6, K: wrongK, TH_5, serverVerify: keys.verify, prims }),
      (e) => e instanceof AslError && e.code === "DECRYPT_ERROR",
    );
  });
}

Deno.test("kx vectors X25519_AES_GCM: the client's M5 reproduces Q_C and MAC; SIG_C verifies", async () => {
  const v = await loadVector();
  const { creds: client, keys } = await leafKeys("client");
  const TH_4 = hex(v.TH_4);
  const out = await x25519ClientM5({
    TH_4,
    Q_S: hex(v.Q_S),
    ephemeral: await ephemeralFromPrivateKey(hex(v.d_C)),
    signKey: client.signKey,
    prims: nodePrimitives,
  });
  assert.equal(out.K.toHex(), v.K);
  assert.equal(out.m5.Q_C.toHex(), v.Q_C);
  assert.equal(out.m5.MAC.toHex(), v.MAC);
  assert.ok(await verifyPss(keys.verify, out.m5.SIG_C, hex(v.SIG_C_input)));
  assert.ok(await verifyPss(keys.verify, hex(v.SIG_C), hex(v.SIG_C_input)));
});

Deno.test("kx vectors X25519_AES_GCM: key schedule", async () => {
  const v = await loadVector();
  const keys = await deriveSessionKeys(hex(v.K), hex(v.TH_7), "X25519_AES_GCM");
  for (const d of ["c2s", "s2c"] as const) {
    const got = keys[d];
    assert.ok(got.suite === "X25519_AES_GCM");
    assert.deepEqual({ key: got.key.toHex(), iv: got.iv.toHex() }, v.keys[d]);
  }
});

Deno.test("kx: a signed all-zero Q_C is DECRYPT_ERROR on the server, after SIG_C", async () => {
  const v = await loadVector();
  const { creds: client, keys } = await leafKeys("client");
  const TH_4 = hex(v.TH_4);
  const forged: EphemeralKeyPair = {
    privateKey: (await ephemeralFromPrivateKey(hex(v.d_C))).privateKey,
    publicKey: new Uint8Array(32),
  };
  // The client cannot even make K from an all-zero Q_S...
  await assert.rejects(
    x25519ClientM5({
      TH_4,
      Q_S: new Uint8Array(32),
      ephemeral: forged,
      signKey: client.signKey,
      prims: nodePrimitives,
    }),
    (e) => e instanceof AslError && e.code === "DECRYPT_ERROR",
  );
  // ...and a client that signs an all-zero Q_C gets DECRYPT_ERROR from the server.
  const { m5 } = await x25519ClientM5({
    TH_4,
    Q_S: hex(v.Q_S),
    ephemeral: forged,
    signKey: client.signKey,
    prims: nodePrimitives,
  });
  assert.equal(m5.Q_C.toHex(), "00".repeat(32));
  await assert.rejects(
    x25519ServerCheckM5({
      m5,
      TH_4,
      ephemeral: await ephemeralFromPrivateKey(hex(v.d_S)),
      clientVerify: keys.verify,
      prims: nodePrimitives,
    }),
    (e) => e instanceof AslError && e.code === "DECRYPT_ERROR",
  );
});

Deno.test("kx vectors X25519_AES_GCM: live replay, server role (M2, M4 byte-equal; M5 accepted)", async () => {
  const v = await loadVector();
  const server = new ServerHandshake({
    credentials: await vectorCredentials("server"),
    trust: await vectorTrust(),
    validate: validateChain,
    random: forcedRandom(hex(v.server_random)),
    ephemeral: () => ephemeralFromPrivateKey(hex(v.d_S)),
  });
  const m2 = await server.receive(frameOf(v.messages.M1));
  assert.equal(new TextDecoder().decode(m2.reply), v.messages.M2);
  const m4 = await server.receive(frameOf(v.messages.M3));
  assert.equal(new TextDecoder().decode(m4.reply), v.messages.M4);
  const m6 = await server.receive(frameOf(v.messages.M5));
  const m6Text = new TextDecoder().decode(m6.reply);
  // M6's MAC_S is deterministic (TH_5 is the recorded one); SIG_S is randomized.
  assert.equal(m6Text.split(" ")[1], v.messages.M6.split(" ")[1]);
  assert.equal(server.expecting, "M7");
  // Our SIG_S differs, so TH_7 and the keys do; the handshake still completes.
  const done = await server.receive(frameOf(v.messages.M7));
  assert.equal(done.result?.suite, "X25519_AES_GCM");
  assert.equal(done.result?.peer.identity, v.client_identity);
});

Deno.test("kx vectors X25519_AES_GCM: live replay, client role (M3 byte-equal, M5's Q_C and MAC)", async () => {
  const v = await loadVector();
  const client = new ClientHandshake({
    credentials: await vectorCredentials("client"),
    trust: await vectorTrust(),
    validate: validateChain,
    serverName: v.server_name,
    ephemeral: () => ephemeralFromPrivateKey(hex(v.d_C)),
  });
  assert.equal(new TextDecoder().decode(client.start()), v.messages.M1);
  const m3 = await client.receive(frameOf(v.messages.M2));
  assert.equal(new TextDecoder().decode(m3.reply), v.messages.M3); // the default offer
  const m5 = await client.receive(frameOf(v.messages.M4));
  const fields = new TextDecoder().decode(m5.reply).trimEnd().split(" ");
  const want = v.messages.M5.trimEnd().split(" ");
  assert.deepEqual([fields[0], fields[1], fields[3]], [want[0], want[1], want[3]]);
  // Our SIG_C differs (PSS is randomized), so TH_5 does too: M6 is checked in the pure tests.
  assert.equal(client.expecting, "M6");
});
