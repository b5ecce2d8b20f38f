// Test helper: wait for a condition instead of sleeping a fixed time. Checks `ready` after
// every macrotask turn (and then every few milliseconds) and fails with `what` when it is
// not met within `ms` — a bound on a hang, not a timing assertion.

/** Resolves once `ready()` is true; throws `timed out waiting for <what>` after `ms`. */
export async function until(what: string, ready: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (let turn = 0; !ready(); turn++) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, turn < 10 ? 0 : 5));
  }
}
