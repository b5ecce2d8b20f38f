// Tests of tools/load/relay.ts, channel.ts and tls_relay.ts: payload round trip, the batched
// ASL-framed line channel, and the relay workload driven through the Deno-TLS baseline relay
// (in-process, 127.0.0.1 port 0, a throwaway lib/pki certificate): every message counted
// once, latencies recorded, errors counted.

import assert from "node:assert/strict";
import { makePayload, readPayload, runRelay } from "../tools/load/relay.ts";
import { openTlsChannel, startTlsRelay } from "../tools/load/tls_relay.ts";
import { BatchWriter, TextLineChannel } from "../tools/load/channel.ts";
import { isBase64Shape } from "../lib/base64.ts";
import { AslError } from "../lib/asl/errors.ts";
import { createPipe } from "../lib/asl/pipe.ts";
import type { Duplex } from "../lib/asl/types.ts";
import { Issuer } from "../lib/pki/issuer.ts";
import { makeSealer } from "../tools/load/sealed.ts";
import { openLoadPki } from "../tools/load/context.ts";

/** A throwaway CA and a server certificate for 127.0.0.1 (lib/pki's Issuer). */
async function makeCert(): Promise<{ cert: string; key: string; ca: string }> {
  const issuer = await Issuer.create();
  const server = await issuer.server();
  return { cert: server.chainPem, key: await server.keyPem(), ca: issuer.ca.pem };
}

Deno.test("BatchWriter writes every line queued in one tick with one write call", async () => {
  const writes: string[] = [];
  const conn = {
    write(bytes: Uint8Array) {
      writes.push(new TextDecoder().decode(bytes));
      return Promise.resolve(bytes.length);
    },
  } as unknown as Duplex;
  const bw = new BatchWriter(conn);
  await Promise.all([bw.write("a"), bw.write("b")]);
  await bw.write("c");
  assert.deepEqual(writes, ["a\n\nb\n\n", "c\n\n"]);
});

Deno.test("TextLineChannel: lines both ways framed as ASL messages; framing errors end it", async () => {
  const [a, b] = createPipe();
  const left = new TextLineChannel(a);
  const right = new TextLineChannel(b);
  try {
    await left.send("REGISTER alice");
    await left.send("MESSAGE m1 bob QUFB");
    const it = right[Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { done: false, value: "REGISTER alice" });
    assert.deepEqual(await it.next(), { done: false, value: "MESSAGE m1 bob QUFB" });
    await a.write(new TextEncoder().encode("two\nlines\n\n"));
    await assert.rejects(
      it.next(),
      (e: unknown) => e instanceof AslError && e.code === "PROTOCOL_ERROR",
    );
  } finally {
    await left.close();
    await right.close();
  }
});

Deno.test("payloads are strict base64 of the requested size and read back", () => {
  const p = makePayload("tag1", 7, 12345, 75);
  assert.equal(p.length, 100);
  assert.ok(isBase64Shape(p));
  assert.deepEqual(readPayload(p), ["tag1", 7, 12345]);
  assert.equal(makePayload("t", 0, 0, 300).length, 400);
  assert.equal(readPayload("not base64!"), undefined);
  assert.equal(readPayload(btoa("no colons here at all")), undefined);
});

