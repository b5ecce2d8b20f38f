// Tests of lib/pki/crl_watch.ts (ASL spec section 4, CRLs on a running server): a changed
// CRL file gives a new trust store, an unchanged one the same; a CRL that disappears, is
// corrupt or is not signed by its CA fails closed (no trust store), logged once per change
// of state; a default CRL absent at start is used once it appears. Checks are driven by
// `check()` (interval 0), so nothing sleeps.

import "reflect-metadata";
import assert from "node:assert/strict";
import { CrlWatcher } from "../lib/pki/crl_watch.ts";
import { checkCrlSignature, parseCrl } from "../lib/pki/crl.ts";
import { PkiError, PkiInputError } from "../lib/pki/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { TrustStore } from "../lib/pki/types.ts";
import { crlPem, makeCert, makeCrl, makeTestPki, testKeys } from "./helpers/pki.ts";

function recorder(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (event: string) => lines.push(`${level} ${event}`);
  return {
    lines,
    logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") },
  };
}

Deno.test("crl: checkCrlSignature verifies a CA-file CRL, skips other issuers, refuses a forged one", async () => {
  const ca = await makeCert({
    subject: "CN=Sig CA",
    keys: await testKeys("RSA", 0),
    profile: "ca",
  });
  const other = await makeCert({
    subject: "CN=Other CA",
    keys: await testKeys("RSA", 1),
    profile: "ca",
  });
  assert.equal(await checkCrlSignature(parseCrl(await makeCrl(ca, ["01"])), [ca.der]), "verified");
  assert.equal(
    await checkCrlSignature(parseCrl(await makeCrl(other, ["01"])), [ca.der]),
    "other-issuer",
  );
  // Same issuer name as the CA file's CA, signed with another key: refused.
  const impostor = await makeCert({
    subject: "CN=Sig CA",
    keys: await testKeys("RSA", 1),
    profile: "ca",
  });
  await assert.rejects(
    checkCrlSignature(parseCrl(await makeCrl(impostor, ["01"])), [ca.der]),
    (e) => e instanceof PkiError && e.code === "BAD_CERTIFICATE",
  );
});

