// Tests tools/demo.ts through `deno task demo`, as the README's first command runs it: exit 0,
// the seven handshake steps in order with sizes, sealed messages and their acks, the offline
// delivery, the stored envelope and a tampered one refused with BAD_SEAL, cleanup.

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("deno task demo runs the whole story and cleans up", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "demo"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill(), 120_000);
  const out = await child.output();
  clearTimeout(timer);
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));

  const steps = [...stdout.matchAll(/^ {3}(->|<-) (M[1-7]) (\S+) \((\d+) B\)/gm)];
  assert.deepEqual(steps.map((m) => m[2]), ["M1", "M2", "M3", "M4", "M5", "M6", "M7"]);
  assert.deepEqual(steps.map((m) => m[1]), ["->", "<-", "->", "<-", "->", "<-", "->"]);
  assert.deepEqual(steps.map((m) => m[3]), [
    "SALAAM_ASL",
    "ASL_SALAAM",
    "ASYMCRYPO",
    "ASYMCRYPOOK",
    "SESSIONKEY",
    "SESSIONKEYOK",
    "LETS_TALK",
  ]);
  assert.equal(Number(steps[0]![4]), "SALAAM_ASL\n\n".length);
  for (const m of steps) assert.ok(Number(m[4]) > 0);

  assert.match(stdout, /secure channel up: X25519_AES_GCM/);
  assert.match(stdout, /forward secret: the session key came from ephemeral X25519 keys/);

  // Sealed: the payload on the wire and in the database is an envelope ("ASLE2E1\0" = QVNMRTJFMQA).
  const oneToOne =
    /alice → server {2}MESSAGE (\S+) bob QVNMRTJFMQA[^\n]*\n {3}server → alice {2}OK \1 /;
  assert.match(stdout, oneToOne);
  assert.match(
    stdout,
    /server → bob {4}MESSAGE (\S+) alice QVNMRTJFMQA[^\n]*\n {3}bob shows .* 🔒 alice: hello bob\n.*\n {3}bob → server {4}OK \1 /,
  );
  assert.doesNotMatch(stdout, /aGVsbG8gYm9i/); // "hello bob" in base64: never on show
  assert.match(stdout, /MESSAGE (\S+) \{bob,carol\} [^\n]+\n.*\n {3}server → alice {2}OK \1\n/);
  assert.match(stdout, /bob shows: lunch at noon\?/);
  assert.match(stdout, /carol shows: lunch at noon\?/);
  assert.match(stdout, /queued for carol, who is offline/);
  assert.match(stdout, /carol shows: see you tomorrow/);
  assert.match(stdout, /payload QVNMRTJFMQA/);
  assert.match(stdout, /the text is in the database: no\n/);
  assert.match(stdout, /carol → server {2}FAILED (\S+) BAD_SEAL {3}\(not shown\)/);
  assert.match(stdout, /carol is warned: a sealed message from alice was refused/);
  assert.doesNotMatch(stdout, /door code/);
  assert.doesNotMatch(stdout, /PRIVATE KEY|BEGIN CERTIFICATE/);

  const tmp = /^== 1\. A throwaway PKI in (\S+)$/m.exec(stdout)?.[1];
  assert.ok(tmp !== undefined);
  await assert.rejects(Deno.stat(tmp), Deno.errors.NotFound);
});
