// The per-connection state of the engine (lib/server/session.ts), driven directly:
// binding, closing, the register deadline, the rate token, the delivery window's state.
import assert from "node:assert/strict";
import { ClientSession, type SessionOwner } from "../lib/server/session.ts";
import { RateLimiter } from "../lib/server/rate_limit.ts";
import { silentLogger } from "../lib/log.ts";

/** An owner that records what the session reported, and a port that records lines. */
function make(maxUnreadBytes = 1 << 20, bucket?: ReturnType<RateLimiter["sessionBucket"]>) {
  const events: string[] = [];
  const lines: string[] = [];
  const owner: SessionOwner = {
    receive: (_s, line) => events.push(`receive ${line}`),
    drained: () => events.push("drained"),
    end: () => events.push("end"),
  };
  const port = {
    identity: "alice",
    chain: [],
    send: (line: string) => (lines.push(line), Promise.resolve()),
    close: () => events.push("port closed"),
  };
  const session = new ClientSession(owner, port, 7, maxUnreadBytes, bucket);
  return { session, events, lines };
}

Deno.test("client session: the connection's calls go to the owner", () => {
  const { session, events } = make();
  session.receive("REGISTER alice");
  session.end();
  assert.deepEqual(events, ["receive REGISTER alice", "end"]);
  assert.equal(session.connId, 7);
  assert.equal(session.userId, undefined);
});

Deno.test("client session: close is once; refuse answers FAILED in order", async () => {
  const { session, lines } = make();
  session.refuse("m1", "NOT_REGISTERED", silentLogger);
  await session.settled();
  assert.deepEqual(lines, ["FAILED m1 NOT_REGISTERED"]);
  assert.equal(session.close(), true);
  assert.equal(session.closed, true);
  assert.equal(session.close(), false);
  session.refuse("m2", "MALFORMED", silentLogger); // dropped: the outbox is closed
  assert.deepEqual(lines, ["FAILED m1 NOT_REGISTERED"]);
});

Deno.test("client session: the register deadline fires only for an unbound, open session", async () => {
  const fired: number[] = [];
  const a = make().session;
  await new Promise<void>((resolve) =>
    a.startRegisterTimer(0, (s) => {
      fired.push(s.connId);
      resolve();
    })
  );
  assert.deepEqual(fired, [7]);
  const b = make().session;
  b.startRegisterTimer(0, () => fired.push(-1));
  b.bind("alice", false);
  const c = make().session;
  c.startRegisterTimer(0, () => fired.push(-2));
  c.close();
  // A timer of the same delay set later fires after theirs would have.
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(fired, [7]);
});

Deno.test("client session: the session's bucket before REGISTER, the user's after", () => {
  const limiter = new RateLimiter({ rate: 1, burst: 1 });
  const { session } = make(1 << 20, limiter.sessionBucket(0));
  assert.equal(session.takeToken(limiter, 0), true);
  assert.equal(session.takeToken(limiter, 0), false); // the session's bucket is empty
  session.bind("alice", false);
  assert.equal(session.takeToken(limiter, 0), true); // alice's own bucket, full
  assert.equal(session.takeToken(limiter, 0), false);
  assert.equal(limiter.take("alice", 0), false); // shared with alice's other sessions
  const unlimited = make().session; // rates off: no bucket
  assert.equal(unlimited.takeToken(limiter, 0), true);
  assert.equal(unlimited.takeToken(limiter, 0), true);
});

Deno.test("client session: window state: new messages, acks, backlog, refill", () => {
  const { session } = make();
  session.bind("alice", false);
  assert.equal(session.acceptsNew(2), true);
  session.delivered(5, "bob");
  session.delivered(3, "carol"); // the cursor keeps the highest sid
  assert.equal(session.cursor, 5);
  assert.equal(session.inflightCount, 2);
  assert.equal(session.acceptsNew(2), false); // window full: the message stays in the store
  assert.equal(session.backlog, true);
  assert.equal(session.acknowledged(9), undefined); // not in flight
  assert.equal(session.acknowledged(3), "carol");
  assert.equal(session.acknowledged(3), undefined);
  assert.equal(session.inflightCount, 1);
  assert.equal(session.acceptsNew(2), false); // older messages wait in the store first
  assert.equal(session.wantsRefill(), true);
  assert.equal(session.wantsRefill(), false); // listed once
  session.refillTaken();
  session.setFetching(true);
  assert.equal(session.wantsRefill(), false); // a fetch is under way
  session.setFetching(false);
  session.backlogDone();
  assert.equal(session.wantsRefill(), false); // nothing left in the store
  assert.equal(session.acceptsNew(2), true);
  assert.equal(session.acknowledged(5), "bob");
  assert.equal(session.inflightCount, 0);
  session.bind("alice", true); // a REGISTER restarts from the top of the queue
  assert.equal(session.cursor, 0);
  assert.equal(session.backlog, true);
});

Deno.test("client session: no new delivery past the unread-output bound", () => {
  const { session } = make(10);
  session.bind("alice", false);
  session.out.hold(11);
  assert.equal(session.mustPause, true);
  assert.equal(session.acceptsNew(100), false);
  assert.equal(session.backlog, true);
});
