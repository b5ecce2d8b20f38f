// Tests of lib/pki/validation_cache.ts (ASL spec section 4 on the handshake hot path): same
// results and codes as validateChain, hits and misses, dates re-checked on every use,
// revocation seen through a new TrustStore or a changed CRL list, the LRU bound.

import "reflect-metadata";
import assert from "node:assert/strict";
import { PkiError } from "../lib/pki/errors.ts";
import type { TrustStore, ValidatedPeer, ValidateOptions } from "../lib/pki/types.ts";
import { validateChain } from "../lib/pki/validate.ts";
import {
  type ChainValidator,
  KEYED_ENTRIES,
  ValidationCache,
} from "../lib/pki/validation_cache.ts";
import { type BadPeers, makeBadPeers, vectorCredentials, vectorTrust } from "./helpers/asl.ts";

const isPki = (code: string) => (err: unknown) => err instanceof PkiError && err.code === code;

/** validateChain, counting its calls (a call is a full validation: a cache miss). */
function counting(): { calls: number; validate: ChainValidator } {
  const counter = {
    calls: 0,
    validate: (chain: readonly Uint8Array[], trust: TrustStore, opts: ValidateOptions) => {
      counter.calls++;
      return validateChain(chain, trust, opts);
    },
  };
  return counter;
}

const server = await vectorCredentials("server");
const client = await vectorCredentials("client");
const NOW = new Date("2027-06-01T00:00:00Z"); // inside the vectors' 2026–2036 validity

let bad: BadPeers | undefined;
async function badPeers(): Promise<BadPeers> {
  return bad ??= await makeBadPeers();
}

Deno.test("validation cache: a hit returns what validateChain returns, without revalidating", async () => {
  const trust = await vectorTrust();
  const c = counting();
  const cache = new ValidationCache({ validate: c.validate });
  const opts = { purpose: "client", at: NOW } as const;
  const first = await cache.validate(client.chain, trust, opts);
  const second = await cache.validate(client.chain.map((d) => d.slice()), trust, opts);
  assert.equal(c.calls, 1);
  assert.deepEqual(cache.stats, { hits: 1, misses: 1 });
  assert.equal(second, first);
  const direct: ValidatedPeer = await validateChain(client.chain, trust, opts);
  assert.deepEqual({ ...first.peer }, { ...direct });
  assert.equal(first.peer.identity, "alice");
  // The presented chain, leaf first, as its own bytes (what the server records at REGISTER).
  assert.deepEqual(first.peer.chain, client.chain);
  assert.equal(first.peer.chain[0], first.peer.leafDer);
  assert.notEqual(first.peer.chain[0], client.chain[0]);
  // The imported leaf key is the client's: it encrypts (OAEP) and verifies (PSS) for it.
  const data = new TextEncoder().encode("ASL/1 test");
  const sig = await crypto.subtle.sign({ name: "RSA-PSS", saltLength: 32 }, client.signKey, data);
  const pss = { name: "RSA-PSS", saltLength: 32 };
  assert.ok(await crypto.subtle.verify(pss, first.keys.verify, sig, data));
  const e = await crypto.subtle.encrypt({ name: "RSA-OAEP" }, first.keys.encrypt, data);
  const back = await crypto.subtle.decrypt({ name: "RSA-OAEP" }, client.decryptKey, e);
  assert.deepEqual(new Uint8Array(back), data);
});

Deno.test("validation cache: only recent entries keep imported keys; an older hit imports again", async () => {
  const trust = await vectorTrust();
  const c = counting();
  const cache = new ValidationCache({ validate: c.validate });
  const opts = { purpose: "client", at: NOW } as const;
  // A TrustStore object is part of the key: one entry per store, one more than keep keys.
  const stores: TrustStore[] = Array.from(
    { length: KEYED_ENTRIES + 1 },
    () => ({ anchors: trust.anchors, crls: trust.crls }),
  );
  const results = [];
  for (const store of stores) results.push(await cache.validate(client.chain, store, opts));
  assert.equal(cache.size, KEYED_ENTRIES + 1);
  assert.equal(c.calls, KEYED_ENTRIES + 1);
  // The newest entry still has its keys: a hit is the very same result.
  assert.equal(await cache.validate(client.chain, stores.at(-1)!, opts), results.at(-1));
  // The oldest lost its keys: a hit (no validation) with the same peer and a fresh import.
  const again = await cache.validate(client.chain, stores[0]!, opts);
  assert.equal(c.calls, KEYED_ENTRIES + 1);
  assert.deepEqual(cache.stats, { hits: 2, misses: KEYED_ENTRIES + 1 });
  assert.equal(again.peer, results[0]!.peer);
  assert.notEqual(again.keys.verify, results[0]!.keys.verify);
  const data = new TextEncoder().encode("ASL/1 test");
  const pss = { name: "RSA-PSS", saltLength: 32 };
  const sig = await crypto.subtle.sign(pss, client.signKey, data);
  assert.ok(await crypto.subtle.verify(pss, again.keys.verify, sig, data));
  // Used again, it is among the recent ones: the next hit hands back that same result.
  assert.equal(await cache.validate(client.chain, stores[0]!, opts), again);
});

