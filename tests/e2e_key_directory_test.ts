// The key directory (lib/e2e/key_directory.ts, spec section 7 "Sending" step 1 and "Pinning"):
// CERT answers checked against the client's CA, first use pinned, a changed certificate
// refused with both fingerprints until trusted, rejected ones refused, failures typed.

import "reflect-metadata";
import assert from "node:assert/strict";
import { KeyDirectory, KeyDirectoryError } from "../lib/e2e/key_directory.ts";
import type { CertAnswer } from "../lib/e2e/open.ts";
import { MemoryPinStore } from "../lib/e2e/pins.ts";
import { sha256FingerprintBase64 } from "../lib/pki/fingerprint.ts";
import { certChain, vectorE2eTrust } from "./helpers/e2e.ts";

/** The vectors' receiver clock: every vector certificate is valid then. */
const CLOCK = 1796472060000;

async function directory(answers: Record<string, CertAnswer | (() => CertAnswer)>) {
  const asked: string[] = [];
  const pins = new MemoryPinStore();
  const dir = new KeyDirectory({
    certLookup: (user) => {
      asked.push(user);
      const a = answers[user];
      if (a === undefined) return Promise.resolve({ failed: "UNKNOWN_USER" });
      return Promise.resolve(typeof a === "function" ? a() : a);
    },
    trust: await vectorE2eTrust(),
    pins,
    now: () => CLOCK,
  });
  return { dir, pins, asked };
}

function rejectsWith(p: Promise<unknown>, code: string, check?: (e: KeyDirectoryError) => void) {
  return assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KeyDirectoryError, String(e));
    assert.equal(e.code, code, e.message);
    check?.(e);
    return true;
  });
}

Deno.test("key directory: first use pins the leaf; the next lookup is cached", async () => {
  const bob = await certChain("bob.crt");
  const { dir, pins, asked } = await directory({ bob: { chain: bob } });
  const r = await dir.recipient("bob");
  assert.equal(r.fingerprint, await sha256FingerprintBase64(bob[0]!));
  assert.deepEqual((await pins.get("bob")).accepted.map((l) => l.fingerprint), [r.fingerprint]);
  await dir.recipient("bob");
  assert.deepEqual(asked, ["bob"]);
});

Deno.test("key directory: a changed certificate is pin_pending with both fingerprints; trust accepts it", async () => {
  const bob = await certChain("bob.crt");
  const { dir, pins } = await directory({ bob: { chain: bob } });
  await pins.accept("bob", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  const now = await sha256FingerprintBase64(bob[0]!);
  await rejectsWith(dir.recipient("bob"), "pin_pending", (e) => {
    assert.equal(e.details.fingerprint, now);
    assert.deepEqual(e.details.accepted, ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]);
    assert.match(e.message, /AAAA.*now /);
  });
  assert.equal(await dir.trust("bob"), now);
  assert.equal((await dir.recipient("bob")).fingerprint, now);
});

Deno.test("key directory: a rejected certificate stays refused", async () => {
  const { dir } = await directory({ bob: { chain: await certChain("bob.crt") } });
  await dir.reject("bob");
  await rejectsWith(dir.recipient("bob"), "pin_rejected");
});

Deno.test("key directory: CERT failures, no connection, and chains that do not fit are typed", async () => {
  const carol = await certChain("carol.crt");
  const server = await certChain("server.crt");
  const { dir, pins } = await directory({
    nocert: { failed: "NO_CERTIFICATE" },
    down: { unreachable: "closed" },
    bob: { chain: carol }, // a valid chain, but it names carol
    srv: { chain: server }, // a server certificate: not purpose client
  });
  await rejectsWith(dir.recipient("nobody"), "cert_failed", (e) => {
    assert.equal(e.details.reason, "UNKNOWN_USER");
  });
  await rejectsWith(dir.recipient("nocert"), "cert_failed");
  await rejectsWith(dir.recipient("down"), "unreachable");
  await rejectsWith(dir.recipient("bob"), "certificate");
  await rejectsWith(dir.recipient("srv"), "certificate");
  // Nothing was pinned by a refusal.
  assert.deepEqual(await pins.get("bob"), { accepted: [], rejected: [] });
});

Deno.test("key directory: recipients() keeps order and stops at the first refusal", async () => {
  const { dir } = await directory({
    bob: { chain: await certChain("bob.crt") },
    carol: { chain: await certChain("carol.crt") },
  });
  const both = await dir.recipients(["carol", "bob"]);
  assert.deepEqual(both.map((r) => r.userId), ["carol", "bob"]);
  await rejectsWith(dir.recipients(["bob", "nobody", "carol"]), "cert_failed");
});
