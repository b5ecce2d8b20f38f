// Tests of lib/asl/endpoint.ts (spec section 2): accept/connect complete handshakes over the
// in-memory pipe and loopback TCP for both suites, and every handshake failure ends with the
// exact code on both sides (local on the detecting side, remote on the other).

import "reflect-metadata";
import assert from "node:assert/strict";
import { accept, connect, defaultValidationCache } from "../lib/asl/endpoint.ts";
import { nodePrimitives, webPrimitives } from "../lib/asl/primitives.ts";
import { validateChain } from "../lib/pki/validate.ts";
import { ValidationCache } from "../lib/pki/validation_cache.ts";
import { createPipe } from "../lib/asl/pipe.ts";
import { listen } from "../lib/asl/transport.ts";
import { AslError } from "../lib/asl/errors.ts";
import { KNOWN_SUITES } from "../lib/asl/suites.ts";
import type {
  AcceptOptions,
  ConnectOptions,
  HandshakeTraceEvent,
  Suite,
} from "../lib/asl/types.ts";
import type { EndpointInternals } from "../lib/asl/endpoint.ts";
import {
  makeBadPeers,
  manInTheMiddle,
  readToEnd,
  type StreamPair,
  streamPair,
  type Transport,
  vectorCredentials,
  vectorTrust,
  writeText,
} from "./helpers/asl.ts";

const serverCreds = await vectorCredentials("server");
const clientCreds = await vectorCredentials("client");
const trust = await vectorTrust();
const bad = await makeBadPeers();
await Deno.remove(bad.dir, { recursive: true });

const TRANSPORTS: Transport[] = ["pipe", "tcp"];

function serverOptions(extra: Partial<AcceptOptions> = {}): AcceptOptions {
  return { credentials: serverCreds, trust, ...extra };
}
function clientOptions(extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return { credentials: clientCreds, trust, serverName: "localhost", ...extra };
}

/** Runs both sides; returns their settled outcomes. */
async function runBoth(
  pair: StreamPair,
  server: AcceptOptions,
  client: ConnectOptions,
  internals: { server?: EndpointInternals; client?: EndpointInternals } = {},
) {
  return await Promise.allSettled([
    accept(pair.server, server, internals.server),
    connect(pair.client, client, internals.client),
  ]);
}

function assertFailed(
  outcome: PromiseSettledResult<unknown>,
  code: string,
  remote: boolean,
  side: string,
) {
  assert.equal(outcome.status, "rejected", `${side} should fail`);
  const err = (outcome as PromiseRejectedResult).reason;
  assert.ok(err instanceof AslError, `${side}: ${err}`);
  assert.equal(err.code, code, `${side} code (${err.message})`);
  assert.equal(err.remote, remote, `${side} remote flag`);
}