Deno.test("validation cache: an entry expires with its certificates (CERT_EXPIRED)", async () => {
  const trust = await vectorTrust();
  const c = counting();
  const cache = new ValidationCache({ validate: c.validate });
  await cache.validate(client.chain, trust, { purpose: "client", at: NOW });
  await assert.rejects(
    cache.validate(client.chain, trust, { purpose: "client", at: new Date("2040-01-01Z") }),
    isPki("CERT_EXPIRED"),
  );
  await assert.rejects(
    cache.validate(client.chain, trust, { purpose: "client", at: new Date("2026-01-01Z") }),
    isPki("CERT_EXPIRED"),
  );
  assert.equal(c.calls, 3);
  // Still valid now: the entry was kept and hits again.
  await cache.validate(client.chain, trust, { purpose: "client", at: NOW });
  assert.equal(c.calls, 3);
});

Deno.test("validation cache: revocation is seen with a new TrustStore (CERT_REVOKED)", async () => {
  const peers = await badPeers();
  const plain = await vectorTrust();
  const cache = new ValidationCache();
  const revoked = peers.revoked.chain;
  const ok = await cache.validate(revoked, plain, { purpose: "client" });
  assert.equal(ok.peer.identity, "alice");
  await cache.validate(revoked, plain, { purpose: "client" });
  assert.equal(cache.stats.hits, 1);
  // A new TrustStore holding the CRL.
  await assert.rejects(
    cache.validate(revoked, peers.trustWithCrl, { purpose: "client" }),
    isPki("CERT_REVOKED"),
  );
  // And the entry made with the plain store still serves the plain store.
  await cache.validate(revoked, plain, { purpose: "client" });
  assert.deepEqual(cache.stats, { hits: 2, misses: 2 });
  // A TrustStore is immutable by contract (validateChain indexes it once per object): a
  // reloaded CRL file is a new TrustStore, so the cache never serves it a stale verdict.
  const reloaded: TrustStore = { anchors: plain.anchors, crls: [...peers.trustWithCrl.crls] };
  await assert.rejects(
    cache.validate(revoked, reloaded, { purpose: "client" }),
    isPki("CERT_REVOKED"),
  );
});

Deno.test("validation cache: failures are never cached and keep their codes", async () => {
  const peers = await badPeers();
  const trust = await vectorTrust();
  const c = counting();
  const cache = new ValidationCache({ validate: c.validate });
  for (let i = 0; i < 2; i++) {
    await assert.rejects(
      cache.validate(peers.wrongCa.chain, trust, { purpose: "client" }),
      isPki("UNKNOWN_CA"),
    );
    await assert.rejects(
      cache.validate(peers.expired.chain, trust, { purpose: "client" }),
      isPki("CERT_EXPIRED"),
    );
    await assert.rejects(
      cache.validate(peers.wrongEku.chain, trust, { purpose: "client" }),
      isPki("BAD_CERTIFICATE"),
    );
  }
  assert.equal(c.calls, 6);
  assert.equal(cache.size, 0);
});

Deno.test("validation cache: purpose and host are part of the key (BAD_IDENTITY)", async () => {
  const trust = await vectorTrust();
  const cache = new ValidationCache();
  const p = await cache.validate(server.chain, trust, { purpose: "server", host: "localhost" });
  assert.equal(p.peer.identity, "localhost");
  await assert.rejects(
    cache.validate(server.chain, trust, { purpose: "server", host: "example.com" }),
    isPki("BAD_IDENTITY"),
  );
  const q = await cache.validate(server.chain, trust, { purpose: "server", host: "127.0.0.1" });
  assert.equal(q.peer.identity, "127.0.0.1");
  // The server chain (EKU serverAuth) is no client chain.
  await assert.rejects(
    cache.validate(server.chain, trust, { purpose: "client" }),
    isPki("BAD_CERTIFICATE"),
  );
  assert.equal(cache.size, 2);
});

