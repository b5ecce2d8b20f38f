// The record-layer floor of the load tool (issue #6): CPU per relayed message of ASL's record
// layer alone (spec section 3, "Records"), measured in this process the way the RSA bound is.
// One relayed message is four records — the sender's MESSAGE, its delivery, the recipient's
// `OK <sid>` and the sender's `OK <id>` — each sealed once and opened once. They go through two
// real `Session`s (lib/asl, node:crypto path: seal, base64, framing, split, decode, open) over the
// in-memory pipe: no sockets, no parsing of commands, no storage. Set against the Deno-TLS
// baseline's whole CPU per message (server and clients), it shows what ASL's records alone cost
// before anything else a server does.

import { FrameReader, RECORD_LIMITS } from "../../lib/asl/framing.ts";
import { createPipe } from "../../lib/asl/pipe.ts";
import { createRecordCipher } from "../../lib/asl/records.ts";
import { Session } from "../../lib/asl/session.ts";
import type { Duplex } from "../../lib/asl/types.ts";
import type { ValidatedPeer } from "../../lib/pki/types.ts";
import { readCpuSeconds } from "./proc.ts";

/** What one measurement gives. */
export interface RecordLayerFigure {
  /** Records sent and received in the measured part. */
  readonly records: number;
  /** Process CPU µs per record, sealed and opened (all threads: GC helpers included). */
  readonly cpu_us_per_record: number;
  /** Wall µs per record. */
  readonly wall_us_per_record: number;
}

/** The record suites measured: one line per record, or lines batched per record (rev. 4). */
export type RecordLayerSuite = "AES_GCM" | "X25519_AES_GCM";

/**
 * The four lines of one relayed message with a `payloadChars`-character payload, shaped like the
 * server's and the clients' (ids of the length the load tool uses).
 */
export function relayedMessageLines(payloadChars: number): string[] {
  const payload = "QUFB".repeat(Math.max(1, Math.ceil(payloadChars / 4)));
  return [
    `MESSAGE s12-345678 r12 ${payload}`,
    `MESSAGE 1234567 s12 ${payload}`,
    "OK 1234567",
    "OK s12-345678",
  ];
}

/**
 * Two `Session`s of `suite` over the in-memory pipe (`capacity` bytes each way), as after a
 * handshake with fixed test keys: what the first sends, the second receives, and back.
 */
export async function sessionPair(
  suite: RecordLayerSuite,
  capacity?: number,
): Promise<[Session, Session]> {
  const keys = { suite, key: new Uint8Array(32).fill(7), iv: new Uint8Array(12).fill(3) };
  const side = async (conn: Duplex) =>
    new Session({
      conn,
      reader: new FrameReader(conn, RECORD_LIMITS),
      suite,
      peer: {} as ValidatedPeer,
      sendCipher: await createRecordCipher(keys),
      recvCipher: await createRecordCipher(keys),
    });
  const [a, b] = createPipe(capacity);
  return [await side(a), await side(b)];
}

/**
 * Sends `lines` round and round through a pair of Sessions over the in-memory pipe, `window`
 * sends in flight, and measures `records` of them after a warm-up of `warmup` records. With
 * `suite` X25519_AES_GCM the sends of one window share records, so "records" counts lines.
 */
export async function measureRecordLayer(
  lines: readonly string[],
  records: number,
  window = 20,
  warmup = 10_000,
  suite: RecordLayerSuite = "AES_GCM",
): Promise<RecordLayerFigure> {
  const [sender, receiver] = await sessionPair(suite);
  const received = receiver[Symbol.asyncIterator]();
  let at = 0;
  const run = async (count: number) => {
    for (let done = 0; done < count; done += window) {
      const batch = Math.min(window, count - done);
      const sent: string[] = [];
      const sends: Promise<void>[] = [];
      for (let j = 0; j < batch; j++) {
        const line = lines[at++ % lines.length]!;
        sent.push(line);
        sends.push(sender.send(line));
      }
      for (const line of sent) {
        const r = await received.next();
        if (r.done || r.value !== line) throw new Error("the record layer lost a line");
      }
      await Promise.all(sends);
    }
  };
  try {
    await run(warmup);
    const c0 = readCpuSeconds("self");
    const t0 = performance.now();
    await run(records);
    const wall = performance.now() - t0;
    const cpu = (readCpuSeconds("self") - c0) * 1e6;
    return {
      records,
      cpu_us_per_record: cpu / records,
      wall_us_per_record: wall * 1000 / records,
    };
  } finally {
    await sender.close();
    await receiver.close();
  }
}
