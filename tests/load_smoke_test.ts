// Smoke test of the load tool (issue #6): one short run of tools/load.ts with tiny numbers,
// as `deno task load` runs it (same permissions), against a spawned server child; checks
// the exit code, the JSON fields other tooling reads, the SVG, and that no child is left.

import assert from "node:assert/strict";

const PERMISSIONS = [
  "--allow-net=127.0.0.1,localhost",
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env",
  "--allow-sys",
];

/**
 * Processes the load tool started (server children, the TLS relay) that are still alive. The
 * tool runs with TMPDIR set to this test's directory, so every child it starts names a path
 * under it; other load runs on the same machine are not counted.
 */
function leftovers(dir: string): string[] {
  const out = new Deno.Command("pgrep", {
    args: ["-af", dir],
    stdout: "piped",
  }).outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.trim() !== "");
}

Deno.test({
  name: "load tool: a tiny --quick run writes the JSON fields and the chart",
  sanitizeResources: true,
  sanitizeOps: true,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "load-smoke-" });
    try {
      const json = `${dir}/out.json`;
      const cmd = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          ...PERMISSIONS,
          new URL("../tools/load.ts", import.meta.url).pathname,
          "--quick",
          "--pairs",
          "2",
          "--seconds",
          "0.5",
          "--handshake-seconds",
          "0.5",
          "--idle-settle",
          "3",
          "--idle",
          "10",
          "--json",
          json,
          "--out",
          dir,
        ],
        env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", TMPDIR: dir },
        stdout: "piped",
        stderr: "piped",
      });
      const child = cmd.spawn();
      const killer = setTimeout(() => child.kill("SIGKILL"), 58_000);
      const out = await child.output();
      clearTimeout(killer);
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `exit ${out.code}\n${stderr.slice(-2000)}`);
      assert.match(stdout, /Relay \(pairs x in-flight/);
      assert.match(stdout, /Targets/);

      const r = JSON.parse(await Deno.readTextFile(json));
      assert.equal(r.asl.suite, "X25519_AES_GCM");
      assert.ok(r.asl.handshakes_per_server_cpu_s > 0);
      assert.ok(r.asl.handshake_bound_per_server_cpu_s > 0);
      assert.ok(r.asl.rsa_bound_handshakes_per_server_cpu_s > 0);
      assert.equal(r.asl_rsa.suite, "AES_GCM");
      assert.ok(r.asl_rsa.handshakes_per_server_cpu_s > 0);
      assert.match(stdout, /X25519_AES_GCM 8 connectors/);
      assert.match(stdout, /AES_GCM 8 connectors/);
      for (const key of ["2x20", "2x1"]) {
        for (const fig of [r.asl.relay[key], r.baseline_tls.relay[key]]) {
          assert.ok(fig.msgs_per_s > 0, `${key}: ${JSON.stringify(fig)}`);
          assert.ok(fig.p50_ms > 0 && fig.p99_ms >= fig.p50_ms);
          assert.equal(fig.errors, 0);
        }
      }
      assert.ok(r.asl.relay_memory_store["2x20"].msgs_per_s > 0);
      assert.equal(typeof r.asl.idle_kib_per_session["10"], "number");
      assert.equal(r.targets.length, 5);

      const svgs = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".svg"));
      assert.equal(svgs.length, 1);
      const svg = await Deno.readTextFile(`${dir}/${svgs[0]?.name}`);
      assert.ok(svg.startsWith("<svg") && svg.includes('data-key="2x20"'));
      assert.deepEqual(leftovers(dir), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
