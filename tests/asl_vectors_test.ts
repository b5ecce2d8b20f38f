// Conformance with the shared ASL/1 vectors (tests/fixtures/asl-vectors, README steps 1–8)
// for both suites and both record implementations; the records of the revision 4
// X25519_AES_GCM session (several lines per record, `records_rejected`).

import "reflect-metadata";
import assert from "node:assert/strict";
import { decodeBase64Strict } from "../lib/base64.ts";
import { buf, concatBytes } from "../lib/asl/bytes.ts";
import { AslError } from "../lib/asl/errors.ts";
import { FrameParser } from "../lib/asl/framing.ts";
import { ClientHandshake } from "../lib/asl/handshake_client.ts";
import { ServerHandshake } from "../lib/asl/handshake_server.ts";
import { macInput, sigCInput, sigSInput } from "../lib/asl/kx_signatures.ts";
import { deriveSessionKeys } from "../lib/asl/key_schedule.ts";
import { parseM2, parseM3, parseM5, parseM6 } from "../lib/asl/messages.ts";
import {
  createRecordCipher,
  openLine,
  openLines,
  sealLine,
  sealLines,
} from "../lib/asl/records.ts";
import type { RecordImpl } from "../lib/asl/records_cipher.ts";
import { decodeRecordLine, decodeRecordPlaintext } from "../lib/asl/records_codec.ts";
import { validateChain } from "../lib/pki/validate.ts";
import { ValidationCache } from "../lib/pki/validation_cache.ts";
import { nodePrimitives, webPrimitives } from "../lib/asl/primitives.ts";
import {
  forcedRandom,
  hex,
  importPrivateKey,
  loadNegativeRecords,
  loadSession,
  readToEnd,
  readVectorText,
  type SessionVector,
  vectorCredentials,
  vectorTrust,
} from "./helpers/asl.ts";
import { batchKeys, keyedSession, loadBatchSession, wireRecordLines } from "./helpers/asl_batch.ts";

const SUITES = ["AES_GCM", "AES_CBC"] as const;
const IMPLS: RecordImpl[] = ["node", "webcrypto"];
const STEPS = ["M1", "M2", "M3", "M4", "M5", "M6", "M7"] as const;
/** Handshake configurations replayed: the fast path and the portable reference. */
const VARIANTS = [
  {
    name: "node:crypto, validation cache",
    primitives: nodePrimitives,
    validate: () => new ValidationCache(),
  },
  { name: "WebCrypto, validateChain", primitives: webPrimitives, validate: () => validateChain },
];
const encoder = new TextEncoder();

function frameOf(text: string) {
  const parser = new FrameParser();
  parser.push(encoder.encode(text));
  const frame = parser.next();
  assert.ok(frame, "message parses");
  assert.equal(parser.hasPending, false);
  return frame;
}

