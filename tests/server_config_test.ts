import assert from "node:assert/strict";
import { FLAGS, helpText, parseServerConfig } from "../cli/server/config.ts";
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

Deno.test("config: --store selects sqlite or postgres; --data is short for sqlite", () => {
  const store = (args: string[], env: Record<string, string> = {}) => {
    const c = parseServerConfig(args, env);
    if (c === "help") throw new Error("help");
    return { store: c.store, data: c.data };
  };
  assert.deepEqual(store([]).store, { kind: "sqlite", path: "data/netsec-msg.db" });
  assert.deepEqual(store(["--data", "x.db"]), {
    store: { kind: "sqlite", path: "x.db" },
    data: "x.db",
  });
  assert.deepEqual(store(["--store", "sqlite:y.db"]), {
    store: { kind: "sqlite", path: "y.db" },
    data: "y.db",
  });
  assert.deepEqual(store(["--store", "postgres://netsec@db.example:5433/chat"]).store, {
    kind: "postgres",
    host: "db.example",
    port: 5433,
    database: "chat",
    user: "netsec",
  });
  assert.deepEqual(store([], { NETSEC_STORE: "postgresql://u@h/d" }).store, {
    kind: "postgres",
    host: "h",
    port: 5432,
    database: "d",
    user: "u",
  });
  // A flag wins over the environment, whichever of the two it is.
  assert.deepEqual(store(["--data", "f.db"], { NETSEC_STORE: "postgres://u@h/d" }).store, {
    kind: "sqlite",
    path: "f.db",
  });
  assert.equal(
    store(["--store", "postgres://u@h/d"], { NETSEC_DATA: "f.db" }).store.kind,
    "postgres",
  );
});

Deno.test("config: bad --store values are one-line usage errors that never echo a password", () => {
  const cases: [string[], Record<string, string>, string][] = [
    [
      ["--store", "mysql://u@h/d"],
      {},
      "--store: the store must be sqlite:PATH, postgres://USER@HOST:PORT/DB or memory:",
    ],
    [["--store", "sqlite:"], {}, "--store: a sqlite: store needs a file path (sqlite:PATH)"],
    [
      ["--store", "postgres://u:hunter2@h/d"],
      {},
      "--store: the store URL must not hold a password: use PGPASSWORD or --store-password-file",
    ],
    [
      ["--store", "postgres://h/d"],
      {},
      "--store: the store URL needs a user name (postgres://USER@HOST:PORT/DB)",
    ],
    [
      ["--store", "postgres://u@h"],
      {},
      "--store: the store URL needs one database name (postgres://USER@HOST:PORT/DB)",
    ],
    [
      ["--store", "postgres://u@h:0/d"],
      {},
      "--store: the store URL's port must be from 1 to 65535",
    ],
    [
      ["--store", "postgres://u@h/d?sslmode=require"],
      {},
      "--store: the store URL takes no ?parameters or #fragment (postgres://USER@HOST:PORT/DB)",
    ],
    [["--store", "sqlite:a.db", "--data", "b.db"], {}, "give --store or --data, not both"],
    [
      [],
      { NETSEC_STORE: "sqlite:a.db", NETSEC_DATA: "b.db" },
      "set NETSEC_STORE or NETSEC_DATA, not both",
    ],
  ];
  for (const [args, env, message] of cases) {
    assert.throws(
      () => parseServerConfig(args, env),
      (err) => err instanceof ServerError && err.code === "USAGE" && err.message === message,
      args.join(" "),
    );
  }
});

Deno.test("config: the PostgreSQL password comes from a file or PGPASSWORD, and is not in --help", () => {
  const c = parseServerConfig(["--store-password-file", "/run/pw"], { PGPASSWORD: "pw1" });
  if (c === "help") throw new Error("help");
  assert.equal(c.storePasswordFile, "/run/pw");
  assert.equal(c.storePassword, "pw1");
  const none = parseServerConfig([], {});
  if (none === "help") throw new Error("help");
  assert.equal(none.storePasswordFile, undefined);
  assert.equal(none.storePassword, undefined);
  assert.match(
    helpText(),
    /--store URL +sqlite:FILE, postgres:\/\/USER@HOST:PORT\/DB .*or memory:/,
  );
  assert.match(helpText(), /env NETSEC_STORE_PASSWORD_FILE/);
});
