import assert from "node:assert/strict";
import { FLAGS, helpText, parseServerConfig } from "../lib/server/config.ts";
import { ServerError } from "../lib/server/errors.ts";

Deno.test("config: defaults are the spec's", () => {
  const c = parseServerConfig([], {});
  assert.notEqual(c, "help");
  if (c === "help") return;
  assert.deepEqual(
    {
      host: c.host,
      port: c.port,
      ca: c.ca,
      cert: c.cert,
      key: c.key,
      crl: c.crl,
      crlRequired: c.crlRequired,
      data: c.data,
      storeThread: c.storeThread,
      suites: c.suites,
      handshakeTimeoutMs: c.handshakeTimeoutMs,
      registerTimeoutMs: c.registerTimeoutMs,
      inflight: c.inflight,
      queueMax: c.queueMax,
      senderQueueMax: c.senderQueueMax,
      rate: c.rate,
      burst: c.burst,
      logLevel: c.logLevel,
      defaultCertPaths: c.defaultCertPaths,
    },
    {
      host: "127.0.0.1",
      port: 4287,
      ca: "certs/ca.pem",
      cert: "certs/server.pem",
      key: "certs/server.key",
      crl: "certs/ca.crl",
      crlRequired: false,
      data: "data/netsec-msg.db",
      storeThread: "main",
      suites: ["X25519_AES_GCM", "AES_GCM", "AES_CBC"],
      handshakeTimeoutMs: 10_000,
      registerTimeoutMs: 10_000,
      inflight: 100,
      queueMax: 10_000,
      senderQueueMax: 1_000,
      rate: 1000,
      burst: 2000,
      logLevel: "info",
      defaultCertPaths: true,
    },
  );
});

Deno.test("config: every flag has an environment variable; flags win over it", () => {
  for (const f of FLAGS) assert.match(f.env, /^NETSEC_[A-Z_]+$/);
  const env = {
    NETSEC_PORT: "5000",
    NETSEC_RATE: "0",
    NETSEC_SUITES: "AES_CBC",
    NETSEC_VERBOSE: "1",
    NETSEC_CA: "x/ca.pem",
    NETSEC_REGISTER_TIMEOUT: "0.5",
    NETSEC_STORE_THREAD: "worker",
  };
  const c = parseServerConfig(["--port", "6000", "--inflight=7"], env);
  assert.notEqual(c, "help");
  if (c === "help") return;
  assert.equal(c.port, 6000);
  assert.equal(c.rate, 0);
  assert.equal(c.inflight, 7);
  assert.deepEqual(c.suites, ["AES_CBC"]);
  assert.equal(c.logLevel, "debug");
  assert.equal(c.ca, "x/ca.pem");
  assert.equal(c.defaultCertPaths, false);
  assert.equal(c.registerTimeoutMs, 500);
  assert.equal(c.storeThread, "worker");
  const m = parseServerConfig(["--store-thread", "main"], { NETSEC_STORE_THREAD: "worker" });
  assert.ok(m !== "help" && m.storeThread === "main");
  const d = parseServerConfig(["--crl", "my.crl", "--rate", "10", "--burst", "15"], {});
  assert.ok(d !== "help" && d.crlRequired && d.rate === 10 && d.burst === 15);
  const help = helpText();
  for (const f of FLAGS) {
    assert.ok(help.includes(`--${f.flag}`), f.flag);
    assert.ok(help.includes(f.env), f.env);
  }
  assert.equal(parseServerConfig(["--help"], {}), "help");
  assert.equal(parseServerConfig(["-h"], {}), "help");
});

Deno.test("config: bad values are USAGE errors with one-line messages", () => {
  const bad: [string[], Record<string, string>][] = [
    [["--port", "70000"], {}],
    [["--port", "-1"], {}],
    [[], { NETSEC_PORT: "http" }],
    [["--suites", "DES_CBC"], {}],
    [["--suites", "AES_GCM,AES_GCM"], {}],
    [["--inflight", "0"], {}],
    [["--handshake-timeout", "0"], {}],
    [["--register-timeout", "soon"], {}],
    [["--log-level", "loud"], {}],
    [["--nope"], {}],
    [["positional"], {}],
    [["--data", ""], {}],
    [["--verbose=yes"], {}],
    [["--store-thread", "both"], {}],
    [[], { NETSEC_STORE_THREAD: "thread" }],
  ];
  for (const [args, env] of bad) {
    assert.throws(
      () => parseServerConfig(args, env),
      (err) => err instanceof ServerError && err.code === "USAGE" && !err.message.includes("\n"),
      JSON.stringify([args, env]),
    );
  }
});

Deno.test("config: pending-handshake bounds and the CRL check interval", () => {
  const d = parseServerConfig([], {});
  assert.ok(d !== "help");
  assert.equal(d.maxPendingHandshakes, 1024);
  assert.equal(d.maxPendingPerAddress, 64);
  assert.equal(d.crlCheckMs, 2000);
  const c = parseServerConfig(["--max-pending-ip", "8", "--crl-check", "0.25"], {
    NETSEC_MAX_PENDING: "100",
    NETSEC_MAX_PENDING_IP: "9",
  });
  assert.ok(c !== "help");
  assert.equal(c.maxPendingHandshakes, 100);
  assert.equal(c.maxPendingPerAddress, 8); // the flag wins over its variable
  assert.equal(c.crlCheckMs, 250);
  for (
    const args of [
      ["--max-pending-ip", "0"],
      ["--max-pending", "x"],
      ["--crl-check", "0"],
    ]
  ) {
    assert.throws(
      () => parseServerConfig(args, {}),
      (e) => e instanceof ServerError && e.code === "USAGE" && !e.message.includes("\n"),
    );
  }
});
