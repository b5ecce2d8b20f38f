// The ASL-E2E/1 envelope (lib/e2e/envelope.ts, lib/e2e/primitives.ts, ASL spec section 7
// "Envelope" and "Sending") against e2e-envelope.json: parsing, KC and C recomputed, H
// byte-equal when sealed with the vector's CEK/NONCE/id/ts, SIG verified and S rebuilt,
// every W unwrapped; an envelope sealed here checked by an independent WebCrypto-only
// reader; the payload limit and the group split; sealing's argument checks.

import "reflect-metadata";
import assert from "node:assert/strict";
import { concatBytes } from "../lib/asl/bytes.ts";
import { decodeBase64Strict } from "../lib/base64.ts";
import { MAX_PAYLOAD_CHARS } from "../lib/grammar.ts";
import { decodeEnvelope, isEnvelope, parseEnvelope } from "../lib/e2e/envelope.ts";
import { encodeHeader, isFingerprint, parseHeader } from "../lib/e2e/header.ts";
import { randomEnvelopeId, seal, type SealInput, sealSplit } from "../lib/e2e/seal.ts";
import { E2eError } from "../lib/e2e/errors.ts";
import {
  contentAad,
  encryptContent,
  keyCommitment,
  signatureInput,
  unwrapKey,
  verifyEnvelope,
} from "../lib/e2e/primitives.ts";
import { sha256Fingerprint, sha256FingerprintBase64 } from "../lib/pki/fingerprint.ts";
import { hexBytes, loadEnvelopeVectors, loadUser, type VectorUser } from "./helpers/e2e.ts";

const vectors = await loadEnvelopeVectors();
const users: Record<string, VectorUser> = {
  alice: await loadUser("alice", "client.crt", "client.key"),
  bob: await loadUser("bob", "bob.crt", "bob.key"),
  carol: await loadUser("carol", "carol.crt", "carol.key"),
};
const enc = new TextEncoder();

function aliceInput(recipients: readonly string[], plaintext: Uint8Array): SealInput {
  const alice = users.alice!;
  return {
    sender: { userId: "alice", leafDer: alice.leaf, signKey: alice.creds.signKey },
    recipients: recipients.map((u) => ({
      userId: u,
      key: users[u]?.encryptKey ?? users.bob!.encryptKey,
    })),
    plaintext,
  };
}

function assertE2eError(code: string) {
  return (err: unknown) => {
    assert.ok(err instanceof E2eError, String(err));
    assert.equal(err.code, code, err.message);
    return true;
  };
}

Deno.test("e2e fingerprints: the section 7 form and the hex form hash the same DER", async () => {
  for (const user of ["alice", "bob", "carol"]) {
    const leaf = users[user]!.leaf;
    assert.equal(await sha256FingerprintBase64(leaf), vectors.fingerprints[user]);
    assert.equal(
      (await sha256Fingerprint(leaf)).replaceAll(":", ""),
      vectors.fingerprints_hex[user],
    );
    assert.ok(isFingerprint(vectors.fingerprints[user]!));
  }
});