for (const transport of TRANSPORTS) {
  for (const suite of KNOWN_SUITES) {
    Deno.test(`endpoint ${transport} ${suite}: handshake, records both ways, close`, async () => {
      const pair = await streamPair(transport);
      try {
        const serverTrace: HandshakeTraceEvent[] = [];
        const clientTrace: HandshakeTraceEvent[] = [];
        const [s, c] = await runBoth(
          pair,
          serverOptions({ trace: (e) => serverTrace.push(e) }),
          clientOptions({ suites: [suite], trace: (e) => clientTrace.push(e) }),
        );
        assert.equal(s.status, "fulfilled");
        assert.equal(c.status, "fulfilled");
        const server = (s as PromiseFulfilledResult<Awaited<ReturnType<typeof accept>>>).value;
        const client = (c as PromiseFulfilledResult<Awaited<ReturnType<typeof connect>>>).value;
        assert.equal(server.suite, suite);
        assert.equal(client.suite, suite);
        assert.equal(server.peer.identity, "alice");
        assert.equal(client.peer.identity, "localhost");
        assert.deepEqual(
          clientTrace.map((e) => `${e.direction} ${e.step}`),
          ["sent M1", "received M2", "sent M3", "received M4", "sent M5", "received M6", "sent M7"],
        );
        assert.deepEqual(
          serverTrace.map((e) => `${e.direction} ${e.step}`),
          [
            "received M1",
            "sent M2",
            "received M3",
            "sent M4",
            "received M5",
            "sent M6",
            "received M7",
          ],
        );
        const big = "x".repeat(32_768);
        const lines = ["REGISTER alice", "MESSAGE m1 bob aGVsbG8=", "ünïcödé ✓", big];
        await Promise.all(lines.map((l) => client.send(l)));
        const received: string[] = [];
        for await (const line of server) {
          received.push(line);
          if (received.length === lines.length) break;
        }
        assert.deepEqual(received, lines);
        // The iterator's return closed the server session; the client sees the end.
        assert.deepEqual(await server.closed, { reason: "local" });
        assert.deepEqual(await client.closed, { reason: "remote" });
        await assert.rejects(
          client.send("late"),
          (e) => e instanceof AslError && e.code === "CLOSED",
        );
        await client.close();
        await client.close(); // idempotent
      } finally {
        pair.close();
      }
    });
  }

  const certCases: [
    string,
    () => { server: AcceptOptions; client: ConnectOptions },
    string,
    "server" | "client",
  ][] = [
    [
      "client cert from another CA",
      () => ({ server: serverOptions(), client: clientOptions({ credentials: bad.wrongCa }) }),
      "UNKNOWN_CA",
      "server",
    ],
    [
      "expired client cert",
      () => ({ server: serverOptions(), client: clientOptions({ credentials: bad.expired }) }),
      "CERT_EXPIRED",
      "server",
    ],
    [
      "revoked client cert",
      () => ({
        server: serverOptions({ trust: bad.trustWithCrl }),
        client: clientOptions({ credentials: bad.revoked }),
      }),
      "CERT_REVOKED",
      "server",
    ],
    [
      "client cert with EKU serverAuth only",
      () => ({ server: serverOptions(), client: clientOptions({ credentials: bad.wrongEku }) }),
      "BAD_CERTIFICATE",
      "server",
    ],
    [
      "client cert with RSA-1024",
      () => ({ server: serverOptions(), client: clientOptions({ credentials: bad.rsa1024 }) }),
      "BAD_CERTIFICATE",
      "server",
    ],
    [
      "server name mismatch",
      () => ({ server: serverOptions(), client: clientOptions({ serverName: "example.org" }) }),
      "BAD_IDENTITY",
      "client",
    ],
    [
      "server cert from another CA",
      () => ({
        server: serverOptions({ credentials: bad.wrongCaServer }),
        client: clientOptions(),
      }),
      "UNKNOWN_CA",
      "client",
    ],
  ];
  for (const [name, make, code, detector] of certCases) {
    Deno.test(`endpoint ${transport}: ${name} → ${code} on both sides`, async () => {
      const pair = await streamPair(transport);
      try {
        const { server, client } = make();
        const [s, c] = await runBoth(pair, server, client);
        assertFailed(s, code, detector === "client", "server");
        assertFailed(c, code, detector === "server", "client");
      } finally {
        pair.close();
      }
    });
  }

  Deno.test(`endpoint ${transport}: a DES_CBC-only offer gets ASYMCRYPOOK NONE`, async () => {
    const pair = await streamPair(transport);
    try {
      const [s, c] = await runBoth(pair, serverOptions(), clientOptions(), {
        client: { offer: ["DES_CBC"] },
      });
      assertFailed(s, "NO_SHARED_SUITE", false, "server");
      assertFailed(c, "NO_SHARED_SUITE", false, "client");
    } finally {
      pair.close();
    }
  });

  Deno.test(`endpoint ${transport}: disjoint suite lists get NONE`, async () => {
    const pair = await streamPair(transport);
    try {
      const [s, c] = await runBoth(
        pair,
        serverOptions({ suites: ["AES_GCM"] }),
        clientOptions({ suites: ["AES_CBC"] }),
      );
      assertFailed(s, "NO_SHARED_SUITE", false, "server");
      assertFailed(c, "NO_SHARED_SUITE", false, "client");
    } finally {
      pair.close();
    }
  });

  Deno.test(`endpoint ${transport}: server prefers its own order`, async () => {
    const pair = await streamPair(transport);
    try {
      const [s, c] = await runBoth(
        pair,
        serverOptions({ suites: ["AES_CBC", "AES_GCM"] }),
        clientOptions({ suites: ["AES_GCM", "AES_CBC"] }),
      );
      assert.equal(s.status === "fulfilled" && s.value.suite, "AES_CBC");
      assert.equal(c.status === "fulfilled" && c.value.suite, "AES_CBC");
      if (s.status === "fulfilled") await s.value.close();
      if (c.status === "fulfilled") await c.value.close();
    } finally {
      pair.close();
    }
  });

  rawClient(
    transport,
    "an oversize handshake message (no LF ever)",
    "A".repeat(33_000),
    "PROTOCOL_ERROR",
  );
  rawClient(transport, "a CR in M1", "SALAAM_ASL\r\n\n", "PROTOCOL_ERROR");
  rawClient(transport, "a tab", "SALAAM_ASL\tX\n\n", "PROTOCOL_ERROR");
  rawClient(transport, "a non-ASCII byte", "SALAAM_ASLé\n\n", "PROTOCOL_ERROR");
  rawClient(transport, "M7 first (out of order)", "LETS_TALK\n\n", "PROTOCOL_ERROR");
  rawClient(transport, "M1 twice (out of order)", "SALAAM_ASL\n\nSALAAM_ASL\n\n", "PROTOCOL_ERROR");
  rawClient(transport, "a stalled handshake", "SALAAM_ASL\n\n", "TIMEOUT", {
    handshakeTimeoutMs: 150,
  });

  Deno.test(`endpoint ${transport}: client rejects M4 in place of M2 (out of order)`, async () => {
    const pair = await streamPair(transport);
    try {
      const client = connect(pair.client, clientOptions());
      client.catch(() => {});
      await writeText(pair.server, "ASYMCRYPOOK AES_GCM\n\n");
      const answer = await readToEnd(pair.server);
      pair.server.close();
      await assert.rejects(client, (e) => e instanceof AslError && e.code === "PROTOCOL_ERROR");
      assert.equal(answer, "SALAAM_ASL\n\nASL_ERROR PROTOCOL_ERROR\n\n");
    } finally {
      pair.close();
    }
  });

  Deno.test(`endpoint ${transport}: a client whose server stalls times out`, async () => {
    const pair = await streamPair(transport);
    try {
      const client = connect(pair.client, clientOptions({ handshakeTimeoutMs: 150 }));
      client.catch(() => {});
      const answer = await readToEnd(pair.server);
      pair.server.close();
      await assert.rejects(client, (e) => e instanceof AslError && e.code === "TIMEOUT");
      assert.equal(answer, "SALAAM_ASL\n\nASL_ERROR TIMEOUT\n\n");
    } finally {
      pair.close();
    }
  });

  Deno.test(`endpoint ${transport}: peer closing mid-handshake is CLOSED`, async () => {
    const pair = await streamPair(transport);
    try {
      const server = accept(pair.server, serverOptions());
      server.catch(() => {});
      await writeText(pair.client, "SALAAM_ASL\n\n");
      pair.client.close();
      await assert.rejects(server, (e) => e instanceof AslError && e.code === "CLOSED");
    } finally {
      pair.close();
    }
  });
}