async function sha256(...parts: string[]): Promise<Uint8Array> {
  const bytes = encoder.encode(parts.join(""));
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

async function publicKey(der: Uint8Array, name: "RSA-OAEP" | "RSA-PSS") {
  return await crypto.subtle.importKey("spki", buf(der), { name, hash: "SHA-256" }, false, [
    name === "RSA-OAEP" ? "encrypt" : "verify",
  ]);
}

function transcriptText(v: SessionVector, upTo: number): string {
  return STEPS.slice(0, upTo).map((s) => v.messages[s]).join("");
}

for (const suite of SUITES) {
  Deno.test(`vectors ${suite}: 1 framing of every message`, async () => {
    const v = await loadSession(suite);
    const parser = new FrameParser();
    const all = encoder.encode(transcriptText(v, 7));
    for (const b of all) parser.push(Uint8Array.of(b)); // one byte at a time
    for (const step of STEPS) {
      const frame = parser.next();
      assert.ok(frame);
      assert.equal(new TextDecoder().decode(frame.bytes), v.messages[step]);
    }
    assert.equal(parser.next(), undefined);
  });

  Deno.test(`vectors ${suite}: 2 M2/M3 parse and their chains validate`, async () => {
    const v = await loadSession(suite);
    const trust = await vectorTrust();
    const m2 = parseM2(frameOf(v.messages.M2).lines);
    const m3 = parseM3(frameOf(v.messages.M3).lines);
    assert.deepEqual(m2.serverRandom, hex(v.server_random));
    const server = await vectorCredentials("server");
    const client = await vectorCredentials("client");
    assert.deepEqual(m2.chain, server.chain);
    assert.deepEqual(m3.chain, client.chain);
    const s = await validateChain(m2.chain, trust, { purpose: "server", host: v.server_name });
    const c = await validateChain(m3.chain, trust, { purpose: "client" });
    assert.equal(s.identity, v.server_name);
    assert.equal(c.identity, v.client_identity);
  });

  Deno.test(`vectors ${suite}: 3 transcript hashes`, async () => {
    const v = await loadSession(suite);
    assert.equal((await sha256(transcriptText(v, 4))).toHex(), v.TH_4);
    assert.equal((await sha256(transcriptText(v, 5))).toHex(), v.TH_5);
    assert.equal((await sha256(transcriptText(v, 7))).toHex(), v.TH_7);
  });

  Deno.test(`vectors ${suite}: 4 M5 as the server (SIG_C, then E, then MAC)`, async () => {
    const v = await loadSession(suite);
    const m5 = parseM5(frameOf(v.messages.M5).lines);
    assert.equal(m5.E.toHex(), v.E);
    assert.equal(m5.SIG_C.toHex(), v.SIG_C);
    assert.equal(m5.MAC.toHex(), v.MAC);
    const TH_4 = hex(v.TH_4);
    const input = sigCInput(TH_4, m5.E);
    assert.equal(input.toHex(), v.SIG_C_input);
    const client = await vectorCredentials("client");
    const verifyKey = await publicKey(await spkiOf(client.chain[0]!, "client"), "RSA-PSS");
    const pss = { name: "RSA-PSS", saltLength: 32 };
    assert.ok(await crypto.subtle.verify(pss, verifyKey, buf(m5.SIG_C), input));
    // SIG_C does not verify over the old input "... TH_4 P".
    const oldInput = concatBytes([encoder.encode("ASL/1 SESSIONKEY\0"), TH_4, hex(v.P)]);
    assert.equal(await crypto.subtle.verify(pss, verifyKey, buf(m5.SIG_C), oldInput), false);
    const server = await importPrivateKey(await readVectorText("server.key"));
    const P = new Uint8Array(
      await crypto.subtle.decrypt({ name: "RSA-OAEP" }, server.decryptKey, buf(m5.E)),
    );
    assert.equal(P.toHex(), v.P);
    assert.equal(P.subarray(0, 32).toHex(), v.N);
    const macKey = await crypto.subtle.importKey(
      "raw",
      buf(P.subarray(32)),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
    assert.ok(await crypto.subtle.verify("HMAC", macKey, buf(m5.MAC), macInput(TH_4)));
  });

  Deno.test(`vectors ${suite}: 5 M6 as the client (E2, then SIG_S)`, async () => {
    const v = await loadSession(suite);
    const m6 = parseM6(frameOf(v.messages.M6).lines);
    assert.equal(m6.E2.toHex(), v.E2);
    assert.equal(m6.SIG_S.toHex(), v.SIG_S);
    const client = await importPrivateKey(await readVectorText("client.key"));
    const n = new Uint8Array(
      await crypto.subtle.decrypt({ name: "RSA-OAEP" }, client.decryptKey, buf(m6.E2)),
    );
    assert.equal(n.toHex(), v.N);
    const input = sigSInput(hex(v.TH_5), hex(v.N));
    assert.equal(input.toHex(), v.SIG_S_input);
    const server = await vectorCredentials("server");
    const verifyKey = await publicKey(await spkiOf(server.chain[0]!, "server"), "RSA-PSS");
    assert.ok(
      await crypto.subtle.verify(
        { name: "RSA-PSS", saltLength: 32 },
        verifyKey,
        buf(m6.SIG_S),
        input,
      ),
    );
  });

  Deno.test(`vectors ${suite}: 6 key schedule`, async () => {
    const v = await loadSession(suite);
    const keys = await deriveSessionKeys(hex(v.K), hex(v.TH_7), suite);
    for (const d of ["c2s", "s2c"] as const) {
      const got = keys[d];
      const want = v.keys[d];
      if (got.suite !== "AES_CBC") {
        assert.deepEqual({ key: got.key.toHex(), iv: got.iv.toHex() }, want);
      } else {
        assert.deepEqual({ enc: got.enc.toHex(), mac: got.mac.toHex() }, want);
      }
    }
  });

  for (const impl of IMPLS) {
    Deno.test(`vectors ${suite}: 7 records open and seal byte-identically (${impl})`, async () => {
      const v = await loadSession(suite);
      const keys = await deriveSessionKeys(hex(v.K), hex(v.TH_7), suite);
      for (const d of ["c2s", "s2c"] as const) {
        const records = v.records[d];
        const ivs = records.map((r) => hex(r.cbc_iv ?? ""));
        const random = suite === "AES_CBC" ? { random: forcedRandom(...ivs) } : {};
        const sealer = await createRecordCipher(keys[d], { impl, ...random });
        const opener = await createRecordCipher(keys[d], { impl });
        for (const r of records) {
          assert.equal(await openLine(opener, r.line, r.seq), r.plaintext);
          const line = await sealLine(sealer, r.plaintext, r.seq);
          assert.equal(line, r.line);
          assert.equal(decodeBase64Strict(line)!.toHex(), r.record_hex);
        }
      }
    });

    Deno.test(`vectors ${suite}: negative records are rejected (${impl})`, async () => {
      const v = await loadSession(suite);
      const keys = await deriveSessionKeys(hex(v.K), hex(v.TH_7), suite);
      const cases = (await loadNegativeRecords()).filter((c) => c.suite === suite);
      assert.ok(cases.length >= 16);
      for (const c of cases) {
        const opener = await createRecordCipher(keys[c.direction], { impl });
        const expected = expectedCode(c.reason);
        await assert.rejects(
          openLine(opener, c.line, c.recv_seq),
          (err: unknown) => err instanceof AslError && err.code === expected,
          `${c.reason}: expected ${expected}`,
        );
      }
    });
  }

  for (const variant of VARIANTS) {
    Deno.test(`vectors ${suite}: 8 live replay, server role (${variant.name})`, async () => {
      const v = await loadSession(suite);
      const server = new ServerHandshake({
        credentials: await vectorCredentials("server"),
        trust: await vectorTrust(),
        validate: variant.validate(),
        primitives: variant.primitives,
        random: forcedRandom(hex(v.server_random)),
      });
      const m2 = await server.receive(frameOf(v.messages.M1));
      assert.equal(new TextDecoder().decode(m2.reply), v.messages.M2);
      const m4 = await server.receive(frameOf(v.messages.M3));
      assert.equal(new TextDecoder().decode(m4.reply), v.messages.M4);
      const m6 = await server.receive(frameOf(v.messages.M5)); // accepted: verifies against TH_4
      assert.match(
        new TextDecoder().decode(m6.reply),
        /^SESSIONKEYOK [A-Za-z0-9+/=]+ [A-Za-z0-9+/=]+\n\n$/,
      );
      assert.equal(server.expecting, "M7");
    });

    Deno.test(`vectors ${suite}: 8 live replay, client role (${variant.name})`, async () => {
      const v = await loadSession(suite);
      const offer = v.messages.M3.split("\n")[0]!.split(" ").slice(1);
      const client = new ClientHandshake({
        credentials: await vectorCredentials("client"),
        trust: await vectorTrust(),
        validate: variant.validate(),
        primitives: variant.primitives,
        serverName: v.server_name,
        offer,
        random: forcedRandom(hex(v.N), hex(v.K)),
      });
      assert.equal(new TextDecoder().decode(client.start()), v.messages.M1);
      const m3 = await client.receive(frameOf(v.messages.M2));
      assert.equal(new TextDecoder().decode(m3.reply), v.messages.M3);
      const m5 = await client.receive(frameOf(v.messages.M4));
      const fields = new TextDecoder().decode(m5.reply).trimEnd().split(" ");
      assert.equal(fields[0], "SESSIONKEY");
      assert.equal(fields[3], v.messages.M5.trimEnd().split(" ")[3]); // the MAC field
      assert.equal(client.expecting, "M6");
    });
  }
}

// --- X25519_AES_GCM records (revision 4): several lines per record ----------------------

for (const impl of IMPLS) {
  Deno.test(`vectors X25519_AES_GCM: 7 records open, split into their lines and seal byte-identically (${impl})`, async () => {
    const v = await loadBatchSession();
    assert.equal(v.suite, "X25519_AES_GCM");
    let multi = 0;
    for (const d of ["c2s", "s2c"] as const) {
      const cipher = await createRecordCipher(batchKeys(v, d), { impl });
      for (const [i, r] of v.records[d].entries()) {
        assert.equal(r.seq, i);
        const plaintext = await cipher.open(decodeRecordLine(r.line), r.seq);
        assert.equal(new TextDecoder().decode(plaintext), r.plaintext);
        const lines = decodeRecordPlaintext(plaintext); // the decoder the session uses
        assert.deepEqual(lines, r.lines, `${d} ${r.seq}`);
        assert.deepEqual(await openLines(cipher, r.line, r.seq), r.lines);
        const line = await sealLines(cipher, lines, r.seq);
        assert.equal(line, r.line, `${d} ${r.seq}: sealed again`);
        assert.equal(decodeBase64Strict(line)!.toHex(), r.record_hex);
        if (lines.length > 1) multi++;
      }
    }
    assert.ok(multi >= 3, "the file has records of several lines");
  });

  Deno.test(`vectors X25519_AES_GCM: records_rejected open but break the line rule (${impl})`, async () => {
    const v = await loadBatchSession();
    assert.equal(v.records_rejected.length, 4);
    for (const c of v.records_rejected) {
      const cipher = await createRecordCipher(batchKeys(v, c.direction), { impl });
      // Authentic: it opens (right key, right seq) to the recorded plaintext...
      const plaintext = await cipher.open(decodeRecordLine(c.line), c.recv_seq);
      assert.equal(new TextDecoder().decode(plaintext), c.plaintext, c.reason);
      assert.equal(await openLine(cipher, c.line, c.recv_seq), c.plaintext);
      // ...and the line rule refuses it, handing over none of its lines.
      const into: string[] = [];
      assert.throws(
        () => decodeRecordPlaintext(plaintext, into),
        (e: unknown) => e instanceof AslError && e.code === "PROTOCOL_ERROR",
        c.reason,
      );
      assert.deepEqual(into, []);
      await assert.rejects(
        openLines(cipher, c.line, c.recv_seq),
        (e: unknown) => e instanceof AslError && e.code === "PROTOCOL_ERROR",
      );
    }
  });

  Deno.test(`vectors X25519_AES_GCM: a live receiver yields the genuine lines, then closes on each rejected record with none of its lines (${impl})`, async () => {
    const v = await loadBatchSession();
    const genuine = v.records.c2s;
    for (const c of v.records_rejected) {
      assert.equal(c.direction, "c2s");
      assert.equal(c.recv_seq, genuine.length);
      // The server's side: it opens c2s records (and would seal s2c ones).
      const { session, peer } = await keyedSession(
        "X25519_AES_GCM",
        batchKeys(v, "s2c"),
        batchKeys(v, "c2s"),
        { impl },
      );
      try {
        const wire = [...genuine.map((r) => r.line), c.line, genuine[0]!.line, ""].join("\n\n");
        await peer.write(new TextEncoder().encode(wire));
        const got: string[] = [];
        for await (const line of session) got.push(line);
        assert.deepEqual(got, genuine.flatMap((r) => r.lines), c.reason);
        const info = await session.closed;
        assert.equal(info.reason, "error");
        assert.ok(info.error instanceof AslError);
        assert.equal(info.error.code, "PROTOCOL_ERROR", `${c.reason}: ${info.error.message}`);
        assert.equal(await readToEnd(peer), "", "nothing sent back");
      } finally {
        await session.close();
        peer.close();
      }
    }
  });

  Deno.test(`vectors X25519_AES_GCM: a Session sending each record's lines in one turn writes the recorded lines (${impl})`, async () => {
    const v = await loadBatchSession();
    for (const [send, recv] of [["c2s", "s2c"], ["s2c", "c2s"]] as const) {
      const { session, peer } = await keyedSession(
        "X25519_AES_GCM",
        batchKeys(v, send),
        batchKeys(v, recv),
        { impl },
      );
      try {
        for (const r of v.records[send]) {
          await Promise.all(r.lines.map((line) => session.send(line)));
        }
        await session.close();
        const out = wireRecordLines(await readToEnd(peer));
        assert.deepEqual(out, v.records[send].map((r) => r.line), send);
      } finally {
        peer.close();
      }
    }
  });
}

/** The code each negative vector must fail with (documented in docs/PROTOCOL.md). */
function expectedCode(reason: string): string {
  if (reason.startsWith("bad base64") || reason.startsWith("empty line")) return "PROTOCOL_ERROR";
  if (/^authentic record (with an empty|whose plaintext|with a 32769)/.test(reason)) {
    return "PROTOCOL_ERROR";
  }
  return "DECRYPT_ERROR";
}

async function spkiOf(der: Uint8Array, purpose: "server" | "client"): Promise<Uint8Array> {
  return (await validateChain([der], await vectorTrust(), { purpose })).leafSpki;
}
