// Tests of tools/load/args.ts: defaults, --quick, --server/--pki, and every usage error.

import assert from "node:assert/strict";
import { parseHostPort, parseLoadArgs, UsageError } from "../tools/load/args.ts";
import { main } from "../tools/load.ts";

Deno.test("defaults describe a full run against a spawned server", () => {
  const o = parseLoadArgs([]);
  assert.equal(o.quick, false);
  assert.equal(o.faults, false);
  assert.deepEqual(o.server, { kind: "spawn" });
  assert.equal(o.pairs, 50);
  assert.equal(o.payloadBytes, 75);
  assert.deepEqual(o.idleCounts, [1000, 10_000]);
  assert.equal(o.relaySeconds, 15);
  assert.equal(o.handshakeSeconds, 8);
  assert.equal(o.serverPid, undefined);
  assert.equal(o.outDir, "bench/results");
  assert.equal(o.jsonPath, undefined);
  assert.equal([...o.phases].join(","), "rsa,records,disk,handshakes,relay,baseline,memory,idle");
  assert.equal(o.suite, "X25519_AES_GCM");
});

Deno.test("--suite names the one suite the ASL phases run with", () => {
  assert.equal(parseLoadArgs(["--suite", "AES_GCM"]).suite, "AES_GCM");
  assert.equal(parseLoadArgs(["--suite=AES_CBC", "--quick"]).suite, "AES_CBC");
  assert.equal(parseLoadArgs(["--suite", "X25519_AES_GCM"]).suite, "X25519_AES_GCM");
});

Deno.test("--phases and --cpu-prof select what runs and how", () => {
  const o = parseLoadArgs(["--phases", "relay,baseline", "--cpu-prof", "/tmp/prof"]);
  assert.deepEqual([...o.phases], ["relay", "baseline"]);
  assert.equal(o.cpuProfDir, "/tmp/prof");
  assert.equal(o.serverV8Flags, undefined);
  const capped = parseLoadArgs(["--faults", "--server-v8-flags=--max-old-space-size=64"]);
  assert.equal(capped.serverV8Flags, "--max-old-space-size=64");
  assert.equal(capped.idleSettleSeconds, 30);
  assert.equal(parseLoadArgs(["--quick"]).idleSettleSeconds, 18);
  assert.equal(parseLoadArgs(["--idle-settle", "5"]).idleSettleSeconds, 5);
  assert.throws(() => parseLoadArgs(["--idle-settle", "-1"]), UsageError);
});

Deno.test("--quick shortens phases and measures 1 000 idle sessions only", () => {
  const o = parseLoadArgs(["--quick", "--faults", "--json", "out.json"]);
  assert.equal(o.quick, true);
  assert.equal(o.faults, true);
  assert.deepEqual(o.idleCounts, [1000]);
  assert.equal(o.relaySeconds, 4);
  assert.equal(o.handshakeSeconds, 3);
  assert.equal(o.payloadBytes, 75);
  assert.equal(o.jsonPath, "out.json");
});

Deno.test("explicit values override the defaults", () => {
  const o = parseLoadArgs(
    "--pairs 10 --seconds 0.5 --handshake-seconds 2 --idle 20,100 --payload 300 --no-baseline"
      .split(" "),
  );
  assert.equal(o.pairs, 10);
  assert.equal(o.relaySeconds, 0.5);
  assert.equal(o.handshakeSeconds, 2);
  assert.deepEqual(o.idleCounts, [20, 100]);
  assert.equal(o.payloadBytes, 300);
  assert.equal(o.noBaseline, true);
});

Deno.test("--server HOST:PORT attaches and needs --pki", () => {
  const o = parseLoadArgs(["--server", "127.0.0.1:4287", "--pki", "certs", "--server-pid", "99"]);
  assert.deepEqual(o.server, { kind: "attach", hostname: "127.0.0.1", port: 4287 });
  assert.equal(o.pkiDir, "certs");
  assert.equal(o.serverPid, 99);
  assert.deepEqual(parseHostPort("[::1]:80"), { hostname: "::1", port: 80 });
  assert.deepEqual(parseHostPort("localhost:1"), { hostname: "localhost", port: 1 });
});