/** A raw client writes `text`, reads the server's answer to the end; the server must fail. */
function rawClient(
  transport: Transport,
  name: string,
  text: string,
  code: string,
  options: Partial<AcceptOptions> = {},
) {
  Deno.test(`endpoint ${transport}: server rejects ${name} with ${code}`, async () => {
    const pair = await streamPair(transport);
    try {
      const server = accept(pair.server, serverOptions(options));
      server.catch(() => {});
      if (text) await writeText(pair.client, text);
      const answer = await readToEnd(pair.client);
      pair.client.close();
      await assert.rejects(server, (e) => e instanceof AslError && e.code === code && !e.remote);
      assert.ok(answer.endsWith(`ASL_ERROR ${code}\n\n`), JSON.stringify(answer.slice(-40)));
    } finally {
      pair.close();
    }
  });
}

// --- A man in the middle (pipe) -------------------------------------------------------------

function field(message: string, i: number): string {
  return message.trimEnd().split(" ")[i]!;
}
function replaceField(message: string, i: number, value: string): string {
  const fields = message.trimEnd().split(" ");
  fields[i] = value;
  return fields.join(" ") + "\n\n";
}
/** Flips one bit of a base64 field's decoded bytes. */
function flip(b64: string, at = 10): string {
  const bytes = Uint8Array.fromBase64(b64);
  bytes[at]! ^= 1;
  return bytes.toBase64();
}

