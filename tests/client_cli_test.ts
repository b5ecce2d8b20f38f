// Tests cli/client/cli.ts: argument parsing and help per subcommand, then `client.ts send`,
// `listen` and the chat (piped stdin) as child processes against a real server on loopback:
// exit codes, one-line errors, JSON output, acks, first-use certificates, handshake codes.

import assert from "node:assert/strict";
import { EXIT, HELP, main, parseCli, UsageError } from "../cli/client/cli.ts";
import { sha256Fingerprint, sha256FingerprintBase64 } from "../lib/pki/fingerprint.ts";
import { connect } from "../lib/client/client.ts";
import { serve } from "../lib/server/serve.ts";
import { makeTestPki } from "./helpers/pki.ts";
import { issueUser } from "../lib/pki/pki_files.ts";
import { decodePemCertificates } from "../lib/pki/pem.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const CLIENT_TS = `${ROOT}client.ts`;
const CONFIG = `${ROOT}deno.json`;
const VECTOR_CA = `${ROOT}tests/fixtures/asl-vectors/ca.crt`;

/** A fixed environment: parseCli never looks at the real HOME here. */
const ENV = (name: string) => ({ HOME: "/home/t" } as Record<string, string>)[name];

function usage(args: string[]): string {
  try {
    parseCli(args, ENV);
  } catch (err) {
    assert.ok(err instanceof UsageError, String(err));
    return err.message;
  }
  assert.fail(`expected a usage error for ${args.join(" ")}`);
}

