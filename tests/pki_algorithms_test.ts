// Tests of lib/pki/algorithms.ts (ASL spec section 4): which signature AlgorithmIdentifiers
// are accepted, refused as MD5/SHA-1 or unsupported; key facts from SPKIs; CA key limits;
// and WebCrypto verification of DER ECDSA signatures.

import "reflect-metadata";
import assert from "node:assert/strict";
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, SubjectPublicKeyInfo } from "@peculiar/asn1-x509";
import { RsaSaPssParams } from "../lib/pki/_asn1.ts";
import {
  caKeyProblem,
  classifySignatureAlgorithm,
  describeKey,
  isAcceptableCaKey,
  verifySignature,
} from "../lib/pki/algorithms.ts";
import { testKeys } from "./helpers/pki.ts";

const NULL = new Uint8Array([5, 0]).buffer;
const SHA = {
  "SHA-1": "1.3.14.3.2.26",
  "SHA-256": "2.16.840.1.101.3.4.2.1",
  "SHA-384": "2.16.840.1.101.3.4.2.2",
  "SHA-512": "2.16.840.1.101.3.4.2.3",
};

function alg(oid: string, parameters?: ArrayBuffer | null) {
  const a = new AlgorithmIdentifier({ algorithm: oid });
  if (parameters !== undefined) a.parameters = parameters;
  return classifySignatureAlgorithm(a);
}

function pss(hash: keyof typeof SHA, mgfHash: keyof typeof SHA, saltLength = 32, trailerField = 1) {
  const params = new RsaSaPssParams({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: SHA[hash], parameters: null }),
    maskGenAlgorithm: new AlgorithmIdentifier({
      algorithm: "1.2.840.113549.1.1.8",
      parameters: AsnConvert.serialize(
        new AlgorithmIdentifier({ algorithm: SHA[mgfHash], parameters: null }),
      ),
    }),
    saltLength,
    trailerField,
  });
  return alg("1.2.840.113549.1.1.10", AsnConvert.serialize(params));
}

