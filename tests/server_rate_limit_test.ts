import assert from "node:assert/strict";
import { RateLimiter, TokenBucket } from "../lib/server/rate_limit.ts";

Deno.test("rate limit: a bucket allows its burst, then the refill rate", () => {
  const bucket = new TokenBucket({ rate: 1000, burst: 2000 }, 0);
  let allowed = 0;
  for (let i = 0; i < 2500; i++) if (bucket.take(0)) allowed++;
  assert.equal(allowed, 2000);
  assert.equal(bucket.take(0), false);
  // 100 ms later: 100 more tokens.
  allowed = 0;
  for (let i = 0; i < 200; i++) if (bucket.take(100)) allowed++;
  assert.equal(allowed, 100);
  // Refill never exceeds the burst.
  allowed = 0;
  for (let i = 0; i < 3000; i++) if (bucket.take(1_000_000)) allowed++;
  assert.equal(allowed, 2000);
});

Deno.test("rate limit: rate 0 turns limiting off", () => {
  const limiter = new RateLimiter({ rate: 0, burst: 0 });
  assert.equal(limiter.off, true);
  for (let i = 0; i < 10_000; i++) assert.equal(limiter.take("alice", 0), true);
});

Deno.test("rate limit: per USERID buckets are shared and independent; sweep forgets full ones", () => {
  const limiter = new RateLimiter({ rate: 10, burst: 3 });
  assert.deepEqual([1, 2, 3, 4].map(() => limiter.take("alice", 0)), [true, true, true, false]);
  assert.equal(limiter.take("bob", 0), true);
  assert.equal(limiter.sweep(0), 2);
  assert.equal(limiter.sweep(10_000), 0); // both full again
  assert.equal(limiter.take("alice", 10_000), true);
});
