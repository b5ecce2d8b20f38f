// The fuzz harness's worker (issue 13): runs one target (tools/fuzz/runner.ts) off the main
// thread, so the main thread's watchdog can stop an input that hangs. Before each input it
// publishes the iteration and the input's bytes in a SharedArrayBuffer (see watchdog.ts).

/// <reference lib="deno.worker" />

import { runTarget } from "./runner.ts";
import { TARGETS } from "./targets/mod.ts";
import type { FuzzTarget } from "./types.ts";
import { publishInput } from "./watchdog.ts";
import type { WorkerRequest } from "./watchdog.ts";

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const { target: name, options, shared, progressMs, targetsModule } = event.data;
  const targets: readonly FuzzTarget[] = targetsModule === undefined
    ? TARGETS
    : (await import(targetsModule)).TARGETS;
  const target = targets.find((t) => t.name === name);
  if (!target) {
    self.postMessage({ type: "error", message: `unknown target ${name}` });
    return;
  }
  try {
    const result = await runTarget(target, {
      ...options,
      onInput: (iteration, input) => publishInput(shared, iteration, input),
      sampleMs: progressMs,
      onProgress: (inputs, elapsedMs) => self.postMessage({ type: "progress", inputs, elapsedMs }),
    });
    self.postMessage({ type: "result", result });
  } catch (err) {
    self.postMessage({ type: "error", message: err instanceof Error ? err.message : String(err) });
  }
};
