// Hang detection for the fuzz harness (issue 13): the target runs in a worker
// (tools/fuzz/worker.ts), which before each input writes the iteration number and the
// input into a SharedArrayBuffer; the main thread checks it every second and, when one
// iteration has run for longer than the hang bound, stops the worker and reports that
// input as a `hang` failure.

import type { Failure, RunOptions, RunResult } from "./runner.ts";

/** Largest input the watchdog can keep (the targets' limits are below it). */
const MAX_INPUT = 1 << 20;
/** Header: [0] iteration counter (low 31 bits), [1] input length. */
const HEADER_INTS = 2;

/** What the main thread sends the worker. */
export interface WorkerRequest {
  readonly target: string;
  readonly options: Omit<RunOptions, "onInput" | "onProgress">;
  readonly shared: SharedArrayBuffer;
  readonly progressMs: number;
  /** URL of a module exporting `TARGETS` to take the target from (tests); default the tool's. */
  readonly targetsModule?: string;
}

/** A shared buffer for `publishInput` / `readInput`. */
export function sharedBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_INTS * 4 + MAX_INPUT);
}

/** Worker side: publishes the input about to run. */
export function publishInput(shared: SharedArrayBuffer, iteration: number, input: Uint8Array) {
  const header = new Int32Array(shared, 0, HEADER_INTS);
  const n = Math.min(input.length, MAX_INPUT);
  new Uint8Array(shared, HEADER_INTS * 4, n).set(input.subarray(0, n));
  Atomics.store(header, 1, n);
  Atomics.store(header, 0, iteration & 0x7fff_ffff);
}

/** Main side: the iteration running now and a copy of its input. */
export function readInput(shared: SharedArrayBuffer): { iteration: number; input: Uint8Array } {
  const header = new Int32Array(shared, 0, HEADER_INTS);
  const n = Atomics.load(header, 1);
  return {
    iteration: Atomics.load(header, 0),
    input: new Uint8Array(shared, HEADER_INTS * 4, n).slice(),
  };
}

/** Options of `runInWorker`. */
export interface WorkerRunOptions {
  /** An iteration running longer than this (seconds) is a hang. */
  readonly hangSeconds: number;
  readonly progressMs: number;
  readonly onProgress?: (inputs: number, elapsedMs: number) => void;
  /** URL of a module exporting `TARGETS` (tests inject targets that hang). */
  readonly targetsModule?: string;
}

/**
 * Runs `target` in a worker with `options`; resolves with its result, or, when one input
 * runs past `hangSeconds`, stops the worker and resolves with a `hang` failure (`result`
 * then holds only what is known).
 */
export function runInWorker(
  target: string,
  options: WorkerRequest["options"],
  w: WorkerRunOptions,
): Promise<RunResult> {
  const shared = sharedBuffer();
  new Int32Array(shared, 0, HEADER_INTS)[0] = -1;
  const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
  const started = performance.now();
  return new Promise<RunResult>((resolve, reject) => {
    let lastIteration = -1;
    let since = performance.now();
    const finish = () => {
      clearInterval(timer);
      worker.terminate();
    };
    const timer = setInterval(() => {
      const { iteration, input } = readInput(shared);
      const now = performance.now();
      if (iteration !== lastIteration) {
        lastIteration = iteration;
        since = now;
        return;
      }
      if (iteration >= 0 && now - since > w.hangSeconds * 1000) {
        finish();
        const failure: Failure = {
          kind: "hang",
          iteration,
          input,
          message: `one input ran for more than ${w.hangSeconds} s (stopped)`,
        };
        resolve({
          target,
          seed: options.seed,
          inputs: iteration + 1,
          seconds: (now - started) / 1000,
          slowest: [],
          memory: { gc: false, samples: [], heapGrowth: 0, rssGrowth: 0, externalGrowth: 0 },
          outcomes: 0,
          topOutcomes: [],
          corpus: 0,
          failure,
        });
      }
    }, Math.min(1000, w.hangSeconds * 500));
    worker.onmessage = (e: MessageEvent) => {
      const msg = e.data as
        | { type: "progress"; inputs: number; elapsedMs: number }
        | { type: "result"; result: RunResult }
        | { type: "error"; message: string };
      if (msg.type === "progress") w.onProgress?.(msg.inputs, msg.elapsedMs);
      else if (msg.type === "result") {
        finish();
        resolve(msg.result);
      } else {
        finish();
        reject(new Error(msg.message));
      }
    };
    worker.onerror = (e) => {
      e.preventDefault();
      finish();
      reject(new Error(e.message));
    };
    const request: WorkerRequest = {
      target,
      options,
      shared,
      progressMs: w.progressMs,
      ...(w.targetsModule !== undefined ? { targetsModule: w.targetsModule } : {}),
    };
    worker.postMessage(request);
  });
}
