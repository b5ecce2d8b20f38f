// Tests of lib/server/admission.ts (pending-handshake accounting, address keys) and of its use
// in serve.ts: one address's flood of idle half-open connections is cut at its bound and
// answered ASL_ERROR INTERNAL_ERROR, another address is still served, and every way a
// handshake ends gives its place back exactly once.

import assert from "node:assert/strict";
import net from "node:net";
import { AslError } from "../lib/asl/mod.ts";
import { addressKey, type AdmissionTicket, PendingHandshakes } from "../lib/server/admission.ts";
import { startTestServer, type TestClient, type TestServer } from "./helpers/server.ts";
import { makeTestPki, type TestPki } from "./helpers/pki.ts";
import { until } from "./helpers/wait.ts";

Deno.test("admission: per-address and total bounds; release gives the place back once", () => {
  const p = new PendingHandshakes({ maxPending: 3, maxPendingPerAddress: 2 });
  const a1 = p.admit("a") as AdmissionTicket;
  const a2 = p.admit("a") as AdmissionTicket;
  assert.equal(typeof a1, "object");
  assert.equal(typeof a2, "object");
  assert.equal(p.admit("a"), "max-pending-ip");
  assert.equal(p.countFor("a"), 2);
  const b1 = p.admit("b") as AdmissionTicket;
  assert.equal(typeof b1, "object");
  // Total reached: even a fresh address is refused, and the total is checked first.
  assert.equal(p.admit("c"), "max-pending");
  assert.equal(p.admit("a"), "max-pending");
  assert.equal(p.total, 3);
  assert.equal(p.addresses, 2);
  // Releasing twice counts once.
  a1.release();
  a1.release();
  assert.equal(p.total, 2);
  assert.equal(p.countFor("a"), 1);
  const c1 = p.admit("c") as AdmissionTicket;
  assert.equal(typeof c1, "object");
  assert.equal(p.admit("a"), "max-pending");
  for (const t of [a2, b1, c1, a2, b1]) t.release();
  assert.equal(p.total, 0);
  assert.equal(p.addresses, 0);
  assert.equal(p.countFor("a"), 0);
  // Refusals take nothing.
  const q = new PendingHandshakes({ maxPending: 1, maxPendingPerAddress: 1 });
  const only = q.admit("x") as AdmissionTicket;
  for (let i = 0; i < 10; i++) assert.equal(q.admit("x"), "max-pending");
  only.release();
  assert.equal(q.total, 0);
  assert.throws(
    () => new PendingHandshakes({ maxPending: 0, maxPendingPerAddress: 1 }),
    RangeError,
  );
});

Deno.test("admission: address keys (IPv4, IPv4-mapped, IPv6 /64, zones, odd text)", () => {
  assert.equal(addressKey("127.0.0.2"), "127.0.0.2");
  assert.equal(addressKey("::ffff:192.0.2.7"), "192.0.2.7");
  assert.equal(addressKey("::FFFF:c000:0207"), "192.0.2.7");
  assert.equal(addressKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  assert.equal(addressKey("2001:db8:1:2:bbbb:cccc:dddd:eeee"), "2001:db8:1:2::/64");
  assert.equal(addressKey("[2001:db8::1]"), "2001:db8:0:0::/64");
  assert.equal(addressKey("fe80::1%eth0"), "fe80:0:0:0::/64");
  assert.equal(addressKey("::1"), "0:0:0:0::/64");
  assert.equal(addressKey("::"), "0:0:0:0::/64");
  assert.equal(addressKey("64:ff9b::192.0.2.7"), "64:ff9b:0:0::/64");
  // Not IPv6 after all: counted as given.
  assert.equal(addressKey("1:2:3"), "1:2:3");
  assert.equal(addressKey("1::2::3"), "1::2::3");
  assert.equal(addressKey("::ffff:300.1.1.1"), "::ffff:300.1.1.1");
  assert.equal(addressKey("localhost"), "localhost");
});

/** Opens a TCP connection from `localAddress` (node:net can bind the local side; Deno.connect cannot). */
function openFrom(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Everything the socket receives until the server closes it (or `ms` pass). */
function readAll(socket: net.Socket, ms = 5_000): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    const timer = setTimeout(() => finish(), ms);
    const finish = () => {
      clearTimeout(timer);
      resolve(text);
    };
    socket.on("data", (chunk: Uint8Array) => text += new TextDecoder().decode(chunk));
    socket.once("close", finish);
    socket.once("error", () => {}); // a reset after the data: what was read stands
  });
}

