// Tests tools/compile.ts (`deno task compile`): with a denort runtime at hand (DENORT_BIN, or
// one cached by an earlier deno compile) it builds both executables and runs their --help;
// without one that test is skipped (saying why) and the clear one-line failure is checked.

import assert from "node:assert/strict";
import { findRuntime, targets } from "../tools/compile.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const runtime = await findRuntime();
if (!runtime.available) {
  Deno.stderr.writeSync(
    new TextEncoder().encode(`compile_test: skipping the build test: ${runtime.detail}\n`),
  );
}

async function compileTask(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "compile", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...env },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** stderr without the `Task compile …` line deno task prints. */
function ownLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l !== "" && !l.startsWith("Task "));
}

Deno.test("the executables get only the permissions they need", () => {
  for (const t of targets("out")) {
    assert.ok(!t.permissions.includes("-A") && !t.permissions.includes("--allow-all"));
    assert.ok(
      !t.permissions.some((p) => p.startsWith("--allow-run") || p.startsWith("--allow-ffi")),
    );
    assert.ok(t.permissions.includes("--allow-net"));
    assert.match(t.output, /^out\/netsec-msg-(server|client)$/);
  }
});

Deno.test("a DENORT_BIN that is not a file fails with one clear line", async () => {
  const r = await compileTask(["--out", await Deno.makeTempDir()], {
    DENORT_BIN: "/nonexistent/denort",
  });
  assert.equal(r.code, 1);
  assert.deepEqual(ownLines(r.stderr), ["error: DENORT_BIN=/nonexistent/denort is not a file"]);
});

Deno.test({
  name: "without a runtime, compile fails with one line naming DENORT_BIN (or succeeds online)",
  ignore: runtime.available,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const r = await compileTask(["--only", "client", "--out", dir]);
      if (r.code === 0) {
        assert.ok((await Deno.stat(`${dir}/netsec-msg-client`)).isFile); // the download worked
      } else {
        assert.equal(r.code, 1);
        const lines = ownLines(r.stderr);
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0]!, /^error: .*netsec-msg-client: .*set DENORT_BIN/);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "deno task compile builds both executables and their --help runs",
  ignore: !runtime.available,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const r = await compileTask(["--out", dir]);
      assert.equal(r.code, 0, r.stderr);
      for (const name of ["netsec-msg-server", "netsec-msg-client"]) {
        const help = await new Deno.Command(`${dir}/${name}`, {
          args: ["--help"],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(help.code, 0, `${name} --help`);
        assert.match(new TextDecoder().decode(help.stdout), /Usage/i);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