for (const v of vectors.envelopes) {
  const envelope = hexBytes(v.envelope);
  const H = hexBytes(v.H);
  const CEK = hexBytes(v.CEK);
  const NONCE = hexBytes(v.NONCE);
  const plaintext = hexBytes(v.plaintext_hex);

  Deno.test(`e2e envelope ${v.name}: parses into the vector's fields`, () => {
    assert.ok(isEnvelope(envelope));
    assert.deepEqual(decodeBase64Strict(v.payload), envelope);
    assert.equal(v.payload.length, v.payload_length);
    const { frame, header } = decodeEnvelope(envelope);
    assert.deepEqual(frame.headerBytes, H);
    assert.deepEqual(header, v.header);
    assert.equal(new TextDecoder().decode(frame.headerBytes), v.H_text);
    assert.deepEqual(frame.wrapped, v.W.map((w) => hexBytes(w.W)));
    assert.deepEqual(header.to, v.W.map((w) => w.to));
    assert.deepEqual(frame.kc, hexBytes(v.KC));
    assert.deepEqual(frame.nonce, NONCE);
    assert.deepEqual(frame.ciphertext, hexBytes(v.C));
    assert.deepEqual(frame.signature, hexBytes(v.SIG));
    assert.deepEqual(frame.signedPart, hexBytes(v.S));
    assert.deepEqual(parseHeader(H), v.header);
    assert.deepEqual(encodeHeader(header), H);
  });

  Deno.test(`e2e envelope ${v.name}: KC, AAD and C recomputed byte for byte`, async () => {
    assert.deepEqual(
      concatBytes([hexBytes(vectors.constants.kc_prefix as string), CEK]),
      hexBytes(v.KC_input),
    );
    assert.deepEqual(await keyCommitment(CEK), hexBytes(v.KC));
    assert.deepEqual(contentAad(H), hexBytes(v.AAD));
    assert.deepEqual(await encryptContent(CEK, NONCE, plaintext, H), hexBytes(v.C));
  });

  Deno.test(`e2e envelope ${v.name}: SIG verifies over SIG_input; S rebuilt from the fields`, async () => {
    const { frame } = decodeEnvelope(envelope);
    assert.deepEqual(signatureInput(frame.signedPart), hexBytes(v.SIG_input));
    assert.ok(await verifyEnvelope(users.alice!.verifyKey, frame.signedPart, frame.signature));
    assert.equal(
      await verifyEnvelope(users.bob!.verifyKey, frame.signedPart, frame.signature),
      false,
    );
    const u16 = (n: number) => new Uint8Array([n >> 8, n & 0xff]);
    const c = frame.ciphertext;
    const S = concatBytes([
      enc.encode("ASLE2E1\0"),
      u16(frame.headerBytes.length),
      frame.headerBytes,
      new Uint8Array([frame.wrapped.length]),
      ...frame.wrapped.flatMap((w) => [u16(w.length), w]),
      frame.kc,
      frame.nonce,
      new Uint8Array([
        c.length >>> 24,
        (c.length >> 16) & 0xff,
        (c.length >> 8) & 0xff,
        c.length & 0xff,
      ]),
      c,
    ]);
    assert.deepEqual(S, hexBytes(v.S));
  });

  Deno.test(`e2e envelope ${v.name}: every W unwraps to CEK with its recipient's key`, async () => {
    for (const { to, W } of v.W) {
      assert.deepEqual(await unwrapKey(users[to]!.creds.decryptKey, hexBytes(W)), CEK, to);
    }
  });

  Deno.test(`e2e envelope ${v.name}: sealing with the vector's CEK, NONCE, id and ts gives its H, KC, C`, async () => {
    const sealed = await seal(
      { ...aliceInput(v.header.to, plaintext), type: v.header.type },
      { cek: CEK, nonce: NONCE, id: v.header.id, ts: v.header.ts },
    );
    assert.deepEqual(sealed.headerBytes, H);
    assert.deepEqual(sealed.header, v.header);
    const { frame } = decodeEnvelope(sealed.envelope);
    assert.deepEqual(frame.kc, hexBytes(v.KC));
    assert.deepEqual(frame.nonce, NONCE);
    assert.deepEqual(frame.ciphertext, hexBytes(v.C));
    assert.equal(sealed.envelope.length, envelope.length);
    assert.equal(sealed.payload.length, v.payload_length);
    assert.ok(await verifyEnvelope(users.alice!.verifyKey, frame.signedPart, frame.signature));
    for (const [i, to] of v.header.to.entries()) {
      assert.deepEqual(await unwrapKey(users[to]!.creds.decryptKey, frame.wrapped[i]!), CEK);
    }
  });
}

/** An independent reader: DataView and plain WebCrypto calls only, nothing of lib/e2e. */
async function independentOpen(envelope: Uint8Array, me: VectorUser, sender: VectorUser) {
  const view = new DataView(envelope.buffer, envelope.byteOffset, envelope.byteLength);
  assert.equal(new TextDecoder().decode(envelope.subarray(0, 8)), "ASLE2E1\0");
  let at = 8;
  const hLen = view.getUint16(at);
  const H = envelope.slice(at + 2, at + 2 + hLen);
  at += 2 + hLen;
  const n = view.getUint8(at++);
  const W: Uint8Array<ArrayBuffer>[] = [];
  for (let i = 0; i < n; i++) {
    const len = view.getUint16(at);
    W.push(envelope.slice(at + 2, at + 2 + len));
    at += 2 + len;
  }
  const KC = envelope.slice(at, at + 32);
  const NONCE = envelope.slice(at + 32, at + 44);
  at += 44;
  const cLen = view.getUint32(at);
  const C = envelope.slice(at + 4, at + 4 + cLen);
  at += 4 + cLen;
  const S = envelope.slice(0, at);
  const sigLen = view.getUint16(at);
  const SIG = envelope.slice(at + 2, at + 2 + sigLen);
  assert.equal(at + 2 + sigLen, envelope.length);
  const header = JSON.parse(new TextDecoder().decode(H));
  const i = header.to.indexOf(me.userId);
  const subtle = crypto.subtle;
  const sigOk = await subtle.verify(
    { name: "RSA-PSS", saltLength: 32 },
    sender.verifyKey,
    SIG,
    concatBytes([enc.encode("ASL/1 E2E SIG\0"), S]),
  );
  const CEK = new Uint8Array(
    await subtle.decrypt(
      { name: "RSA-OAEP", label: enc.encode("ASL/1 E2E") },
      me.creds.decryptKey,
      W[i]!,
    ),
  );
  const kc = new Uint8Array(
    await subtle.digest("SHA-256", concatBytes([enc.encode("ASL/1 E2E KC\0"), CEK])),
  );
  const key = await subtle.importKey("raw", CEK, "AES-GCM", false, ["decrypt"]);
  const text = new Uint8Array(
    await subtle.decrypt(
      { name: "AES-GCM", iv: NONCE, additionalData: concatBytes([enc.encode("ASL/1 E2E\0"), H]) },
      key,
      C,
    ),
  );
  return { header, sigOk, kcOk: kc.every((b, j) => b === KC[j]), text, cek: CEK };
}