/** Reads up to the end of an `ASL_ERROR <code>\n\n` (or EOF), then closes `conn`. */
async function readErrorThenClose(conn: Deno.TcpConn): Promise<string> {
  const buf = new Uint8Array(64);
  let text = "";
  try {
    while (!text.endsWith("\n\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
  } finally {
    conn.close();
  }
  return text;
}

let shared: { dir: string; pki: TestPki } | undefined;
async function pki(): Promise<TestPki> {
  if (shared === undefined) {
    const dir = await Deno.makeTempDir({ prefix: "netsec-pki-" });
    shared = { dir, pki: await makeTestPki(dir, { users: ["alice", "bob"] }) };
  }
  return shared.pki;
}

Deno.test("serve: one address's flood of idle connections is cut at its bound; another address is served", async () => {
  const t: TestServer = await startTestServer({
    pki: await pki(),
    maxPendingPerAddress: 4,
    maxPendingHandshakes: 100,
  });
  const flood: net.Socket[] = [];
  const clients: TestClient[] = [];
  try {
    // 4 idle half-open connections from 127.0.0.2 are admitted and held.
    for (let i = 0; i < 4; i++) flood.push(await openFrom(t.port, "127.0.0.2"));
    await until("4 pending", () => t.server.stats().pendingHandshakes === 4);
    // The 5th to 10th are refused at once with ASL_ERROR INTERNAL_ERROR and closed.
    const refused: Promise<string>[] = [];
    for (let i = 0; i < 6; i++) {
      const s = await openFrom(t.port, "127.0.0.2");
      flood.push(s);
      refused.push(readAll(s));
    }
    for (const text of await Promise.all(refused)) {
      assert.equal(text, "ASL_ERROR INTERNAL_ERROR\n\n");
    }
    assert.equal(t.server.stats().refusedPending, 6);
    assert.equal(t.server.stats().pendingHandshakes, 4);
    assert.equal(t.server.stats().pendingAddresses, 1);
    // 127.0.0.1 is still served: a full handshake and REGISTER.
    const alice = await t.client("alice");
    clients.push(alice);
    assert.equal(await alice.request("REGISTER alice"), "OK alice");
    // A finished handshake gave its place back; the flood still holds its 4.
    assert.equal(t.server.stats().pendingHandshakes, 4);
    // The flood goes away: every place comes back, and 127.0.0.2 may connect again.
    for (const s of flood) s.destroy();
    await until("0 pending", () => t.server.stats().pendingHandshakes === 0);
    assert.equal(t.server.stats().pendingAddresses, 0);
    const again = await openFrom(t.port, "127.0.0.2");
    flood.push(again);
    await until("1 pending", () => t.server.stats().pendingHandshakes === 1);
  } finally {
    for (const s of flood) s.destroy();
    for (const c of clients) await c.close();
    await t.close();
  }
});

Deno.test("serve: the total bound on pending handshakes refuses with INTERNAL_ERROR; failures, timeouts and successes release", async () => {
  const t = await startTestServer({
    pki: await pki(),
    maxPendingPerAddress: 10,
    maxPendingHandshakes: 2,
    handshakeTimeoutMs: 300,
  });
  const idle: Deno.TcpConn[] = [];
  const clients: TestClient[] = [];
  try {
    idle.push(await Deno.connect({ hostname: "127.0.0.1", port: t.port }));
    idle.push(await Deno.connect({ hostname: "127.0.0.1", port: t.port }));
    await until("2 pending", () => t.server.stats().pendingHandshakes === 2);
    const refused = await t.client("alice").then(() => "connected", (err) => err);
    assert.ok(refused instanceof AslError, String(refused));
    assert.equal(refused.code, "INTERNAL_ERROR");
    assert.equal(refused.remote, true);
    // The idle ones time out (TIMEOUT sent): their places come back. They close once they
    // have the ASL_ERROR, so the server's error procedure need not wait out its drain.
    for (const c of idle) assert.equal(await readErrorThenClose(c), "ASL_ERROR TIMEOUT\n\n");
    await until("0 pending", () => t.server.stats().pendingHandshakes === 0);
    // A failing handshake (bad first message) releases too.
    const bad = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    idle.push(bad);
    await bad.write(new TextEncoder().encode("HELLO\n\n"));
    assert.equal(await readErrorThenClose(bad), "ASL_ERROR PROTOCOL_ERROR\n\n");
    await until("0 pending after a failure", () => t.server.stats().pendingHandshakes === 0);
    // Successes release: more sequential clients than the bound.
    for (const user of ["alice", "bob", "alice", "bob"]) {
      const c = await t.client(user);
      clients.push(c);
    }
    assert.equal(t.server.stats().pendingHandshakes, 0);
    assert.equal(t.server.stats().refusedPending, 1);
  } finally {
    for (const c of idle) {
      try {
        c.close();
      } catch {
        // closed by the server already
      }
    }
    for (const c of clients) await c.close();
    await t.close();
  }
});

Deno.test("serve: a handshake aborted by shutdown releases its place", async () => {
  const t = await startTestServer({ pki: await pki(), maxPendingPerAddress: 3 });
  const idle = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
  try {
    await until("1 pending", () => t.server.stats().pendingHandshakes === 1);
    await t.server.close();
    assert.equal(t.server.stats().pendingHandshakes, 0);
    assert.equal(t.server.stats().connections, 0);
  } finally {
    idle.close();
    await t.close();
  }
});

Deno.test("admission: shared PKI cleanup", async () => {
  if (shared) await Deno.remove(shared.dir, { recursive: true });
  shared = undefined;
});