const mitmCases: [
  string,
  Parameters<typeof manInTheMiddle>[0],
  string,
  "server" | "client",
][] = [
  [
    "downgrade: AES_GCM struck from M3",
    {
      c2s: (
        i,
        m,
      ) => [i === 1 ? m.replace("ASYMCRYPO AES_GCM AES_CBC\n", "ASYMCRYPO AES_CBC\n") : m],
    },
    "BAD_SIGNATURE",
    "server",
  ],
  [
    "M5 with a bad signature",
    {
      c2s: (i, m) => [i === 2 ? replaceField(m, 2, flip(field(m, 2))) : m],
    },
    "BAD_SIGNATURE",
    "server",
  ],
  [
    "M5 with a bad ciphertext (E altered)",
    {
      c2s: (i, m) => [i === 2 ? replaceField(m, 1, flip(field(m, 1))) : m],
    },
    "BAD_SIGNATURE",
    "server",
  ],
  [
    "M5 with a bad MAC",
    {
      c2s: (i, m) => [i === 2 ? replaceField(m, 3, flip(field(m, 3), 0)) : m],
    },
    "DECRYPT_ERROR",
    "server",
  ],
  [
    "M6 with a bad E2",
    {
      s2c: (i, m) => [i === 2 ? replaceField(m, 1, flip(field(m, 1))) : m],
    },
    "DECRYPT_ERROR",
    "client",
  ],
  [
    "M6 with a bad signature",
    {
      s2c: (i, m) => [i === 2 ? replaceField(m, 2, flip(field(m, 2))) : m],
    },
    "BAD_SIGNATURE",
    "client",
  ],
  [
    "M4 naming a suite the client did not offer",
    {
      s2c: (i, m) => [i === 1 ? "ASYMCRYPOOK AES_CBC\n\n" : m],
    },
    "PROTOCOL_ERROR",
    "client",
  ],
];
for (const transport of TRANSPORTS) {
  for (const [name, rewrites, code, detector] of mitmCases) {
    Deno.test(`endpoint mitm ${transport}: ${name} → ${code} on both sides`, async () => {
      const mitm = await manInTheMiddle(rewrites, transport);
      try {
        const suites: Suite[] = name.startsWith("M4") ? ["AES_GCM"] : ["AES_GCM", "AES_CBC"];
        const [s, c] = await runBoth(mitm, serverOptions(), clientOptions({ suites }));
        assertFailed(s, code, detector === "client", "server");
        assertFailed(c, code, detector === "server", "client");
      } finally {
        mitm.close();
        await mitm.done;
      }
    });
  }
}

/** A fresh X25519 public key, base64: what a man in the middle would put in place of Q_S. */
async function strangerQ(): Promise<string> {
  const pair = await crypto.subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]);
  const raw = await crypto.subtle.exportKey("raw", (pair as CryptoKeyPair).publicKey);
  return new Uint8Array(raw).toBase64();
}
const stranger = await strangerQ();
const ZERO_32 = new Uint8Array(32).toBase64();