Deno.test("e2e envelope: a sealed envelope opens with the vector keys through an independent reader", async () => {
  const text = "Grüße an alle, sealed here ✓";
  const sealed = await seal(aliceInput(["bob", "carol", "alice"], enc.encode(text)), {
    ts: 1796472000000,
  });
  assert.ok(decodeBase64Strict(sealed.payload)!.every((b, j) => b === sealed.envelope[j]));
  for (const me of ["bob", "carol", "alice"]) {
    const got = await independentOpen(sealed.envelope, users[me]!, users.alice!);
    assert.ok(got.sigOk, me);
    assert.ok(got.kcOk, me);
    assert.equal(new TextDecoder().decode(got.text), text);
    assert.deepEqual(Object.keys(got.header), ["from", "fp", "to", "id", "ts", "type"]);
    assert.equal(got.header.fp, vectors.fingerprints.alice);
    assert.equal(got.header.type, "text/plain;charset=utf-8");
    assert.equal(got.header.ts, 1796472000000);
    assert.match(got.header.id, /^[A-Za-z0-9_-]{22}$/);
  }
});

Deno.test("e2e envelope: fresh CEK, NONCE and id on every seal", async () => {
  const input = aliceInput(["bob"], enc.encode("same text"));
  const a = decodeEnvelope((await seal(input)).envelope);
  const b = decodeEnvelope((await seal(input)).envelope);
  assert.notDeepEqual(a.frame.kc, b.frame.kc);
  assert.notDeepEqual(a.frame.nonce, b.frame.nonce);
  assert.notEqual(a.header.id, b.header.id);
  assert.notEqual(randomEnvelopeId(), randomEnvelopeId());
});

Deno.test("e2e envelope: the payload limit, 11 111 characters, is met exactly", async () => {
  const small = await seal(aliceInput(["bob"], new Uint8Array(0)), { id: "fixedid", ts: 0 });
  const overhead = small.envelope.length;
  const maxBytes = Math.floor(MAX_PAYLOAD_CHARS / 4) * 3; // 8 331 bytes: 11 108 characters
  const fitting = await seal(aliceInput(["bob"], new Uint8Array(maxBytes - overhead)), {
    id: "fixedid",
    ts: 0,
  });
  assert.equal(fitting.envelope.length, maxBytes);
  assert.ok(fitting.payload.length <= MAX_PAYLOAD_CHARS);
  await assert.rejects(
    seal(aliceInput(["bob"], new Uint8Array(maxBytes - overhead + 1)), { id: "fixedid", ts: 0 }),
    assertE2eError("too_large"),
  );
  await assert.rejects(
    sealSplit(aliceInput(["bob", "carol"], new Uint8Array(maxBytes))),
    assertE2eError("too_large"),
  );
});

Deno.test("e2e envelope: a 60-member group splits into envelopes of at most 11 111 characters", async () => {
  const members = Array.from({ length: 60 }, (_, i) => `member${i}`);
  const plaintext = enc.encode("to the whole group");
  const ids: string[] = [];
  const parts = await sealSplit(aliceInput(members, plaintext), {
    ts: 1796472000000,
    newId: () => {
      const id = randomEnvelopeId();
      ids.push(id);
      return id;
    },
  });
  assert.ok(parts.length >= 2, `${parts.length} parts`);
  const seen: string[] = [];
  const keys = new Set<string>();
  for (const part of parts) {
    assert.ok(part.payload.length <= MAX_PAYLOAD_CHARS, `${part.payload.length} characters`);
    const { frame, header } = decodeEnvelope(part.envelope);
    assert.deepEqual(header, part.header);
    assert.ok(ids.includes(header.id));
    seen.push(...header.to);
    // Every recipient here has bob's key: each W opens with it, to this part's own CEK.
    const cek = await unwrapKey(users.bob!.creds.decryptKey, frame.wrapped[0]!);
    assert.ok(cek);
    keys.add(cek.toHex());
    assert.deepEqual(await keyCommitment(cek), frame.kc);
  }
  assert.deepEqual(seen, members, "the parts' to lists partition the group, in order");
  assert.equal(new Set(parts.map((p) => p.header.id)).size, parts.length);
  assert.equal(keys.size, parts.length, "each part has its own CEK");
  // As many as fit: each part but the last would be too large with the next member added.
  for (let i = 0; i + 1 < parts.length; i++) {
    const next = parts[i + 1]!.header.to[0]!;
    await assert.rejects(
      seal(aliceInput([...parts[i]!.header.to, next], plaintext), {
        id: parts[i]!.header.id,
        ts: 1796472000000,
      }),
      assertE2eError("too_large"),
    );
  }
  // A group that fits is one envelope.
  const one = await sealSplit(aliceInput(["bob", "carol", "alice"], plaintext));
  assert.equal(one.length, 1);
  assert.deepEqual(one[0]!.header.to, ["bob", "carol", "alice"]);
});

