// Tests cli/client/chat.ts: the chat's logic as a pure state machine (input line → actions,
// incoming events → lines), with no terminal and no network.

import assert from "node:assert/strict";
import { Chat, type ChatAction, clock, printableLines } from "../cli/client/chat.ts";
import { MAX_PAYLOAD_BYTES } from "../lib/client/commands.ts";

const at = new Date(2026, 0, 2, 9, 5, 30);

function chat(): Chat {
  return new Chat({ user: "alice", now: () => at });
}

function prints(actions: ChatAction[]): string[] {
  return actions.flatMap((a) => a.type === "print" ? [a.text] : []);
}

function sends(actions: ChatAction[]) {
  return actions.flatMap((a) => a.type === "send" ? [a] : []);
}

Deno.test("clock shows local HH:MM", () => {
  assert.equal(clock(at), "[09:05]");
  assert.equal(clock(new Date(2026, 0, 2, 23, 59)), "[23:59]");
});

Deno.test("@bob hello sends to one user and sets the last recipient", () => {
  const c = chat();
  const actions = c.input("@bob hello");
  assert.deepEqual(sends(actions), [{ type: "send", ref: 1, to: ["bob"], text: "hello" }]);
  assert.deepEqual(prints(actions), ["[09:05] alice → bob: hello  (#1)"]);
  assert.deepEqual(c.lastRecipients, ["bob"]);
  assert.equal(c.prompt(), "alice → bob> ");
  assert.deepEqual(c.pendingRefs, [1]);
});

Deno.test("@bob,carol hi sends to a group; plain lines go to the last recipient", () => {
  const c = chat();
  assert.deepEqual(sends(c.input("@bob,carol hi all")), [
    { type: "send", ref: 1, to: ["bob", "carol"], text: "hi all" },
  ]);
  assert.deepEqual(sends(c.input("and again")), [
    { type: "send", ref: 2, to: ["bob", "carol"], text: "and again" },
  ]);
  assert.deepEqual(sends(c.input("@dave")), []);
  assert.deepEqual(sends(c.input("only dave")), [
    { type: "send", ref: 3, to: ["dave"], text: "only dave" },
  ]);
});

Deno.test("a plain line with no recipient yet, bad recipients and empty lines send nothing", () => {
  const c = chat();
  const first = c.input("hello?");
  assert.deepEqual(sends(first), []);
  assert.match(prints(first)[0]!, /no recipient yet/);
  assert.deepEqual(c.input("   "), []);
  const bad = c.input("@bob_x hi");
  assert.deepEqual(sends(bad), []);
  assert.match(prints(bad)[0]!, /not a user id/);
  const dup = c.input("@bob,bob hi");
  assert.deepEqual(sends(dup), []);
  assert.match(prints(dup)[0]!, /named twice/);
  assert.equal(c.lastRecipients, undefined);
});

Deno.test("text over the payload limit is refused before sending, naming the limit", () => {
  const c = chat();
  const fits = c.input("@bob " + "x".repeat(MAX_PAYLOAD_BYTES));
  assert.equal(sends(fits).length, 1);
  const big = c.input("@bob " + "x".repeat(MAX_PAYLOAD_BYTES + 1));
  assert.deepEqual(sends(big), []);
  assert.match(prints(big)[0]!, /^! not sent: TOO_LARGE: .*11111 characters/);
});

Deno.test("/help, /who am i, /quit and unknown commands", () => {
  const c = chat();
  assert.match(prints(c.input("/help"))[0]!, /@bob,carol hi/);
  assert.match(prints(c.input("/who am i"))[0]!, /not connected/);
  c.setInfo({
    user: "alice",
    server: "localhost:4287",
    suite: "AES_GCM",
    serverIdentity: "localhost",
    serverFingerprint: "aa:bb",
    fingerprint: "cc:dd",
  });
  const who = prints(c.input("/who  am I"))[0]!;
  assert.match(who, /you are alice/);
  assert.match(who, /localhost:4287/);
  assert.match(who, /AES_GCM/);
  assert.match(who, /aa:bb/);
  assert.match(who, /cc:dd/);
  assert.deepEqual(c.input("/quit"), [{ type: "quit" }]);
  assert.match(prints(c.input("/frobnicate now"))[0]!, /unknown command \/frobnicate/);
});

Deno.test("incoming messages print as [HH:MM] mark from: text, made safe for the terminal", () => {
  const c = chat();
  assert.deepEqual(prints(c.incoming({ from: "bob", text: "hello", receivedAt: at })), [
    "[09:05] [NOT SEALED] bob: hello",
  ]);
  assert.deepEqual(
    prints(c.incoming({ from: "bob", text: "hello", receivedAt: at, sealed: true })),
    ["[09:05] 🔒 bob: hello"],
  );
  const hostile = prints(c.incoming({ from: "bob", text: "a\x1b[2Jb\rc\nsecond", receivedAt: at }));
  assert.deepEqual(hostile, ["[09:05] [NOT SEALED] bob: a\uFFFD[2Jb\uFFFDc", "        second"]);
  assert.deepEqual(printableLines("x\u0007y"), ["x\uFFFDy"]);
});