/** Drives a child through `steps` (write, or wait until stdout matches), then collects it. */
async function runSteps(child: Deno.ChildProcess, steps: Exclude<Stdin, string>): Promise<Run> {
  const dec = new TextDecoder();
  let stdout = "";
  let stderr = "";
  const outDone = (async () => {
    for await (const chunk of child.stdout) stdout += dec.decode(chunk, { stream: true });
  })();
  const errDone = (async () => {
    for await (const chunk of child.stderr) stderr += dec.decode(chunk, { stream: true });
  })();
  const writer = child.stdin.getWriter();
  const timer = setTimeout(() => child.kill(), 60_000);
  try {
    for (const step of steps) {
      if ("write" in step) await writer.write(new TextEncoder().encode(step.write));
      else {
        const deadline = Date.now() + 30_000;
        while (!step.waitFor.test(stdout) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    }
    await writer.close();
    const status = await child.status;
    await Promise.all([outDone, errDone]);
    return { code: status.code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("parseCli: subcommands, defaults and flags", () => {
  const chat = parseCli(["--user", "alice"], ENV);
  assert.equal(chat.name, "chat");
  if (chat.name === "chat") {
    assert.equal(chat.common.host, "localhost");
    assert.equal(chat.common.port, 4287);
    assert.equal(chat.common.ca, "certs/ca.pem");
    assert.equal(chat.common.cert, "certs/alice.pem");
    assert.equal(chat.common.key, "certs/alice.key");
    assert.equal(chat.common.stateDir, "/home/t/.local/state/netsec-msg");
    assert.equal(chat.common.explicitStateDir, false);
    assert.equal(chat.common.defaultPaths, true);
  }
  const send = parseCli([
    "send",
    "--user",
    "alice",
    "--to",
    "bob,carol",
    "--port",
    "7000",
    "hi there",
  ]);
  assert.equal(send.name, "send");
  if (send.name === "send") {
    assert.equal(send.to, "bob,carol");
    assert.equal(send.text, "hi there");
    assert.equal(send.common.port, 7000);
    assert.equal(send.timeoutMs, 30_000);
  }
  const listen = parseCli(
    ["listen", "--user", "bob", "--json", "--count", "3", "--cert", "x.pem", "--state-dir", "/s"],
    ENV,
  );
  assert.equal(listen.name, "listen");
  if (listen.name === "listen") {
    assert.equal(listen.json, true);
    assert.equal(listen.count, 3);
    assert.equal(listen.common.defaultPaths, false);
    assert.equal(listen.common.stateDir, "/s");
    assert.equal(listen.common.explicitStateDir, true);
  }
  const whois = parseCli(["whois", "--user", "alice", "bob"], ENV);
  assert.equal(whois.name, "whois");
  if (whois.name === "whois") assert.equal(whois.target, "bob");
  const xdg = parseCli(["--user", "alice"], (n) => n === "XDG_STATE_HOME" ? "/xdg" : undefined);
  if (xdg.name === "chat") assert.equal(xdg.common.stateDir, "/xdg/netsec-msg");
  // Sealing is the default; --no-seal and --sealed-only on every subcommand.
  if (xdg.name === "chat") {
    assert.deepEqual([xdg.common.seal, xdg.common.sealedOnly], [true, false]);
  }
  const plain = parseCli(
    ["send", "--user", "a", "--to", "b", "--no-seal", "--sealed-only", "x"],
    ENV,
  );
  if (plain.name === "send") {
    assert.deepEqual([plain.common.seal, plain.common.sealedOnly], [false, true]);
  }
  const trust = parseCli(["trust", "--user", "alice", "bob"], ENV);
  assert.equal(trust.name, "trust");
  if (trust.name === "trust") assert.equal(trust.target, "bob");
  assert.throws(() => parseCli(["trust", "--user", "alice"], ENV), UsageError);
});

Deno.test("parseCli: --help for each subcommand, without other flags", () => {
  assert.deepEqual(parseCli(["--help"]), { name: "help", text: HELP.chat });
  assert.deepEqual(parseCli(["send", "-h"]), { name: "help", text: HELP.send });
  assert.deepEqual(parseCli(["listen", "--help"]), { name: "help", text: HELP.listen });
  assert.deepEqual(parseCli(["whois", "--help"]), { name: "help", text: HELP.whois });
});

Deno.test("parseCli: --suites chooses the offer; absent, the library default", () => {
  const only = parseCli(["--user", "alice", "--suites", "X25519_AES_GCM"], ENV);
  assert.ok(only.name === "chat");
  assert.deepEqual(only.common.suites, ["X25519_AES_GCM"]);
  const rsa = parseCli(
    ["send", "--user", "alice", "--to", "bob", "--suites", "AES_GCM,AES_CBC"],
    ENV,
  );
  assert.ok(rsa.name === "send");
  assert.deepEqual(rsa.common.suites, ["AES_GCM", "AES_CBC"]);
  const plain = parseCli(["--user", "alice"], ENV);
  assert.ok(plain.name === "chat");
  assert.equal(plain.common.suites, undefined);
});

Deno.test("parseCli: every usage error is one line naming the problem", () => {
  assert.match(usage([]), /--user is required/);
  assert.match(usage(["--user", "al_ice"]), /not a user id/);
  assert.match(usage(["--user", "alice", "--port", "70000"]), /--port must be a whole number/);
  assert.match(usage(["--user", "alice", "--port", "x"]), /--port/);
  assert.match(usage(["--user", "alice", "--bogus"]), /bogus/);
  assert.match(usage(["send", "--user", "alice", "hi"]), /--to is required/);
  assert.match(usage(["send", "--user", "alice", "--to", "bob", "a", "b"]), /one argument/);
  assert.match(
    usage(["send", "--user", "alice", "--to", "bob,b_b", "x"]),
    /^--to: .*not a user id/,
  );
  assert.match(usage(["send", "--user", "alice", "--to", "bob,bob", "x"]), /^--to: .*named twice/);
  assert.match(usage(["listen", "--user", "bob", "--count", "0"]), /--count/);
  assert.match(usage(["listen", "--user", "bob", "stray"]), /stray|positional/i);
  assert.match(usage(["--user", "alice", "--suites", "DES_CBC"]), /^--suites: unknown suite/);
  assert.match(usage(["--user", "alice", "--suites", "AES_GCM,AES_GCM"]), /^--suites: .*twice/);
  assert.match(usage(["--user", "alice", "--suites", ""]), /^--suites: /);
  for (
    const args of [[], ["--user", "alice", "--bogus"], ["listen", "--user", "b", "--count", "-1"]]
  ) {
    assert.ok(!usage(args).includes("\n"));
  }
});

// ---------------------------------------------------------------- child processes

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Standard input for `run`: a text written at once, or steps that wait for output between writes. */
type Stdin = string | readonly ({ readonly write: string } | { readonly waitFor: RegExp })[];

async function run(cwd: string, args: string[], stdin?: Stdin): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      CONFIG,
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      CLIENT_TS,
      ...args,
    ],
    cwd,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    // The state directory is inside the test's temp dir, never the real home.
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", XDG_STATE_HOME: `${cwd}/state` },
  }).spawn();
  if (typeof stdin === "object") return await runSteps(child, stdin);
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const timer = setTimeout(() => child.kill(), 60_000);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("client.ts: send, listen and chat against a real server", async (t) => {
  const dir = await Deno.makeTempDir();
  const pki = await makeTestPki(`${dir}/certs`, { users: ["alice", "bob", "carol"] });
  const server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    credentials: await pki.credentials("server"),
    trust: pki.trust,
    dataPath: `${dir}/db.sqlite`,
  });
  const port = String(server.addr.port);
  const net = ["--host", "localhost", "--port", port];
  try {
    // bob and carol become known users.
    for (const name of ["bob", "carol"]) {
      const c = await connect({
        user: name,
        port: server.addr.port,
        credentials: await pki.credentials(name),
        trust: pki.trust,
      });
      await c.close();
    }

    await t.step("--help of each subcommand exits 0", async () => {
      for (const args of [["--help"], ["send", "--help"], ["listen", "--help"], ["whois", "-h"]]) {
        const r = await run(dir, args);
        assert.equal(r.code, EXIT.OK);
        assert.match(r.stdout, /^Usage: deno task client/);
      }
    });

    await t.step("send: OK exits 0, from an argument and from stdin, to a group", async () => {
      const one = await run(dir, ["send", "--user", "alice", "--to", "bob", ...net, "hello bob"]);
      assert.equal(one.code, EXIT.OK, one.stderr);
      assert.match(one.stdout, /^OK [A-Za-z0-9_-]+\n$/);
      const two = await run(
        dir,
        ["send", "--user", "alice", "--to", "bob,carol", ...net],
        "hi both\n",
      );
      assert.equal(two.code, EXIT.OK, two.stderr);
    });

    await t.step("send: FAILED exits 1 with the reason on one line", async () => {
      const r = await run(dir, ["send", "--user", "alice", "--to", "nobody", ...net, "x"]);
      assert.equal(r.code, EXIT.FAILED);
      assert.equal(r.stderr, "FAILED: UNKNOWN_USER: a recipient is not known to the server\n");
      const big = await run(dir, [
        "send",
        "--user",
        "alice",
        "--to",
        "bob",
        ...net,
        "x".repeat(9000),
      ]);
      assert.equal(big.code, EXIT.FAILED);
      assert.match(big.stderr, /^FAILED: TOO_LARGE: .*11111 characters/);
      assert.equal(big.stderr.trim().split("\n").length, 1);
    });

    await t.step("listen --json --count: prints, acks, exits", async () => {
      const r = await run(dir, ["listen", "--user", "bob", "--json", "--count", "2", ...net]);
      assert.equal(r.code, EXIT.OK, r.stderr);
      const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(lines.map((l) => [l.from, l.text]), [["alice", "hello bob"], [
        "alice",
        "hi both",
      ]]);
      for (const l of lines) {
        assert.match(l.sid, /^[A-Za-z0-9_-]+$/);
        assert.equal(l.sealed, true);
        assert.equal(l.sender_fingerprint, await sha256FingerprintBase64(pki.chain("alice")[0]!));
        assert.ok(!Number.isNaN(Date.parse(l.received_at)));
      }
      // Both were acknowledged: the next listen starts with a new message.
      const sent = await run(dir, ["send", "--user", "alice", "--to", "bob", ...net, "third"]);
      assert.equal(sent.code, EXIT.OK);
      const next = await run(dir, ["listen", "--user", "bob", "--count", "1", ...net]);
      assert.equal(next.code, EXIT.OK, next.stderr);
      assert.match(next.stdout, /^\[\d\d:\d\d\] 🔒 alice: third\n$/);
    });

    await t.step("chat with piped stdin: send, fate, /who am i, incoming, /quit", async () => {
      // The queued message is opened (a CERT lookup for alice) while the chat runs: quit once
      // it is shown, as a person would.
      const r = await run(dir, ["--user", "carol", ...net], [
        { write: "@bob from chat\n/who am i\n" },
        { waitFor: /alice: hi both\n/ },
        { write: "/quit\n" },
      ]);
      assert.equal(r.code, EXIT.OK, r.stderr);
      assert.match(r.stdout, /\[\d\d:\d\d\] 🔒 alice: hi both\n/); // queued for carol earlier
      assert.match(r.stdout, /carol → bob: from chat {2}\(#1\)/);
      assert.match(r.stdout, /#1 to bob delivered to the server/);
      assert.match(r.stdout, /you are carol/);
      assert.match(r.stdout, /suite {8}X25519_AES_GCM/);
    });

    await t.step("the seen memory is kept in the state directory, per server", async () => {
      const files = [...Deno.readDirSync(`${dir}/state/netsec-msg/seen/bob`)];
      assert.equal(files.length, 1);
      assert.match(files[0]!.name, /^[0-9a-f]{32}\.seen$/);
      await assert.rejects(Deno.stat(`${dir}/.client-state`), Deno.errors.NotFound);
    });

    await t.step("whois: the validated identity and the leaf's fingerprint (exit 0)", async () => {
      const r = await run(dir, ["whois", "--user", "alice", ...net, "bob"]);
      assert.equal(r.code, EXIT.OK, r.stderr);
      const fp = await sha256Fingerprint(pki.chain("bob")[0]!);
      const e2eFp = await sha256FingerprintBase64(pki.chain("bob")[0]!);
      assert.equal(r.stdout, `bob SHA-256 ${fp}\nbob fingerprint ${e2eFp} pin accepted\n`);
    });

    await t.step("whois: a failed lookup is one line and exit 1", async () => {
      // nobody was never registered: the server answers FAILED nobody UNKNOWN_USER.
      const r = await run(dir, ["whois", "--user", "alice", ...net, "nobody"]);
      assert.equal(r.code, EXIT.FAILED);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /^whois nobody: UNKNOWN_USER: [^\n]+\n$/);
    });

    await t.step("--suites: the offer decides the suite (AES_CBC only here)", async () => {
      const r = await run(dir, [
        "send",
        "--user",
        "alice",
        "--to",
        "bob",
        "--suites",
        "AES_CBC",
        "--verbose",
        ...net,
        "over CBC",
      ]);
      assert.equal(r.code, EXIT.OK, r.stderr);
      assert.match(r.stderr, /offer AES_CBC\b/);
      assert.match(r.stderr, /suite AES_CBC/);
    });

    await t.step("a user certificate is made on first use from the local dev CA", async () => {
      const r = await run(dir, ["send", "--user", "erin", "--to", "bob", ...net, "new here"]);
      assert.equal(r.code, EXIT.OK, r.stderr);
      assert.match(r.stderr, /made certs\/erin\.pem and certs\/erin\.key for erin/);
      assert.ok((await Deno.stat(`${dir}/certs/erin.pem`)).isFile);
    });

    await t.step(
      "a missing certificate elsewhere is one line saying what to run (exit 2)",
      async () => {
        const r = await run(dir, [
          "send",
          "--user",
          "frank",
          "--cert",
          "nowhere/frank.pem",
          "--key",
          "nowhere/frank.key",
          "--to",
          "bob",
          ...net,
          "x",
        ]);
        assert.equal(r.code, EXIT.USAGE);
        assert.equal(
          r.stderr,
          `error: no certificate nowhere/frank.pem for frank: run "deno task certs user frank" (or pass --cert and --key)\n`,
        );
      },
    );

    await t.step(
      "handshake failures: the ASL code and a one-line explanation (exit 1)",
      async () => {
        const r = await run(dir, [
          "send",
          "--user",
          "alice",
          "--to",
          "bob",
          "--ca",
          VECTOR_CA,
          ...net,
          "x",
        ]);
        assert.equal(r.code, EXIT.FAILED);
        assert.equal(
          r.stderr,
          `error: UNKNOWN_CA: the server's certificate is not signed by ${VECTOR_CA}\n`,
        );
      },
    );

    await t.step(
      "--sealed-only refuses a plain message; listen --json marks sealed ones",
      async () => {
        const made = await run(dir, ["send", "--user", "gina", "--to", "alice", ...net, "hi"]);
        assert.equal(made.code, EXIT.OK, made.stderr); // gina exists now, with a certificate
        const plain = await run(dir, [
          "send",
          "--user",
          "alice",
          "--to",
          "gina",
          "--no-seal",
          ...net,
          "plain one",
        ]);
        assert.equal(plain.code, EXIT.OK, plain.stderr);
        const sealed = await run(dir, [
          "send",
          "--user",
          "alice",
          "--to",
          "gina",
          ...net,
          "sealed one",
        ]);
        assert.equal(sealed.code, EXIT.OK, sealed.stderr);
        const r = await run(dir, [
          "listen",
          "--user",
          "gina",
          "--json",
          "--sealed-only",
          "--count",
          "1",
          ...net,
        ]);
        assert.equal(r.code, EXIT.OK, r.stderr);
        const line = JSON.parse(r.stdout.trim());
        assert.deepEqual([line.text, line.sealed], ["sealed one", true]);
        assert.equal(
          line.sender_fingerprint,
          await sha256FingerprintBase64(pki.chain("alice")[0]!),
        );
        assert.match(r.stderr, /refused a message from alice that was not sealed/);
      },
    );

    await t.step(
      "a re-issued certificate: send refused with both fingerprints until trust",
      async () => {
        const oldFp = await sha256FingerprintBase64(
          decodePemCertificates(await Deno.readTextFile(`${dir}/certs/gina.pem`))[0]!,
        );
        await issueUser({ dir: `${dir}/certs`, userId: "gina", force: true }); // certs user gina --force
        assert.ok((await Deno.stat(`${dir}/certs/gina.key.1`)).isFile); // the old key is kept
        const newFp = await sha256FingerprintBase64(
          decodePemCertificates(await Deno.readTextFile(`${dir}/certs/gina.pem`))[0]!,
        );
        const reg = await run(dir, ["whois", "--user", "gina", ...net, "gina"]); // registers anew
        assert.equal(reg.code, EXIT.OK, reg.stderr);
        const refused = await run(dir, ["send", "--user", "alice", "--to", "gina", ...net, "x"]);
        assert.equal(refused.code, EXIT.FAILED);
        assert.match(refused.stderr, /^FAILED: PIN_PENDING: gina's certificate changed/);
        assert.ok(refused.stderr.includes(oldFp) && refused.stderr.includes(newFp));
        const whois = await run(dir, ["whois", "--user", "alice", ...net, "gina"]);
        assert.match(
          whois.stdout,
          new RegExp(`gina fingerprint ${newFp.replace(/[+/]/g, "\\$&")} pin pending`),
        );
        const trusted = await run(dir, ["trust", "--user", "alice", ...net, "gina"]);
        assert.equal(trusted.code, EXIT.OK, trusted.stderr);
        assert.equal(
          trusted.stdout,
          `gina accepted before: ${oldFp}\ngina accepted now:    ${newFp}\n`,
        );
        const sent = await run(dir, [
          "send",
          "--user",
          "alice",
          "--to",
          "gina",
          ...net,
          "after trust",
        ]);
        assert.equal(sent.code, EXIT.OK, sent.stderr);
        const r = await run(dir, ["listen", "--user", "gina", "--json", "--count", "1", ...net]);
        assert.equal(JSON.parse(r.stdout.trim()).text, "after trust");
      },
    );
  } finally {
    await server.close();
  }
  try {
    const refused = await run(dir, ["send", "--user", "alice", "--to", "bob", ...net, "x"]);
    assert.equal(refused.code, EXIT.FAILED);
    assert.match(
      refused.stderr,
      /^error: CONNECTION_REFUSED: nothing is listening on localhost:\d+/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("whois usage errors exit 2 with one line, before connecting", async () => {
  const cases: [string[], RegExp][] = [
    [["whois", "--user", "alice"], /needs the user id/],
    [["whois", "--user", "alice", "bob", "carol"], /one user id at a time/],
    [["whois", "--user", "alice", "b_b"], /"b_b" is not a user id/],
    [["whois", "bob"], /--user is required/],
    [["whois", "--user", "alice", "--bogus", "bob"], /bogus/],
  ];
  for (const [args, expected] of cases) {
    let err = "";
    const code = await main([...args, "--state-dir", "/nonexistent/never-created"], {
      stdout: () => assert.fail("nothing on stdout"),
      stderr: (text) => err += text,
      stdin: new ReadableStream(),
      stdinIsTerminal: false,
    });
    assert.equal(code, EXIT.USAGE, args.join(" "));
    assert.match(err, expected);
    assert.match(err, /^error: [^\n]*\n$/);
  }
});

Deno.test("client.ts with no PKI at all says which two commands to run (exit 2)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await run(dir, ["--user", "alice"]);
    assert.equal(r.code, EXIT.USAGE);
    assert.equal(
      r.stderr,
      `error: no CA file certs/ca.pem and no certificate for alice: run "deno task certs init" ` +
        `and "deno task certs user alice"\n`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