Deno.test("runRelay through the TLS baseline completes messages without errors", async () => {
  let relay: ReturnType<typeof startTlsRelay> | undefined;
  try {
    const pki = await makeCert();
    relay = startTlsRelay({ cert: pki.cert, key: pki.key });
    const port = relay.port;
    let progressCalls = 0;
    let measureStarted = 0;
    const outcome = await runRelay({
      senders: ["s0", "s1", "s2"],
      recipients: ["r0", "r1", "r2"],
      window: 4,
      warmupSeconds: 0.2,
      seconds: 0.6,
      payloadBytes: 75,
      open: () => openTlsChannel(port, pki.ca),
      onProgress: () => progressCalls++,
      onMeasureStart: () => measureStarted++,
    });
    assert.equal(outcome.errors, 0, outcome.errorSamples.join("; "));
    assert.ok(outcome.messages > 10, `only ${outcome.messages} messages`);
    assert.ok(outcome.latencies.length > 0 && outcome.latencies.length <= outcome.messages);
    assert.ok(outcome.latencies.every((ms) => ms >= 0 && ms < 60_000));
    // Both halves of each latency (sender's OK, recipient's delivery) are recorded.
    assert.ok(outcome.okLatencies.length > 0 && outcome.deliveryLatencies.length > 0);
    assert.ok(outcome.seconds >= 0.5 && outcome.seconds < 5);
    assert.equal(measureStarted, 1);
    assert.ok(progressCalls >= 1);
  } finally {
    relay?.close();
    await relay?.finished;
  }
});

Deno.test("runRelay with --sealed: every payload is an envelope, opened before it counts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "load-relay-test-" });
  let relay: ReturnType<typeof startTlsRelay> | undefined;
  try {
    const pki = await makeCert();
    const { pki: loadPki, users } = await openLoadPki(`${dir}/pki`, true);
    const senders = ["s0", "s1"];
    const recipients = ["r0", "r1"];
    const sealer = makeSealer(users, loadPki.trust, senders, recipients);
    const heads = new Set<string>();
    let opened = 0;
    relay = startTlsRelay({ cert: pki.cert, key: pki.key });
    const port = relay.port;
    const outcome = await runRelay({
      senders,
      recipients,
      window: 2,
      warmupSeconds: 0.1,
      seconds: 0.6,
      payloadBytes: 75,
      sealer: {
        wrap: async (pair, plain) => {
          const payload = await sealer.wrap(pair, plain);
          heads.add(payload.slice(0, 11));
          return payload;
        },
        unwrap: async (pair, payload) => {
          const plain = await sealer.unwrap(pair, payload);
          if (plain) opened++;
          return plain;
        },
      },
      open: async () => {
        const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
        return new TextLineChannel(
          await Deno.startTls(tcp, { hostname: "127.0.0.1", caCerts: [pki.ca] }),
        );
      },
    });
    assert.equal(outcome.errors, 0, outcome.errorSamples.join("; "));
    assert.ok(outcome.messages > 2, `only ${outcome.messages} messages`);
    assert.deepEqual([...heads], ["QVNMRTJFMQA"]); // "ASLE2E1\0": every payload sealed
    assert.ok(opened >= outcome.messages);
  } finally {
    relay?.close();
    await relay?.finished;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runRelay counts FAILED replies as errors", async () => {
  let relay: ReturnType<typeof startTlsRelay> | undefined;
  try {
    const pki = await makeCert();
    relay = startTlsRelay({ cert: pki.cert, key: pki.key });
    const port = relay.port;
    const outcome = await runRelay({
      senders: ["s0"],
      recipients: ["r0"],
      window: 2,
      warmupSeconds: 0,
      seconds: 0.3,
      payloadBytes: 75,
      drainSeconds: 0.2,
      open: async (user) => {
        const ch = await openTlsChannel(port, pki.ca);
        // The recipient registers under another name, so every MESSAGE fails UNKNOWN_USER.
        if (user === "r0") {
          return {
            send: (line: string) => ch.send(line.replace("REGISTER r0", "REGISTER elsewhere")),
            close: () => ch.close(),
            async *[Symbol.asyncIterator]() {
              for await (const line of ch) yield line === "OK elsewhere" ? "OK r0" : line;
            },
          };
        }
        return ch;
      },
    });
    assert.equal(outcome.messages, 0);
    assert.ok(outcome.errors > 0);
    assert.match(outcome.errorSamples[0] ?? "", /FAILED \S+ UNKNOWN_USER/);
  } finally {
    relay?.close();
    await relay?.finished;
  }
});