Deno.test("validation cache: bounded, least recently used evicted first", async () => {
  const trust = await vectorTrust();
  const c = counting();
  const cache = new ValidationCache({ limit: 2, validate: c.validate });
  const a = { purpose: "server", host: "localhost" } as const;
  const b = { purpose: "server", host: "127.0.0.1" } as const;
  const d = { purpose: "client" } as const;
  await cache.validate(server.chain, trust, a);
  await cache.validate(server.chain, trust, b);
  await cache.validate(server.chain, trust, a); // a is now the most recent
  assert.equal(c.calls, 2);
  await cache.validate(client.chain, trust, d); // evicts b
  assert.equal(cache.size, 2);
  await cache.validate(server.chain, trust, a);
  await cache.validate(client.chain, trust, d);
  assert.equal(c.calls, 3);
  await cache.validate(server.chain, trust, b); // b was evicted: a full validation
  assert.equal(c.calls, 4);
  assert.equal(cache.size, 2);
  // Many distinct entries never grow it past the bound.
  const big = new ValidationCache({ limit: 3 });
  for (let i = 0; i < 10; i++) {
    await big.validate(server.chain, trust, { purpose: "server", host: "localhost", at: NOW });
    await big.validate(server.chain, { anchors: trust.anchors, crls: [] }, { purpose: "server" });
    assert.ok(big.size <= 3);
  }
  assert.equal(big.size, 3);
  assert.throws(() => new ValidationCache({ limit: 0 }), RangeError);
});

Deno.test("validation cache: bounded by estimated bytes, least recently used evicted first", async () => {
  const trust = await vectorTrust();
  const c = counting();
  const probe = new ValidationCache({ validate: c.validate });
  await probe.validate(server.chain, trust, { purpose: "server", host: "localhost" });
  const one = probe.bytes;
  assert.ok(one > server.chain.reduce((n, d) => n + d.length, 0));
  // Room for two entries of that size, not three.
  const cache = new ValidationCache({ maxBytes: 2 * one + 100, validate: c.validate });
  // Three keys of equal size: "localhost" and "127.0.0.1" have the same length, and a second
  // TrustStore object is a third key.
  const other = { anchors: trust.anchors, crls: trust.crls };
  await cache.validate(server.chain, trust, { purpose: "server", host: "localhost" });
  await cache.validate(server.chain, trust, { purpose: "server", host: "127.0.0.1" });
  await cache.validate(server.chain, other, { purpose: "server", host: "localhost" });
  assert.equal(cache.size, 2);
  assert.ok(cache.bytes <= cache.maxBytes);
  const calls = c.calls;
  await cache.validate(server.chain, other, { purpose: "server", host: "localhost" }); // kept
  assert.equal(c.calls, calls);
  await cache.validate(server.chain, trust, { purpose: "server", host: "localhost" }); // evicted
  assert.equal(c.calls, calls + 1);
  // A bound smaller than one entry still keeps the newest one.
  const tiny = new ValidationCache({ maxBytes: 0, validate: c.validate });
  await tiny.validate(server.chain, trust, { purpose: "server", host: "localhost" });
  assert.equal(tiny.size, 1);
  tiny.clear();
  assert.equal(tiny.bytes, 0);
  assert.throws(() => new ValidationCache({ maxBytes: -1 }), RangeError);
});

Deno.test("validation cache: concurrent first sight validates once", async () => {
  const trust = await vectorTrust();
  const c = counting();
  const cache = new ValidationCache({ validate: c.validate });
  const results = await Promise.all(
    Array.from({ length: 5 }, () => cache.validate(client.chain, trust, { purpose: "client" })),
  );
  assert.equal(c.calls, 1);
  for (const r of results) assert.equal(r, results[0]);
});

Deno.test("validation cache: a concurrent chain with the same key but other bytes is validated on its own", async () => {
  const trust = await vectorTrust();
  const c = counting();
  const cache = new ValidationCache({ validate: c.validate });
  // Same length and same tail (the signature), one byte changed inside the signed part.
  const forged = client.chain.map((der) => der.slice());
  const leaf = forged[0]!;
  leaf[200] = leaf[200]! ^ 0x01;
  const opts = { purpose: "client" } as const;
  const [bad, good] = await Promise.allSettled([
    cache.validate(forged, trust, opts),
    cache.validate(client.chain, trust, opts),
  ]);
  assert.equal(c.calls, 2);
  assert.equal(bad.status, "rejected");
  assert.ok(isPki("BAD_CERTIFICATE")((bad as PromiseRejectedResult).reason));
  assert.equal(good.status, "fulfilled");
  assert.equal(
    (good as PromiseFulfilledResult<{ peer: ValidatedPeer }>).value.peer.identity,
    "alice",
  );
});

Deno.test("validation cache: remove the failure-path certificates", async () => {
  if (bad) await Deno.remove(bad.dir, { recursive: true });
});
