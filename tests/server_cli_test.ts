// server.ts as a program: start-up output, exit codes, the development PKI, signals, logs.

import assert from "node:assert/strict";
import { SERVER_TS, spawnServer, TestClient } from "./helpers/server.ts";
import { AslError } from "../lib/asl/mod.ts";
import { crlPem, makeCrl, makeTestPki, type TestPki } from "./helpers/pki.ts";

const PERMS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env"];

async function run(args: string[], cwd?: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMS, SERVER_TS, ...args],
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(cwd ? { cwd } : {}),
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

let shared: { dir: string; pki: TestPki } | undefined;
async function pki(): Promise<TestPki> {
  if (shared === undefined) {
    const dir = await Deno.makeTempDir({ prefix: "netsec-pki-" });
    shared = { dir, pki: await makeTestPki(dir, { users: ["alice", "bob"] }) };
  }
  return shared.pki;
}

function files(p: TestPki, dir: string): string[] {
  return [
    "--ca",
    p.caCertPath,
    "--cert",
    p.serverCertPath,
    "--key",
    p.serverKeyPath,
    "--data",
    `${dir}/d.db`,
  ];
}

Deno.test("cli: --help lists flags and exits 0; usage errors exit 2 with one line", async () => {
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--register-timeout SEC/);
  assert.match(help.stdout, /NETSEC_PORT/);
  for (const args of [["--bogus"], ["--port", "99999"], ["--suites", "NONE"]]) {
    const r = await run(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^error: /);
  }
});

Deno.test("cli: missing files, a bad key and a port in use exit 2 with one line", async () => {
  const p = await pki();
  const dir = await Deno.makeTempDir();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await Deno.writeTextFile(
      `${dir}/bad.key`,
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    const cases: [string[], RegExp][] = [
      [
        ["--ca", `${dir}/missing.pem`, "--cert", p.serverCertPath, "--key", p.serverKeyPath],
        /CA file .*missing\.pem/,
      ],
      [["--ca", p.caCertPath, "--cert", p.serverCertPath, "--key", `${dir}/nokey`], /key .*nokey/],
      [
        ["--ca", p.caCertPath, "--cert", p.serverCertPath, "--key", `${dir}/bad.key`],
        /credentials/,
      ],
      [[
        "--ca",
        p.caCertPath,
        "--cert",
        p.serverCertPath,
        "--key",
        p.serverKeyPath,
        "--crl",
        `${dir}/no.crl`,
      ], /CRL file/],
      [
        ["--ca", p.serverKeyPath, "--cert", p.serverCertPath, "--key", p.serverKeyPath],
        /CA or CRL/,
      ],
      [
        [...files(p, dir), "--port", String((listener.addr as Deno.NetAddr).port)],
        /already in use/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const r = await run(["--port", "0", ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n").filter((l) => !/ INFO /.test(l));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0] ?? "", pattern);
      assert.match(lines[0] ?? "", /^error: /);
    }
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: default paths without certificates create the dev PKI; SIGTERM exits 0", async () => {
  const cwd = await Deno.makeTempDir();
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...PERMS, SERVER_TS, "--port", "0"],
      env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    try {
      const deadline = Date.now() + 60_000;
      while (!/fingerprint: [0-9a-f:]+\n/.test(text) && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      assert.match(text, /created the development PKI under certs\//);
      assert.match(text, /listening on 127\.0\.0\.1:\d+/);
      const fp = /fingerprint: ([0-9a-f:]+)/.exec(text)?.[1];
      const pem = await Deno.readTextFile(`${cwd}/certs/server.pem`);
      const der = Uint8Array.fromBase64(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""));
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
      assert.equal(fp, [...digest].map((b) => b.toString(16).padStart(2, "0")).join(":"));
      for (const f of ["ca.pem", "ca.key", "server.pem", "server.key"]) {
        await Deno.stat(`${cwd}/certs/${f}`);
      }
      await Deno.stat(`${cwd}/data/netsec-msg.db`);
    } finally {
      child.kill("SIGTERM");
      await reader.cancel().catch(() => {});
    }
    const status = await child.status;
    assert.equal(status.code, 0);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("cli: --verbose traces handshakes and never logs payloads; SIGINT exits 0", async () => {
  const p = await pki();
  const dir = await Deno.makeTempDir();
  const clients: TestClient[] = [];
  try {
    const child = await spawnServer({ pki: p, dataPath: `${dir}/v.db`, args: ["--verbose"] });
    try {
      const secret = new TextEncoder().encode("the secret text").toBase64();
      const alice = await TestClient.connect(child.port, p, "alice");
      const bob = await TestClient.connect(child.port, p, "bob");
      clients.push(alice, bob);
      assert.equal(await alice.request(`MESSAGE v1 bob ${secret}`), "OK v1");
      const [d] = await bob.deliveriesN(1);
      await bob.ack([d!]);
      assert.equal(await bob.request("REGISTER bob"), "OK bob");
      for (const c of clients.splice(0)) await c.close();
      child.kill("SIGINT");
      const status = await child.status;
      assert.equal(status.code, 0);
      const log = child.output().join("\n");
      assert.match(log, /handshake_step .*step=M5/);
      assert.match(log, /handshake conn=\d+ cn=alice suite=X25519_AES_GCM/);
      assert.match(log, /register conn=\d+ user=bob/);
      assert.match(log, /message_accepted from=alice id=v1 to=1 bytes=\d+/);
      assert.match(log, /delivered sid=\d+ to=bob/);
      assert.match(log, /acked user=bob sid=\d+/);
      assert.match(log, /stopped/);
      assert.ok(!log.includes(secret), "a payload was logged");
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
  } finally {
    for (const c of clients) await c.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: --crl is loaded; a revoked client fails the handshake with CERT_REVOKED", async () => {
  const p = await pki();
  const dir = await Deno.makeTempDir();
  try {
    const crl = await makeCrl(p.ca, [p.users.bob!.cert.serialNumber]);
    await Deno.writeTextFile(`${dir}/ca.crl`, crlPem(crl));
    const child = await spawnServer({
      pki: p,
      dataPath: `${dir}/r.db`,
      args: ["--crl", `${dir}/ca.crl`],
    });
    try {
      const alice = await TestClient.connect(child.port, p, "alice");
      await alice.close();
      const bob = await TestClient.connect(child.port, p, "bob").then(() => "connected", (e) => e);
      assert.ok(bob instanceof AslError, String(bob));
      assert.equal(bob.code, "CERT_REVOKED");
      assert.equal(bob.remote, true);
    } finally {
      child.kill("SIGTERM");
      assert.equal((await child.status).code, 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

addEventListener("unload", () => {
  if (shared) Deno.removeSync(shared.dir, { recursive: true });
});

Deno.test("cli: --store memory: relays and warns at start that it is not durable", async () => {
  const p = await pki();
  const dir = await Deno.makeTempDir();
  const clients: TestClient[] = [];
  try {
    const child = await spawnServer({ pki: p, args: ["--store", "memory:"] });
    try {
      const alice = await TestClient.connect(child.port, p, "alice");
      const bob = await TestClient.connect(child.port, p, "bob");
      clients.push(alice, bob);
      assert.equal(await alice.request("MESSAGE m1 bob aGk="), "OK m1");
      const [d] = await bob.deliveriesN(1);
      assert.deepEqual([d!.from, d!.payload], ["alice", "aGk="]);
      assert.match(child.output().join("\n"), /store_not_durable store=memory:/);
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
  } finally {
    for (const c of clients) await c.close();
    await Deno.remove(dir, { recursive: true });
  }
});
