// Tests of the fuzz harness (tools/fuzz/, issue 13): a short fixed-seed run of every target
// (a few hundred inputs each; the long runs are `deno task fuzz`, see docs/SECURITY.md), and
// planted faults that the harness must report: a plain TypeError, a broken oracle, a slow
// input and a hang (the watchdog). Also determinism, the mutator's bound and the flags.

import assert from "node:assert/strict";
import { main } from "../tools/fuzz.ts";
import { parseFuzzArgs, UsageError } from "../tools/fuzz/args.ts";
import { mutate } from "../tools/fuzz/mutator.ts";
import { Prng } from "../tools/fuzz/prng.ts";
import { failureText } from "../tools/fuzz/report.ts";
import { runTarget } from "../tools/fuzz/runner.ts";
import { TARGETS } from "../tools/fuzz/targets/mod.ts";
import type { FuzzTarget } from "../tools/fuzz/types.ts";
import { runInWorker } from "../tools/fuzz/watchdog.ts";
import { invariantTarget, slowTarget, typeErrorTarget } from "./helpers/fuzz_targets.ts";

/** Inputs per target in the short run (the PKI targets are slower per input). */
const SHORT_RUNS: Record<string, number> = { cert: 200, crl: 100 };

for (const target of TARGETS) {
  Deno.test(`fuzz: target ${target.name} survives a short fixed-seed run`, async () => {
    const runs = SHORT_RUNS[target.name] ?? 400;
    // A generous time bound: this checks errors and oracles; speed is the long run's job.
    const result = await runTarget(target, { seed: 20261204, runs, maxMs: 10_000 });
    assert.equal(
      result.failure,
      undefined,
      result.failure && failureText(target.name, 0, result.failure),
    );
    assert.equal(result.inputs, runs);
    assert.ok(result.outcomes > 1, `${target.name} reached only one outcome`);
  });
}

Deno.test("fuzz: the targets table names every target once, the envelope parser included", () => {
  const names = TARGETS.map((t) => t.name);
  assert.deepEqual(names, ["framing", "messages", "cert", "crl", "records", "command", "envelope"]);
});

Deno.test("fuzz: a target that throws a plain TypeError is reported as a failure", async () => {
  const result = await runTarget(typeErrorTarget, { seed: 1, runs: 5000, maxMs: 10_000 });
  const f = result.failure;
  assert.ok(f, "the planted TypeError was not reported");
  assert.equal(f.kind, "untyped-error");
  assert.match(f.message, /^TypeError: /);
  assert.ok(f.input.includes(0x42), "the reported input is not the one that failed");
  assert.equal(result.inputs, f.iteration + 1, "the run did not stop at the failure");
  const text = failureText("type-error", 1, f, "data/fuzz/x.bin");
  assert.match(text, /target type-error: untyped-error/);
  assert.match(text, new RegExp(`iteration ${f.iteration}`));
  assert.ok(text.includes(f.input.toHex()));
});

Deno.test("fuzz: the module's own typed error is not a failure", async () => {
  const quiet: FuzzTarget = {
    ...typeErrorTarget,
    run: (i) => typeErrorTarget.run(i.filter((b) => b !== 0x42)),
  };
  const result = await runTarget(quiet, { seed: 1, runs: 2000, maxMs: 10_000 });
  assert.equal(result.failure, undefined);
  assert.equal(result.inputs, 2000);
});

Deno.test("fuzz: a broken oracle is reported as an invariant failure", async () => {
  const result = await runTarget(invariantTarget, { seed: 2, runs: 5000, maxMs: 10_000 });
  assert.equal(result.failure?.kind, "invariant");
  assert.match(result.failure.message, /planted oracle failure/);
});

Deno.test("fuzz: an input slower than the bound (twice) is reported", async () => {
  const result = await runTarget(slowTarget, { seed: 3, runs: 5000, maxMs: 50 });
  assert.equal(result.failure?.kind, "slow");
  assert.ok(result.failure.input.includes(0x42));
});

Deno.test("fuzz: the watchdog stops an input that hangs and reports it", async () => {
  const result = await runInWorker("hang", { seed: 4, runs: 5000 }, {
    hangSeconds: 0.5,
    progressMs: 10_000,
    targetsModule: new URL("./helpers/fuzz_targets.ts", import.meta.url).href,
  });
  assert.equal(result.failure?.kind, "hang");
  assert.ok(result.failure.input.includes(0x42));
});

Deno.test("fuzz: the watchdog passes a clean run's result through", async () => {
  const result = await runInWorker("command", { seed: 5, runs: 300 }, {
    hangSeconds: 10,
    progressMs: 10_000,
  });
  assert.equal(result.failure, undefined);
  assert.equal(result.inputs, 300);
});

Deno.test("fuzz: the same seed replays the same inputs; another seed does not", async () => {
  // Outcomes steer the corpus, so the target's results are part of what must repeat.
  const target: FuzzTarget = { ...typeErrorTarget, run: (input) => `${input.length % 7}` };
  const inputs = async (seed: number) => {
    const seen: string[] = [];
    await runTarget(target, { seed, runs: 300, onInput: (_, input) => seen.push(input.toHex()) });
    return seen;
  };
  const a = await inputs(9);
  assert.equal(a.length, 300);
  assert.deepEqual(await inputs(9), a);
  assert.notDeepEqual(await inputs(10), a);
});

for (const name of ["records", "cert", "crl"]) {
  Deno.test(`fuzz: target ${name}'s own mutations depend only on the seed`, async () => {
    const target = TARGETS.find((t) => t.name === name)!;
    const inputs = async () => {
      const seen: string[] = [];
      await runTarget(target, {
        seed: 77,
        runs: 150,
        maxMs: 10_000,
        onInput: (_, input) => seen.push(input.toHex()),
      });
      return seen;
    };
    assert.deepEqual(await inputs(), await inputs());
  });
}

Deno.test("fuzz: mutants stay within the size limit and depend only on the seed", () => {
  const input = new TextEncoder().encode("ASYMCRYPO X25519_AES_GCM AES_GCM\n\n");
  const run = (seed: number) => {
    const rng = new Prng(seed);
    const out: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const m = mutate(input, rng, { maxBytes: 100, corpus: [input] });
      assert.ok(m.length <= 100);
      out.push(m.toHex());
    }
    return out;
  };
  assert.deepEqual(run(1), run(1));
  assert.ok(new Set(run(1)).size > 1000, "the mutator repeats itself");
});

Deno.test("fuzz: flags", () => {
  const names = TARGETS.map((t) => t.name);
  const d = parseFuzzArgs([], names);
  assert.deepEqual(d.targets, names);
  assert.equal(d.runs, 10_000);
  assert.equal(d.seed, 1);
  const o = parseFuzzArgs(["--target", "cert", "--seconds", "2.5", "--seed", "7"], names);
  assert.deepEqual(o.targets, ["cert"]);
  assert.equal(o.runs, undefined);
  assert.equal(o.seconds, 2.5);
  for (
    const bad of [["--target", "nope"], ["--runs", "0"], ["--seed", "-1"], ["--x"], ["pos"], [
      "--input",
      "f",
    ]]
  ) {
    assert.throws(() => parseFuzzArgs(bad, names), UsageError, bad.join(" "));
  }
});

Deno.test("fuzz: a bad flag exits with 2, --help with 0", async () => {
  assert.equal(await main(["--runs", "many"]), 2);
  assert.equal(await main(["--help"]), 0);
});
