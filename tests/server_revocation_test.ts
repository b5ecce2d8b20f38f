// Tests of lib/server/revocation.ts and its use by serve.ts and startup.ts (ASL spec section
// 4, CRLs, on a running server): `certs revoke` (revokeCertificate) takes effect without a
// restart — the revoked user's open session is closed and a new handshake fails with
// CERT_REVOKED — and a CRL that disappears or is corrupt makes new handshakes fail with
// INTERNAL_ERROR until it is usable again.

import "reflect-metadata";
import assert from "node:assert/strict";
import { AslError } from "../lib/asl/mod.ts";
import type { Logger } from "../lib/log.ts";
import { CrlWatcher } from "../lib/pki/crl_watch.ts";
import { revokeCertificate } from "../lib/pki/pki_files.ts";
import { parseServerConfig } from "../cli/server/config.ts";
import { startServer } from "../cli/server/startup.ts";
import { makeTestPki, type TestPki } from "./helpers/pki.ts";
import { startTestServer, TestClient } from "./helpers/server.ts";

async function failsWith(pki: TestPki, port: number, user: string, code: string) {
  const err = await TestClient.connect(port, pki, user).then(
    async (c) => {
      await c.close();
      return "connected";
    },
    (e) => e,
  );
  assert.ok(err instanceof AslError, `${user}: ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.equal(err.remote, true);
}

function recorder(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (event: string) => lines.push(`${level} ${event}`);
  return {
    lines,
    logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") },
  };
}

Deno.test("revocation: certs revoke closes the open session, new handshakes get CERT_REVOKED; a lost or corrupt CRL fails closed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netsec-revoke-" });
  const clients: TestClient[] = [];
  let watcher: CrlWatcher | undefined;
  let t;
  try {
    const pki = await makeTestPki(dir, { users: ["alice", "bob"] });
    const crlPath = `${dir}/ca.crl`;
    watcher = await CrlWatcher.open({
      anchors: pki.trust.anchors,
      path: crlPath,
      required: false,
      intervalMs: 0, // checked by hand below: no sleeping
    });
    t = await startTestServer({ pki, trustSource: watcher });
    const alice = await t.client("alice");
    const bob = await t.client("bob");
    clients.push(alice, bob);

    // Revoke bob (the first revoke creates ca.crl), then one check of the file.
    const out = await revokeCertificate({ dir, certPath: pki.certPath("bob") });
    assert.equal(out.crl, crlPath);
    await watcher.check();
    await bob.waitEnded(5_000);
    assert.equal(bob.ended, true);
    assert.equal(alice.ended, false);
    assert.equal(await alice.request("REGISTER alice"), "OK alice");
    await failsWith(pki, t.port, "bob", "CERT_REVOKED");

    // The CRL disappears: new handshakes fail closed; open sessions stay.
    const good = await Deno.readFile(crlPath);
    await Deno.remove(crlPath);
    await watcher.check();
    await failsWith(pki, t.port, "alice", "INTERNAL_ERROR");
    assert.equal(await alice.request("REGISTER alice"), "OK alice");
    // Restored: served again, and bob is still revoked.
    await Deno.writeFile(crlPath, good);
    await watcher.check();
    clients.push(await t.client("alice"));
    await failsWith(pki, t.port, "bob", "CERT_REVOKED");
    // Corrupt: fails closed.
    await Deno.writeTextFile(crlPath, "not a CRL at all\n");
    await watcher.check();
    await failsWith(pki, t.port, "alice", "INTERNAL_ERROR");
  } finally {
    for (const c of clients) await c.close();
    await t?.close();
    watcher?.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("revocation: revoking the intermediate CA closes the sessions of the users under it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netsec-revoke-" });
  const clients: TestClient[] = [];
  let watcher: CrlWatcher | undefined;
  let t;
  try {
    const pki = await makeTestPki(dir, { users: ["alice", "bob"], intermediate: true });
    const crlPath = `${dir}/ca.crl`;
    watcher = await CrlWatcher.open({
      anchors: pki.trust.anchors,
      path: crlPath,
      required: false,
      intervalMs: 0,
    });
    t = await startTestServer({ pki, trustSource: watcher });
    const alice = await t.client("alice");
    const bob = await t.client("bob");
    clients.push(alice, bob);
    const intermediatePath = `${dir}/intermediate.pem`;
    await Deno.writeTextFile(intermediatePath, pki.intermediate!.pem);
    await revokeCertificate({ dir, certPath: intermediatePath });
    await watcher.check();
    await alice.waitEnded(5_000);
    await bob.waitEnded(5_000);
    assert.equal(alice.ended && bob.ended, true);
    await failsWith(pki, t.port, "alice", "CERT_REVOKED");
  } finally {
    for (const c of clients) await c.close();
    await t?.close();
    watcher?.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("revocation: startServer watches the default CRL path; a revoke on the running server applies within the check interval", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netsec-revoke-" });
  const clients: TestClient[] = [];
  const { logger, lines } = recorder();
  let server;
  try {
    const pki = await makeTestPki(`${dir}/pki`, { users: ["alice", "bob"] });
    const parsed = parseServerConfig([
      "--port",
      "0",
      "--ca",
      pki.caCertPath,
      "--cert",
      pki.serverCertPath,
      "--key",
      pki.serverKeyPath,
      "--data",
      `${dir}/data/test.db`,
    ], { NETSEC_CRL_CHECK: "0.05" });
    assert.ok(parsed !== "help");
    assert.equal(parsed.crlCheckMs, 50);
    // The default CRL path, absent at start (as after `certs init`).
    const config = { ...parsed, crl: `${pki.dir}/ca.crl`, crlRequired: false };
    ({ server } = await startServer(config, logger));
    const port = server.addr.port;
    const alice = await TestClient.connect(port, pki, "alice");
    const bob = await TestClient.connect(port, pki, "bob");
    clients.push(alice, bob);
    await revokeCertificate({ dir: pki.dir, certPath: pki.certPath("bob") });
    await bob.waitEnded(5_000); // the timer's check finds the new file
    assert.equal(bob.ended, true);
    await failsWith(pki, port, "bob", "CERT_REVOKED");
    assert.equal(await alice.request("REGISTER alice"), "OK alice");
    assert.ok(lines.includes("info crl_loaded"), lines.join("\n"));
    assert.ok(lines.includes("warn session_revoked"), lines.join("\n"));
  } finally {
    for (const c of clients) await c.close();
    await server?.close();
    await Deno.remove(dir, { recursive: true });
  }
});