/** Man-in-the-middle cases of the default suite, X25519_AES_GCM (spec section 2). */
const x25519MitmCases: typeof mitmCases = [
  [
    "X25519_AES_GCM struck from M3 (downgrade to RSA key transport)",
    { c2s: (i, m) => [i === 1 ? m.replace("ASYMCRYPO X25519_AES_GCM ", "ASYMCRYPO ") : m] },
    "BAD_SIGNATURE",
    "server",
  ],
  [
    "Q_S swapped in M4",
    { s2c: (i, m) => [i === 1 ? replaceField(m, 2, stranger) : m] },
    "BAD_SIGNATURE",
    "server",
  ],
  [
    "all-zero Q_S in M4 (small-order point: the client sends no M5)",
    { s2c: (i, m) => [i === 1 ? replaceField(m, 2, ZERO_32) : m] },
    "DECRYPT_ERROR",
    "client",
  ],
  [
    "M4 without Q_S",
    { s2c: (i, m) => [i === 1 ? "ASYMCRYPOOK X25519_AES_GCM\n\n" : m] },
    "PROTOCOL_ERROR",
    "client",
  ],
  [
    "M4 with a field too many",
    { s2c: (i, m) => [i === 1 ? m.replace("\n\n", ` ${stranger}\n\n`) : m] },
    "PROTOCOL_ERROR",
    "client",
  ],
  [
    "M4 with a 31-byte Q_S",
    { s2c: (i, m) => [i === 1 ? replaceField(m, 2, new Uint8Array(31).fill(9).toBase64()) : m] },
    "PROTOCOL_ERROR",
    "client",
  ],
  [
    "Q_C swapped in M5",
    { c2s: (i, m) => [i === 2 ? replaceField(m, 1, stranger) : m] },
    "BAD_SIGNATURE",
    "server",
  ],
  [
    "a 31-byte Q_C in M5",
    { c2s: (i, m) => [i === 2 ? replaceField(m, 1, new Uint8Array(31).fill(9).toBase64()) : m] },
    "PROTOCOL_ERROR",
    "server",
  ],
  [
    "M5 with a wrong MAC",
    { c2s: (i, m) => [i === 2 ? replaceField(m, 3, flip(field(m, 3), 0)) : m] },
    "DECRYPT_ERROR",
    "server",
  ],
  [
    "M5 with a 31-byte MAC",
    {
      c2s: (
        i,
        m,
      ) => [
        i === 2 ? replaceField(m, 3, Uint8Array.fromBase64(field(m, 3)).subarray(1).toBase64()) : m,
      ],
    },
    "PROTOCOL_ERROR",
    "server",
  ],
  [
    "M6 with a wrong MAC_S",
    { s2c: (i, m) => [i === 2 ? replaceField(m, 1, flip(field(m, 1), 0)) : m] },
    "DECRYPT_ERROR",
    "client",
  ],
  [
    "M6 with a bad signature",
    { s2c: (i, m) => [i === 2 ? replaceField(m, 2, flip(field(m, 2))) : m] },
    "BAD_SIGNATURE",
    "client",
  ],
];
for (const transport of TRANSPORTS) {
  for (const [name, rewrites, code, detector] of x25519MitmCases) {
    Deno.test(`endpoint mitm ${transport} X25519_AES_GCM: ${name} → ${code}`, async () => {
      const mitm = await manInTheMiddle(rewrites, transport);
      try {
        const [s, c] = await runBoth(mitm, serverOptions(), clientOptions());
        assertFailed(s, code, detector === "client", "server");
        assertFailed(c, code, detector === "server", "client");
      } finally {
        mitm.close();
        await mitm.done;
      }
    });
  }

  for (
    const [name, serverSuites, clientSuites, want] of [
      [
        "a revision 3 client (offers AES_GCM only) and the default server",
        undefined,
        ["AES_GCM"],
        "AES_GCM",
      ],
      ["the default client and a server restricted to AES_GCM", ["AES_GCM"], undefined, "AES_GCM"],
      [
        "the default client and a server restricted to X25519_AES_GCM",
        ["X25519_AES_GCM"],
        undefined,
        "X25519_AES_GCM",
      ],
    ] as const
  ) {
    Deno.test(`endpoint ${transport}: ${name} agree on ${want}`, async () => {
      const pair = await streamPair(transport);
      try {
        const [s, c] = await runBoth(
          pair,
          serverOptions(serverSuites ? { suites: serverSuites } : {}),
          clientOptions(clientSuites ? { suites: clientSuites } : {}),
        );
        assert.equal(s.status === "fulfilled" && s.value.suite, want);
        assert.equal(c.status === "fulfilled" && c.value.suite, want);
        if (s.status === "fulfilled") await s.value.close();
        if (c.status === "fulfilled") await c.value.close();
      } finally {
        pair.close();
      }
    });
  }

  Deno.test(`endpoint ${transport}: an X25519-only server and an RSA-only client share NONE`, async () => {
    const pair = await streamPair(transport);
    try {
      const [s, c] = await runBoth(
        pair,
        serverOptions({ suites: ["X25519_AES_GCM"] }),
        clientOptions({ suites: ["AES_GCM", "AES_CBC"] }),
      );
      assertFailed(c, "NO_SHARED_SUITE", false, "client");
      assert.equal(s.status, "rejected");
    } finally {
      pair.close();
    }
  });
}