Deno.test("bad command lines are UsageErrors naming the problem", () => {
  const bad: [string[], RegExp][] = [
    [["--bogus"], /bogus/],
    [["extra"], /argument/i],
    [["--pairs", "0"], /--pairs must be between 1 and 500/],
    [["--pairs", "abc"], /--pairs needs a whole number/],
    [["--pairs", "501"], /--pairs must be between/],
    [["--seconds=-1"], /--seconds needs seconds/],
    [["--seconds", "-1"], /ambiguous/],
    [["--seconds", "0"], /--seconds needs seconds/],
    [["--idle", "10,x"], /--idle needs a whole number/],
    [["--idle", "15001"], /^--idle must be between 1 and 15000, got 15001$/],
    [["--payload", "8001"], /^--payload must be between 1 and 8000, got 8001$/],
    [["--handshake-seconds", "3601"], /^--handshake-seconds needs seconds between 0 and 3600/],
    [["--idle-settle", "0"], /^--idle-settle needs seconds between 0 and 3600, got "0"$/],
    [["--server", "h:1", "--pki", "d", "--server-pid", "0"], /^--server-pid must be between 1/],
    [["--server", "nohost"], /--server needs HOST:PORT/],
    [["--server", "h:70000", "--pki", "d"], /--server needs HOST:PORT/],
    [["--server", "127.0.0.1:1"], /--server needs --pki/],
    [["--pki", "certs"], /only make sense with --server/],
    [["--phases", "relay,warp"], /--phases: unknown phase "warp"/],
    [["--server-pid", "5"], /only make sense with --server/],
    [["--suite", "DES_CBC"], /^--suite: unknown suite "DES_CBC" \(known: X25519_AES_GCM, /],
    [["--suite", "aes_gcm"], /--suite: unknown suite "aes_gcm"/],
    [["--suite", ""], /--suite: an empty suite name/],
    [["--suite", "AES_GCM,AES_CBC"], /--suite takes one suite name, got "AES_GCM,AES_CBC"/],
    [["--suite"], /--suite/],
    [["--nodes", "2"], /^--nodes only makes sense with --store$/],
    [["--store", "pg", "--nodes", "0"], /^--nodes must be between 1 and 4, got 0$/],
    [["--store", "pg", "--nodes", "5"], /^--nodes must be between 1 and 4, got 5$/],
    [["--store", "pg", "--nodes", "two"], /^--nodes needs a whole number, got "two"$/],
    [["--store", "mysql://x@h/db"], /^--store: the store must be sqlite:PATH, postgres:/],
    [["--store", "postgres://u:secret@h/db"], /^--store: the store URL must not hold a password/],
    [["--store", "postgres://u@h"], /^--store: the store URL needs one database name/],
    [["--store", "sqlite:/tmp/x.db"], /^--store takes postgres:\/\/USER@HOST:PORT\/DB or pg/],
    [["--store-password-file", "/tmp/pw"], /^--store-password-file only makes sense with --store/],
    [["--store", "pg", "--store-password-file", "/p"], /does not apply to --store pg/],
    [["--store", "postgres://u@h/db", "--store-password-file="], /needs a file name/],
    [["--store", "pg", "--phases", "baseline"], /--phases must include relay$/],
    [
      ["--store", "pg", "--server", "127.0.0.1:1", "--pki", "d"],
      /^--store needs spawned servers: it cannot be used with --server$/,
    ],
  ];
  for (const [argv, message] of bad) {
    assert.throws(() => parseLoadArgs(argv), (err: unknown) => {
      assert.ok(err instanceof UsageError, `${argv.join(" ")}: ${String(err)}`);
      assert.match(err.message, message);
      return true;
    });
  }
});

Deno.test("an unknown --suite ends the tool with exit code 2 before anything runs", async () => {
  assert.equal(await main(["--suite", "DES_CBC", "--quick"]), 2);
});

Deno.test("--store and --nodes run the relay on PostgreSQL too", () => {
  const none = parseLoadArgs([]);
  assert.equal(none.pgStore, undefined);
  assert.equal(none.nodes, 2);
  const url = parseLoadArgs([
    "--store",
    "postgres://netsec@127.0.0.1:5433/bench",
    "--store-password-file",
    "/run/pw",
    "--nodes",
    "3",
  ]);
  assert.deepEqual(url.pgStore, {
    kind: "url",
    location: {
      kind: "postgres",
      host: "127.0.0.1",
      port: 5433,
      database: "bench",
      user: "netsec",
    },
    passwordFile: "/run/pw",
  });
  assert.equal(url.nodes, 3);
  const noFile = parseLoadArgs(["--store", "postgresql://netsec@db/chat", "--nodes", "1"]);
  assert.deepEqual(noFile.pgStore, {
    kind: "url",
    location: { kind: "postgres", host: "db", port: 5432, database: "chat", user: "netsec" },
  });
  assert.equal(noFile.nodes, 1);
  for (const name of ["pg", "postgres", "throwaway"]) {
    assert.deepEqual(parseLoadArgs(["--store", name]).pgStore, { kind: "throwaway" });
  }
});

Deno.test("the new flags' usage errors end the tool with exit code 2, one line, no secret", async () => {
  const seen: string[] = [];
  const write = Deno.stderr.writeSync;
  Deno.stderr.writeSync = (p: Uint8Array) => {
    seen.push(new TextDecoder().decode(p));
    return p.length;
  };
  try {
    assert.equal(await main(["--nodes", "2"]), 2);
    assert.equal(await main(["--store", "postgres://u:hunter2@h/db"]), 2);
    const missing = `/nonexistent-${crypto.randomUUID()}`;
    assert.equal(
      await main(["--store", "postgres://u@h/db", "--store-password-file", missing]),
      2,
    );
  } finally {
    Deno.stderr.writeSync = write;
  }
  assert.deepEqual(seen.map((l) => l.split("\n").length), [2, 2, 2]);
  assert.match(seen[0] ?? "", /^load: --nodes only makes sense with --store \(see --help\)\n$/);
  assert.match(seen[1] ?? "", /must not hold a password/);
  assert.ok(!seen.join("").includes("hunter2"));
  assert.match(seen[2] ?? "", /^load: --store-password-file: cannot read \/nonexistent-/);
});
