// The load tool's ASL clients (issue #6, #12): dials the server under test with lib/asl
// `connect` as a given test user, offering exactly one suite (the run's, spec section 3), and
// the two session-count workloads built on it — handshakes per second with C concurrent
// connectors, and N idle registered sessions.

import { connect } from "../../lib/asl/mod.ts";
import type { SecureSession, Suite } from "../../lib/asl/types.ts";
import type { LoadPki, TestUsers } from "./context.ts";
import { register, sleep } from "./relay.ts";
import { SampleBuffer } from "./stats.ts";

/** Where the ASL server listens and who the clients are. */
export interface AslTarget {
  readonly hostname: string;
  readonly port: number;
  readonly pki: LoadPki;
  readonly users: TestUsers;
  /** The one suite the clients offer (the server must accept it). */
  readonly suite: Suite;
}

/** Opens an ASL session as `userId` offering only `t.suite` (handshake only; nothing sent). */
export async function openAsl(t: AslTarget, userId: string): Promise<SecureSession> {
  return await connect({ hostname: t.hostname, port: t.port }, {
    credentials: await t.users.credentials(userId),
    trust: t.pki.trust,
    serverName: t.hostname,
    suites: [t.suite],
    handshakeTimeoutMs: 30_000,
  });
}

/** What a handshake run measured. */
export interface HandshakeOutcome {
  readonly count: number;
  readonly seconds: number;
  readonly latencies: Float64Array;
  readonly errors: number;
  readonly errorSamples: readonly string[];
}

/**
 * Runs full handshakes (connect, then close) with `concurrency` connectors for `seconds`.
 * `onProgress` gets the count about every 250 ms.
 */
export async function runHandshakes(
  t: AslTarget,
  concurrency: number,
  seconds: number,
  onProgress?: (count: number) => void,
): Promise<HandshakeOutcome> {
  await t.users.credentials("hs0"); // certificate issuing is not part of the measurement
  const latencies = new SampleBuffer();
  const errorSamples: string[] = [];
  let errors = 0;
  let count = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const ticker = setInterval(() => onProgress?.(count), 250);
  try {
    await Promise.all(Array.from({ length: concurrency }, async () => {
      for (let i = 0; i < 1_000_000 && performance.now() < end; i++) {
        const start = performance.now();
        try {
          const session = await openAsl(t, "hs0");
          latencies.push(performance.now() - start);
          count++;
          await session.close();
        } catch (err) {
          errors++;
          if (errorSamples.length < 5) errorSamples.push(String(err));
          if (errors > 100) return;
        }
      }
    }));
  } finally {
    clearInterval(ticker);
  }
  return {
    count,
    seconds: (performance.now() - t0) / 1000,
    latencies: latencies.toArray(),
    errors,
    errorSamples,
  };
}

/** A pool of idle registered sessions (users `idle<i>`), grown in steps and closed at the end. */
export class IdlePool {
  readonly sessions: SecureSession[] = [];
  readonly #t: AslTarget;
  errors = 0;
  readonly errorSamples: string[] = [];

  constructor(t: AslTarget) {
    this.#t = t;
  }

  /** Opens and registers sessions until there are `total` (`concurrency` at a time). */
  async growTo(
    total: number,
    concurrency = 16,
    onProgress?: (open: number) => void,
    deadlineMs = 600_000,
  ): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    let next = this.sessions.length;
    // Issue the certificates first, several signatures in flight.
    for (let i = next; i < total; i += 64) {
      const batch = [];
      for (let j = i; j < Math.min(total, i + 64); j++) {
        batch.push(this.#t.users.credentials(`idle${j}`));
      }
      await Promise.all(batch);
    }
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < total && Date.now() < deadline && this.errors < 50) {
        const user = `idle${next++}`;
        try {
          const session = await openAsl(this.#t, user);
          const it = session[Symbol.asyncIterator]();
          await register(session, user, () => {}, it);
          this.sessions.push(session);
          // Keep reading so replies never pile up; idle sessions receive nothing.
          void (async () => {
            try {
              for (let r = await it.next(); r.done !== true; r = await it.next()) { /* drop */ }
            } catch { /* closed */ }
          })();
          if (this.sessions.length % 100 === 0) onProgress?.(this.sessions.length);
        } catch (err) {
          this.errors++;
          if (this.errorSamples.length < 5) this.errorSamples.push(`${user}: ${String(err)}`);
        }
      }
    }));
  }

  /** Closes every session (bounded wait). */
  async closeAll(): Promise<void> {
    const all = this.sessions.splice(0);
    await Promise.race([Promise.allSettled(all.map((s) => s.close())), sleep(15_000)]);
  }
}