Deno.test("endpoint mitm: a client told NONE sends nothing more", async () => {
  const sent: string[] = [];
  const mitm = await manInTheMiddle({ c2s: (_i, m) => (sent.push(m.split("\n")[0]!), [m]) });
  try {
    const [s, c] = await runBoth(
      mitm,
      serverOptions({ suites: ["AES_GCM"] }),
      clientOptions({ suites: ["AES_CBC"] }),
    );
    assertFailed(s, "NO_SHARED_SUITE", false, "server");
    assertFailed(c, "NO_SHARED_SUITE", false, "client");
  } finally {
    mitm.close();
    await mitm.done;
  }
  assert.deepEqual(sent, ["SALAAM_ASL", "ASYMCRYPO AES_CBC"]);
});

Deno.test("endpoint: an M5 replayed into a new session fails with BAD_SIGNATURE", async () => {
  // Session 1: record what the client sends.
  const recorded: string[] = [];
  const mitm = await manInTheMiddle({ c2s: (_i, m) => (recorded.push(m), [m]) });
  try {
    const [s, c] = await runBoth(mitm, serverOptions(), clientOptions());
    assert.equal(s.status, "fulfilled");
    assert.equal(c.status, "fulfilled");
    if (c.status === "fulfilled") await c.value.close();
    if (s.status === "fulfilled") await s.value.closed;
  } finally {
    mitm.close();
    await mitm.done;
  }
  assert.ok(recorded.length >= 4);
  // Session 2: replay M1, M3, M5 to a fresh server.
  const pair = await streamPair("pipe");
  try {
    const server = accept(pair.server, serverOptions());
    server.catch(() => {});
    await writeText(pair.client, recorded[0]! + recorded[1]! + recorded[2]!);
    const answer = await readToEnd(pair.client);
    pair.client.close();
    await assert.rejects(server, (e) => e instanceof AslError && e.code === "BAD_SIGNATURE");
    assert.ok(answer.startsWith("ASL_SALAAM "));
    // The default suite: a fresh Q_S in M4, so the old SIG_C cannot cover this TH_4.
    assert.match(answer, /\nASYMCRYPOOK X25519_AES_GCM \S{44}\n\nASL_ERROR BAD_SIGNATURE\n\n$/);
  } finally {
    pair.close();
  }
});

Deno.test("endpoint: an aborted signal ends the handshake with CLOSED", async () => {
  const pair = await streamPair("pipe");
  try {
    const controller = new AbortController();
    const server = accept(pair.server, serverOptions({ signal: controller.signal }));
    server.catch(() => {});
    controller.abort();
    await assert.rejects(server, (e) => e instanceof AslError && e.code === "CLOSED");
  } finally {
    pair.close();
  }
});

Deno.test("endpoint tcp: connect dials {hostname, port}; listen() gives a free loopback port", async () => {
  const listener = listen();
  try {
    assert.equal(listener.addr.hostname, "127.0.0.1");
    assert.notEqual(listener.addr.port, 0);
    const [server, client] = await Promise.all([
      listener.accept().then((conn) => accept(conn, serverOptions())),
      connect(
        { hostname: "127.0.0.1", port: listener.addr.port },
        clientOptions({ serverName: "127.0.0.1" }),
      ),
    ]);
    assert.equal(client.peer.identity, "127.0.0.1");
    await client.send("REGISTER alice");
    const it = server[Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { value: "REGISTER alice", done: false });
    await client.close();
    assert.equal((await server.closed).reason, "remote");
  } finally {
    listener.close();
  }
});

Deno.test("endpoint tcp: a refused connection is AslError CLOSED", async () => {
  const listener = listen();
  const port = listener.addr.port;
  listener.close();
  await assert.rejects(
    connect({ hostname: "127.0.0.1", port }, clientOptions({ serverName: "127.0.0.1" })),
    (e) => e instanceof AslError && e.code === "CLOSED" && e.cause instanceof Error,
  );
});