Deno.test("e2e envelope: sealing refuses bad arguments (invalid_input)", async () => {
  const text = enc.encode("x");
  const bad: [string, SealInput, Parameters<typeof seal>[1]][] = [
    ["no recipient", aliceInput([], text), {}],
    ["a recipient twice", aliceInput(["bob", "bob"], text), {}],
    ["a recipient that is not a USERID", aliceInput(["b-b"], text), {}],
    ["a sender that is not a USERID", {
      ...aliceInput(["bob"], text),
      sender: { ...aliceInput([], text).sender, userId: "al ice" },
    }, {}],
    ["a recipient key for signing", {
      ...aliceInput(["bob"], text),
      recipients: [{ userId: "bob", key: users.bob!.verifyKey }],
    }, {}],
    ["a sender key for decrypting", {
      ...aliceInput(["bob"], text),
      sender: { ...aliceInput([], text).sender, signKey: users.alice!.creds.decryptKey },
    }, {}],
    ["a CEK of 31 bytes", aliceInput(["bob"], text), { cek: new Uint8Array(31) }],
    ["a NONCE of 16 bytes", aliceInput(["bob"], text), { nonce: new Uint8Array(16) }],
    ["an id that is not a MESSAGEID", aliceInput(["bob"], text), { id: "a/b" }],
    ["a negative ts", aliceInput(["bob"], text), { ts: -1 }],
    ["a fractional ts", aliceInput(["bob"], text), { ts: 1.5 }],
  ];
  for (const [what, input, options] of bad) {
    await assert.rejects(seal(input, options), assertE2eError("invalid_input"), what);
  }
  // More than 100 recipients never fit one envelope.
  const many = Array.from({ length: 101 }, (_, i) => `u${i}`);
  await assert.rejects(seal(aliceInput(many, text)), assertE2eError("too_large"));
});

Deno.test("e2e envelope: framing and header faults carry their code and step 1", () => {
  const v = vectors.envelopes[0]!;
  const envelope = hexBytes(v.envelope);
  const cases: [string, Uint8Array, string][] = [
    ["magic only", envelope.slice(0, 8), "parse"],
    ["one byte short", envelope.slice(0, -1), "parse"],
    ["one byte more", concatBytes([envelope, new Uint8Array(1)]), "parse"],
    ["not an envelope", enc.encode("hello there"), "parse"],
  ];
  for (const [what, bytes, code] of cases) {
    assert.throws(() => decodeEnvelope(bytes), (err: unknown) => {
      assert.ok(err instanceof E2eError);
      assert.equal(err.code, code, what);
      assert.equal(err.step, 1);
      return true;
    });
  }
  const header = (text: string) => () => parseHeader(enc.encode(text));
  const good = JSON.parse(v.H_text);
  const h = (patch: Record<string, unknown>) => JSON.stringify({ ...good, ...patch });
  for (
    const text of [
      v.H_text.replace('"ts":1796472000000', '"ts":-0'),
      v.H_text.replace('"ts":1796472000000', '"ts":1796472000000.0'),
      v.H_text.replace('{"from":"alice"', '{"from":"alice","from":"alice"'),
      v.H_text.replace('{"from":"alice"', '{"fr\\u006fm":"alice","from":"alice"'),
      h({ ts: 2 ** 53 }),
      h({ to: [] }).replace('"to":[]', '"to":{}'),
      `\uFEFF${v.H_text}`,
    ]
  ) {
    assert.throws(header(text), assertE2eError("header"), text);
  }
  // Whitespace and escapes are JSON: a header written otherwise still parses (it is signed as bytes).
  assert.deepEqual(
    parseHeader(enc.encode(` ${v.H_text.replace('"alice"', '"\\u0061lice"')} `)),
    v.header,
  );
  assert.deepEqual(parseHeader(enc.encode(h({ ts: 9007199254740991 }))).ts, 2 ** 53 - 1);
  assert.deepEqual(parseHeader(enc.encode(h({ ts: 0 }))).ts, 0);
  assert.deepEqual(parseEnvelope(envelope).headerBytes, hexBytes(v.H));
});
