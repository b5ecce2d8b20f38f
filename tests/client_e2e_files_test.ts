// File-backed pins and replay memory (lib/client/e2e_files.ts): they survive a restart, keep
// chains byte for byte, refuse foreign files, expire replay pairs, and leave no temp files.

import assert from "node:assert/strict";
import { FilePinStore, FileReplayMemory, pinDirectory } from "../lib/client/e2e_files.ts";

const FP_A = "s0wXRvsFkCzP+i15MrzgmiVMdLN+7PRVIIbFfzMz2Pc=";
const FP_B = "V2UjjEniPF5OjkkMbdida7nPmbJz+NU7XtlrMTOEdU4=";

Deno.test("file pins: accept with a chain, reject, accept again; reopened from disk", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const where = pinDirectory(dir, "alice", { address: "localhost:4287", fingerprint: "ab:cd" });
    assert.match(where, /\/pins\/alice\/[0-9a-f]{32}$/);
    const pins = new FilePinStore(where);
    assert.deepEqual(await pins.get("bob"), { accepted: [], rejected: [] });
    const chain = [Uint8Array.of(1, 2, 3), Uint8Array.of(4)];
    await pins.accept("bob", FP_A, chain);
    await pins.reject("bob", FP_B);
    const again = new FilePinStore(where);
    const rec = await again.get("bob");
    assert.deepEqual(rec.accepted.map((l) => l.fingerprint), [FP_A]);
    assert.deepEqual(rec.accepted[0]!.chain, chain);
    assert.deepEqual(rec.rejected, [FP_B]);
    await again.accept("bob", FP_B);
    await again.reject("bob", FP_A);
    const flipped = await new FilePinStore(where).get("bob");
    assert.deepEqual(flipped.accepted.map((l) => l.fingerprint), [FP_B]);
    assert.deepEqual(flipped.rejected, [FP_A]);
    assert.deepEqual([...Deno.readDirSync(where)].map((e) => e.name), ["bob.json"]);
    assert.equal(Deno.statSync(`${where}/bob.json`).mode! & 0o777, 0o600);
    // Another server, another directory: nothing pinned there.
    const other = pinDirectory(dir, "alice", { address: "localhost:4287", fingerprint: "ef:01" });
    assert.notEqual(other, where);
    assert.deepEqual(await new FilePinStore(other).get("bob"), { accepted: [], rejected: [] });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file pins: a foreign or broken file is an error, never a fresh first use", async () => {
  const dir = await Deno.makeTempDir();
  try {
    Deno.writeTextFileSync(`${dir}/bob.json`, '{"format":"other"}');
    Deno.writeTextFileSync(`${dir}/carol.json`, "{not json");
    const pins = new FilePinStore(dir);
    await assert.rejects(pins.get("bob"), /not a pin file/);
    await assert.rejects(pins.get("carol"), /not a valid state file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file replay memory: a pair is a replay until it expires, also after a restart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/replay/alice.json`;
    const m = new FileReplayMemory(path);
    assert.equal(await m.remember("bob", "id1", 1_000, 5_000), false);
    assert.equal(await m.remember("bob", "id1", 2_000, 5_000), true);
    assert.equal(await m.remember("carol", "id1", 2_000, 5_000), false);
    const reopened = new FileReplayMemory(path);
    assert.equal(await reopened.remember("bob", "id1", 4_000, 5_000), true);
    assert.equal(await reopened.remember("bob", "id1", 6_000, 9_000), false, "expired");
    assert.deepEqual([...Deno.readDirSync(`${dir}/replay`)].map((e) => e.name), ["alice.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