for (
  const [name, serverSide, clientSide] of [
    ["WebCrypto reference server, fast client", "reference", "fast"],
    ["fast server, WebCrypto reference client", "fast", "reference"],
  ] as const
) {
  Deno.test(`endpoint pipe: ${name} interoperate`, async () => {
    const reference: EndpointInternals = { primitives: webPrimitives, validate: validateChain };
    const fast: EndpointInternals = { primitives: nodePrimitives, validate: new ValidationCache() };
    const pick = (side: "reference" | "fast") => side === "reference" ? reference : fast;
    for (const suite of KNOWN_SUITES) {
      const pair = await streamPair("pipe");
      try {
        const [s, c] = await runBoth(pair, serverOptions(), clientOptions({ suites: [suite] }), {
          server: pick(serverSide),
          client: pick(clientSide),
        });
        assert.equal(s.status, "fulfilled");
        assert.equal(c.status, "fulfilled");
        const server = (s as PromiseFulfilledResult<Awaited<ReturnType<typeof accept>>>).value;
        const client = (c as PromiseFulfilledResult<Awaited<ReturnType<typeof connect>>>).value;
        assert.equal(server.suite, suite);
        await client.send("REGISTER alice");
        await server.send("OK alice");
        const it = server[Symbol.asyncIterator]();
        assert.deepEqual(await it.next(), { value: "REGISTER alice", done: false });
        const back = client[Symbol.asyncIterator]();
        assert.deepEqual(await back.next(), { value: "OK alice", done: false });
        await client.close();
        await server.close();
      } finally {
        pair.close();
      }
    }
  });
}

Deno.test("endpoint pipe: the default validation cache serves repeated chains", async () => {
  const before = defaultValidationCache.stats;
  for (let i = 0; i < 3; i++) {
    const pair = await streamPair("pipe");
    try {
      const [s, c] = await runBoth(pair, serverOptions(), clientOptions());
      assert.equal(s.status, "fulfilled");
      assert.equal(c.status, "fulfilled");
      await (s as PromiseFulfilledResult<Awaited<ReturnType<typeof accept>>>).value.close();
      await (c as PromiseFulfilledResult<Awaited<ReturnType<typeof connect>>>).value.close();
    } finally {
      pair.close();
    }
  }
  const after = defaultValidationCache.stats;
  // Six validations (client and server chain, three times), at most two of them in full.
  assert.equal(after.hits + after.misses - before.hits - before.misses, 6);
  assert.ok(after.hits - before.hits >= 4, JSON.stringify({ before, after }));
});

Deno.test("endpoint pipe: ASL_ERROR is traced on both sides", async () => {
  const pair = await streamPair("pipe");
  try {
    const serverTrace: HandshakeTraceEvent[] = [];
    const clientTrace: HandshakeTraceEvent[] = [];
    const [s, c] = await runBoth(
      pair,
      serverOptions({ trace: (e) => serverTrace.push(e) }),
      clientOptions({ serverName: "example.org", trace: (e) => clientTrace.push(e) }),
    );
    assertFailed(s, "BAD_IDENTITY", true, "server");
    assertFailed(c, "BAD_IDENTITY", false, "client");
    assert.deepEqual(clientTrace.at(-1), {
      step: "ASL_ERROR",
      direction: "sent",
      bytes: 24,
      detail: "BAD_IDENTITY",
    });
    assert.deepEqual(serverTrace.at(-1), {
      step: "ASL_ERROR",
      direction: "received",
      bytes: 24,
      detail: "BAD_IDENTITY",
    });
    // No secrets in any trace detail.
    for (const e of [...serverTrace, ...clientTrace]) assert.ok(e.detail.length < 120);
  } finally {
    pair.close();
  }
});

Deno.test("endpoint pipe: a peer that reads nothing cannot hold the error procedure", async () => {
  const [server, client] = createPipe(8); // room for 8 bytes: ASL_ERROR cannot be written
  try {
    // The drain is bounded (ERROR_DRAIN_MS, 1 s; here 50 ms): the failure still settles.
    const failed = accept(server, serverOptions(), { errorDrainMs: 50 });
    await writeText(client, "SALAAM_ASL\r\n\n");
    await assert.rejects(failed, (e) => e instanceof AslError && e.code === "PROTOCOL_ERROR");
  } finally {
    try {
      client.close();
    } catch { /* closed */ }
    try {
      server.close();
    } catch { /* closed */ }
  }
});