Deno.test("crl watch: reloads on change, fails closed on loss/corruption/forgery, logs once per state", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netsec-crlwatch-" });
  let watcher: CrlWatcher | undefined;
  try {
    const pki = await makeTestPki(dir, { users: ["bob"] });
    const path = `${dir}/ca.crl`;
    const { logger, lines } = recorder();
    // Required and missing: refused at open.
    await assert.rejects(
      CrlWatcher.open({ anchors: pki.trust.anchors, path, required: true, intervalMs: 0 }),
      (e) => e instanceof PkiInputError && /no such file/.test(e.message),
    );
    await Deno.writeTextFile(path, crlPem(await makeCrl(pki.ca, [])));
    watcher = await CrlWatcher.open({
      anchors: pki.trust.anchors,
      path,
      required: true,
      intervalMs: 0,
      logger,
    });
    const changes: (TrustStore | undefined)[] = [];
    watcher.onChange((t) => changes.push(t));
    const first = watcher.current();
    assert.ok(first !== undefined);
    assert.equal(first.crls.length, 1);
    assert.equal(first.anchors, pki.trust.anchors);
    // Unchanged file: same store, no event.
    await watcher.check();
    assert.equal(watcher.current(), first);
    // Rewritten with the same bytes: still the same store (caches keep their entries).
    await Deno.writeTextFile(path, await Deno.readTextFile(path));
    await watcher.check();
    assert.equal(watcher.current(), first);
    assert.equal(changes.length, 0);
    // A new CRL: a new store listing bob.
    const bobSerial = pki.users.bob!.cert.serialNumber;
    await Deno.writeTextFile(path, crlPem(await makeCrl(pki.ca, [bobSerial])));
    await watcher.check();
    const second = watcher.current();
    assert.ok(second !== undefined && second !== first);
    assert.equal(parseCrl(second.crls[0]!).revoked.size, 1);
    assert.deepEqual(changes, [second]);
    // Deleted: no store (fail closed), one error line however often it is checked.
    const good = await Deno.readFile(path);
    await Deno.remove(path);
    await watcher.check();
    await watcher.check();
    assert.equal(watcher.current(), undefined);
    assert.match(watcher.problem ?? "", /no such file/);
    assert.deepEqual(changes, [second, undefined]);
    assert.equal(lines.filter((l) => l === "error crl_unusable").length, 1);
    // Restored (same bytes): the same store as before, logged as loaded.
    await Deno.writeFile(path, good);
    await watcher.check();
    assert.equal(watcher.current(), second);
    assert.equal(watcher.problem, undefined);
    assert.deepEqual(changes, [second, undefined, second]);
    // Corrupt: fail closed again, a second error line (a new state).
    await Deno.writeTextFile(path, "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n");
    await watcher.check();
    await watcher.check();
    assert.equal(watcher.current(), undefined);
    assert.match(watcher.problem ?? "", /unusable CRL file/);
    assert.equal(lines.filter((l) => l === "error crl_unusable").length, 2);
    // Signed by another key under the CA's name: fail closed.
    const impostor = await makeCert({
      subject: pki.ca.cert.subject,
      keys: await testKeys("RSA", 1),
      profile: "ca",
    });
    await Deno.writeTextFile(path, crlPem(await makeCrl(impostor, [])));
    await watcher.check();
    assert.equal(watcher.current(), undefined);
    assert.match(watcher.problem ?? "", /signature does not verify/);
    // A good CRL again: a new store.
    await Deno.writeTextFile(path, crlPem(await makeCrl(pki.ca, [])));
    await watcher.check();
    const third = watcher.current();
    assert.ok(third !== undefined && third !== second);
    // Loaded: at open, the new CRL, the restore, this one. Unusable: deleted, corrupt, forged.
    assert.equal(lines.filter((l) => l === "info crl_loaded").length, 4);
    assert.equal(lines.filter((l) => l === "error crl_unusable").length, 3);
  } finally {
    watcher?.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("crl watch: a default CRL absent at start is used once it appears, then required", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netsec-crlwatch-" });
  let watcher: CrlWatcher | undefined;
  try {
    const pki = await makeTestPki(dir);
    const path = `${dir}/ca.crl`;
    watcher = await CrlWatcher.open({
      anchors: pki.trust.anchors,
      path,
      required: false,
      intervalMs: 0,
    });
    const none = watcher.current();
    assert.ok(none !== undefined);
    assert.equal(none.crls.length, 0);
    await watcher.check();
    assert.equal(watcher.current(), none); // still absent: no CRL, no failure
    await Deno.writeTextFile(path, crlPem(await makeCrl(pki.ca, ["0a"])));
    await watcher.check();
    assert.equal(watcher.current()?.crls.length, 1);
    await Deno.remove(path);
    await watcher.check();
    assert.equal(watcher.current(), undefined); // it was in force: losing it fails closed
  } finally {
    watcher?.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("crl watch: the timer checks by itself at the given interval", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netsec-crlwatch-" });
  let watcher: CrlWatcher | undefined;
  try {
    const pki = await makeTestPki(dir);
    const path = `${dir}/ca.crl`;
    await Deno.writeTextFile(path, crlPem(await makeCrl(pki.ca, [])));
    watcher = await CrlWatcher.open({
      anchors: pki.trust.anchors,
      path,
      required: true,
      intervalMs: 20,
    });
    const changed = Promise.withResolvers<TrustStore | undefined>();
    watcher.onChange((t) => changed.resolve(t));
    await Deno.remove(path);
    assert.equal(await changed.promise, undefined);
  } finally {
    watcher?.close();
    await Deno.remove(dir, { recursive: true });
  }
});