Deno.test("algorithms: accepted signature algorithms", () => {
  assert.deepEqual(alg("1.2.840.113549.1.1.11", null), {
    status: "ok",
    alg: { kind: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  });
  assert.deepEqual(alg("1.2.840.113549.1.1.12"), {
    status: "ok",
    alg: { kind: "RSASSA-PKCS1-v1_5", hash: "SHA-384" },
  });
  assert.deepEqual(alg("1.2.840.113549.1.1.13", NULL), {
    status: "ok",
    alg: { kind: "RSASSA-PKCS1-v1_5", hash: "SHA-512" },
  });
  assert.deepEqual(alg("1.2.840.10045.4.3.2"), {
    status: "ok",
    alg: { kind: "ECDSA", hash: "SHA-256" },
  });
  assert.deepEqual(alg("1.2.840.10045.4.3.3"), {
    status: "ok",
    alg: { kind: "ECDSA", hash: "SHA-384" },
  });
  assert.deepEqual(alg("1.2.840.10045.4.3.4"), {
    status: "ok",
    alg: { kind: "ECDSA", hash: "SHA-512" },
  });
  assert.deepEqual(pss("SHA-256", "SHA-256"), {
    status: "ok",
    alg: { kind: "RSA-PSS", hash: "SHA-256", saltLength: 32 },
  });
  assert.deepEqual(pss("SHA-512", "SHA-512", 64), {
    status: "ok",
    alg: { kind: "RSA-PSS", hash: "SHA-512", saltLength: 64 },
  });
});

Deno.test("algorithms: MD5/SHA-1 family is weak", () => {
  for (
    const oid of [
      "1.2.840.113549.1.1.2",
      "1.2.840.113549.1.1.4",
      "1.2.840.113549.1.1.5",
      "1.3.14.3.2.29",
      "1.2.840.10045.4.1",
      "1.2.840.10040.4.3",
    ]
  ) {
    assert.equal(alg(oid, null).status, "weak", oid);
  }
  assert.equal(alg("1.2.840.113549.1.1.10").status, "weak"); // PSS defaults = SHA-1
  assert.equal(pss("SHA-1", "SHA-1").status, "weak");
  assert.equal(pss("SHA-256", "SHA-1").status, "weak");
});

Deno.test("algorithms: everything else is unsupported", () => {
  assert.equal(alg("1.2.840.113549.1.1.14", null).status, "unsupported"); // sha224WithRSA
  assert.equal(alg("1.2.840.10045.4.3.1").status, "unsupported"); // ecdsa-with-SHA224
  assert.equal(alg("1.3.101.112").status, "unsupported"); // Ed25519
  assert.equal(alg("1.2.840.113549.1.1.11", new Uint8Array([4, 0]).buffer).status, "unsupported");
  assert.equal(alg("1.2.840.10045.4.3.2", NULL).status, "unsupported");
  assert.equal(pss("SHA-256", "SHA-384").status, "unsupported");
  assert.equal(pss("SHA-256", "SHA-256", 32, 2).status, "unsupported");
  assert.equal(
    alg("1.2.840.113549.1.1.10", new Uint8Array([0x30, 0x03, 0x02, 0x01]).buffer).status,
    "unsupported",
  );
});

async function spkiOf(key: CryptoKey) {
  const spki = AsnConvert.parse(await crypto.subtle.exportKey("spki", key), SubjectPublicKeyInfo);
  return describeKey(spki.algorithm.algorithm, spki.algorithm.parameters, spki.subjectPublicKey);
}

Deno.test("algorithms: key facts and CA key limits", async () => {
  const rsa = await spkiOf((await testKeys("RSA", 0)).publicKey);
  assert.deepEqual(rsa, { type: "RSA", bits: 2048, exponentHex: "010001" });
  assert.equal(isAcceptableCaKey(rsa), true);
  assert.deepEqual(await spkiOf((await testKeys("P-256", 0)).publicKey), {
    type: "EC",
    curve: "P-256",
  });
  assert.deepEqual(await spkiOf((await testKeys("P-384", 0)).publicKey), {
    type: "EC",
    curve: "P-384",
  });
  const small = await spkiOf((await testKeys("RSA", 0, 1024)).publicKey);
  assert.deepEqual(small, { type: "RSA", bits: 1024, exponentHex: "010001" });
  assert.equal(isAcceptableCaKey(small), false);
  assert.equal(isAcceptableCaKey({ type: "RSA", bits: 2048, exponentHex: "03" }), true);
  assert.equal(isAcceptableCaKey({ type: "RSA", bits: 4096, exponentHex: "03" }), true);
  assert.equal(isAcceptableCaKey({ type: "RSA", bits: 4097, exponentHex: "010001" }), false);
  assert.equal(isAcceptableCaKey({ type: "RSA", bits: 8192, exponentHex: "010001" }), false);
  assert.equal(caKeyProblem({ type: "RSA", bits: 4096, exponentHex: "010001" }), undefined);
  assert.equal(
    caKeyProblem({ type: "RSA", bits: 8192, exponentHex: "010001" }),
    "an RSA key of 8192 bits (CA keys: RSA of 2048 to 4096 bits, or ECDSA P-256 or P-384)",
  );
  assert.match(caKeyProblem(small) ?? "", /^an RSA key of 1024 bits \(CA keys: /);
  assert.match(caKeyProblem({ type: "EC", curve: "P-521" }) ?? "", /^an EC key on P-521 /);
  assert.equal(isAcceptableCaKey({ type: "EC", curve: "P-521" }), false);
  assert.equal(isAcceptableCaKey({ type: "other", oid: "1.3.101.112" }), false);
});

Deno.test("algorithms: ECDSA DER signatures verify; malformed ones fail without throwing", async () => {
  const keys = await testKeys("P-384", 0);
  const spkiDer = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const info = { type: "EC", curve: "P-384" } as const;
  const data = new TextEncoder().encode("tbs bytes");
  const raw = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-384" }, keys.privateKey, data),
  );
  const int = (b: Uint8Array) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = b.subarray(i);
    return v[0]! & 0x80 ? [0, ...v] : [...v];
  };
  const r = int(raw.subarray(0, 48));
  const s = int(raw.subarray(48));
  const der = new Uint8Array([0x30, r.length + s.length + 4, 2, r.length, ...r, 2, s.length, ...s]);
  const ecdsa = { kind: "ECDSA", hash: "SHA-384" } as const;
  assert.equal(await verifySignature(spkiDer, info, ecdsa, data, der), true);
  assert.equal(await verifySignature(spkiDer, info, ecdsa, new Uint8Array([1]), der), false);
  assert.equal(await verifySignature(spkiDer, info, ecdsa, data, raw), false); // raw r||s is not DER
  assert.equal(
    await verifySignature(spkiDer, info, ecdsa, data, new Uint8Array([...der, 0])),
    false,
  );
  assert.equal(
    await verifySignature(spkiDer, info, { kind: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, data, der),
    false,
  );
  assert.equal(await verifySignature(new Uint8Array([1, 2]), info, ecdsa, data, der), false);
});