Deno.test("outgoing messages show their fate: OK or the FAILED reason", () => {
  const c = chat();
  c.input("@bob one");
  c.input("@zed two");
  assert.deepEqual(prints(c.sent(1, { ok: true, id: "m1" })), [
    "  #1 to bob delivered to the server",
  ]);
  assert.deepEqual(prints(c.sent(2, { ok: false, code: "UNKNOWN_USER" })), [
    "  #2 to zed FAILED: UNKNOWN_USER: a recipient is not known to the server",
  ]);
  assert.deepEqual(c.pendingRefs, []);
});

Deno.test("lifecycle events become status lines", () => {
  const c = chat();
  assert.match(
    prints(c.event({ type: "connecting", hostname: "localhost", port: 1, attempt: 0 }))[0]!,
    /connecting to localhost:1/,
  );
  assert.deepEqual(c.event({ type: "connecting", hostname: "localhost", port: 1, attempt: 2 }), []);
  assert.match(
    prints(
      c.event({ type: "handshake", suite: "AES_CBC", server: "localhost", fingerprint: "x" }),
    )[0]!,
    /AES_CBC/,
  );
  assert.match(prints(c.event({ type: "ready", user: "alice", resent: 2 }))[0]!, /resending 2/);
  assert.match(
    prints(c.event({ type: "reconnecting", attempt: 3, delayMs: 1500 }))[0]!,
    /reconnecting in 1\.5 s \(attempt 3\)/,
  );
  assert.deepEqual(c.event({ type: "closed", reason: "local" }), []);
  const err = Object.assign(new Error("x"), { code: "UNKNOWN_CA" });
  assert.match(
    prints(c.event({ type: "closed", reason: "error", error: err }))[0]!,
    /UNKNOWN_CA: the server's certificate is not signed by/,
  );
});

Deno.test("/whois USERID asks for a lookup (case kept); its result is one line", () => {
  const c = chat();
  assert.deepEqual(c.input("/whois Bob"), [{ type: "whois", user: "Bob" }]);
  assert.deepEqual(c.input("/WHOIS  bob  "), [{ type: "whois", user: "bob" }]);
  assert.match(prints(c.input("/whois"))[0]!, /usage: \/whois USERID/);
  assert.match(prints(c.input("/whois bob carol"))[0]!, /usage: \/whois USERID/);
  assert.match(prints(c.input("/whois b_b"))[0]!, /"b_b" is not a user id/);
  assert.match(prints(c.input("/help"))[0]!, /\/whois bob/);
  assert.deepEqual(prints(c.whois("bob", { ok: true, identity: "bob", fingerprint: "ab:cd" })), [
    "* bob: certificate valid, SHA-256 ab:cd",
  ]);
  assert.deepEqual(prints(c.whois("bob", { ok: false, code: "UNKNOWN_USER" })), [
    "! whois bob: UNKNOWN_USER: bob has never registered with the server",
  ]);
  assert.deepEqual(prints(c.whois("bob", { ok: false, code: "UNKNOWN_CA" })), [
    "! whois bob: UNKNOWN_CA: bob's certificate is not signed by your CA file",
  ]);
  assert.deepEqual(prints(c.whois("bob", { ok: false, code: "BAD_IDENTITY" })), [
    "! whois bob: BAD_IDENTITY: the certificate the server returned does not name bob",
  ]);
});

Deno.test("/trust, /reject, /fingerprint become actions; warnings name both fingerprints", () => {
  const c = chat();
  assert.deepEqual(c.input("/trust bob"), [{ type: "trust", user: "bob", confirmed: false }]);
  assert.deepEqual(c.input("/trust bob yes"), [{ type: "trust", user: "bob", confirmed: true }]);
  assert.deepEqual(c.input("/reject bob"), [{ type: "reject", user: "bob" }]);
  assert.deepEqual(c.input("/fingerprint"), [{ type: "fingerprint" }]);
  assert.match(prints(c.input("/trust bob maybe"))[0]!, /usage: \/trust USERID \[yes\]/);
  const result = {
    userId: "bob",
    fingerprint: "NEW=",
    fingerprintHex: "aa",
    pin: "pending" as const,
    accepted: ["OLD="],
    previous: [],
  };
  const preview = prints(c.trustPreview("bob", { ok: true, result }))[0]!;
  assert.match(preview, /accepted before {2}OLD=/);
  assert.match(preview, /now {14}NEW=/);
  assert.match(preview, /\/trust bob yes/);
  const done = prints(
    c.trusted("bob", { ok: true, result: { ...result, pin: "accepted", previous: ["OLD="] } }),
  );
  assert.deepEqual(done, ["* accepted bob's certificate NEW= (accepted before: OLD=)"]);
  const warn = prints(
    c.event({ type: "pin_pending", userId: "bob", fingerprint: "NEW=", accepted: ["OLD="] }),
  )[0]!;
  assert.match(warn, /CHANGED: accepted OLD=, now NEW=/);
  const bad = prints(
    c.event({
      type: "bad_seal",
      from: "bob",
      sid: "s1",
      reason: "signature",
      step: 3,
      message: "SIG does not verify",
    }),
  )[0]!;
  assert.match(bad, /^! WARNING: a sealed message from bob was refused and not shown/);
});
