// The relay workload of the load tool (issue #6): P sender→recipient pairs, each sender
// keeping W messages in flight. A message counts when the recipient has received it and
// acknowledged it (`OK <sid>`) and the sender has its `OK <id>`; its latency runs from the
// send to the later of the two. Transport-neutral: works on any LineChannel (ASL or TLS).

import type { LineChannel } from "./channel.ts";
import { decodeBase64Strict, encodeBase64 } from "../../lib/base64.ts";
import { SampleBuffer } from "./stats.ts";

/** Seals and opens the relay's payloads end to end (sealed.ts); absent: plain payloads. */
export interface RelaySealer {
  /** The sealed PAYLOAD of pair `pair`'s plaintext. */
  wrap(pair: number, plaintext: Uint8Array): Promise<string>;
  /** The plaintext of a delivered payload to pair `pair`'s recipient, or undefined if refused. */
  unwrap(pair: number, payload: string): Promise<Uint8Array | undefined>;
}

/** Parameters of one relay run. */
export interface RelayParams {
  /** Sender user ids; sender i sends to recipient i. */
  readonly senders: readonly string[];
  /** Recipient user ids. */
  readonly recipients: readonly string[];
  /** Messages each sender keeps in flight. */
  readonly window: number;
  /** Warm-up seconds before measuring. */
  readonly warmupSeconds: number;
  /** Measured seconds. */
  readonly seconds: number;
  /** Payload bytes before base64. */
  readonly payloadBytes: number;
  /** Opens a channel for a user (handshake included); REGISTER is sent by the workload. */
  readonly open: (userId: string) => Promise<LineChannel>;
  /** Called about every 250 ms with the messages completed so far. */
  readonly onProgress?: (completed: number) => void;
  /** Seconds to wait for in-flight messages after the window closes (default 5). */
  readonly drainSeconds?: number;
  /** Called once the workload runs (after the warm-up), e.g. to start a fault. */
  readonly onMeasureStart?: () => void;
  /** Called once the measured window closes (before draining). */
  readonly onMeasureEnd?: () => void;
  /** Stops the run early (the measured window ends there). */
  readonly signal?: AbortSignal;
  /** Seal every payload (the sender seals, the recipient opens before counting it). */
  readonly sealer?: RelaySealer;
}

/** What one relay run measured. */
export interface RelayOutcome {
  /** Messages completed inside the measured window. */
  readonly messages: number;
  /** Measured window, seconds. */
  readonly seconds: number;
  /** Latencies (ms) of messages sent inside the measured window and completed. */
  readonly latencies: Float64Array;
  /** Of those messages: ms from the send to the sender's OK. */
  readonly okLatencies: Float64Array;
  /** Of those messages: ms from the send to the recipient receiving the delivery. */
  readonly deliveryLatencies: Float64Array;
  /** FAILED replies plus channels that ended early. */
  readonly errors: number;
  /** The first few error descriptions. */
  readonly errorSamples: readonly string[];
}

/** A unique tag for one run, part of every MESSAGEID and payload (MESSAGEIDs are remembered). */
export function runTag(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** The payload of message `seq` of pair `pair`: strict base64 of `tag:pair:seq:` padded with `x`. */
export function makePayload(tag: string, pair: number, seq: number, bytes: number): string {
  const head = `${tag}:${pair}:${seq}:`;
  const raw = new TextEncoder().encode(head.padEnd(Math.max(bytes, head.length + 1), "x"));
  return encodeBase64(raw);
}

/** Reads back `[tag, pair, seq]` from a payload made by makePayload, or undefined. */
export function readPayload(payload: string): [string, number, number] | undefined {
  // Only the first 48 characters (36 bytes) are needed to read the header.
  const bytes = decodeBase64Strict(payload.slice(0, 48));
  if (bytes === undefined) return undefined;
  const parts = new TextDecoder().decode(bytes).split(":");
  const pair = Number(parts[1]);
  const seq = Number(parts[2]);
  if (parts.length < 4 || !Number.isInteger(pair) || !Number.isInteger(seq)) return undefined;
  return [parts[0] as string, pair, seq];
}

/** Sends `REGISTER user` and resolves on the first line that answers it. */
export async function register(
  channel: LineChannel,
  user: string,
  onOther: (line: string) => void,
  iterator: AsyncIterator<string>,
  timeoutMs = 15_000,
): Promise<void> {
  await channel.send(`REGISTER ${user}`);
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1_000_000 && Date.now() < deadline; i++) {
    const next = await iterator.next();
    if (next.done === true) throw new Error(`channel of ${user} closed before REGISTER's reply`);
    if (next.value === `OK ${user}`) return;
    if (next.value.startsWith(`FAILED ${user} `)) {
      throw new Error(`REGISTER ${user}: ${next.value}`);
    }
    onOther(next.value);
  }
  throw new Error(`REGISTER ${user}: no reply`);
}

/** Runs the relay workload; every channel it opens is closed before it returns. */
export async function runRelay(p: RelayParams): Promise<RelayOutcome> {
  const tag = runTag();
  const pairs = p.senders.length;
  const latencies = new SampleBuffer();
  const okLatencies = new SampleBuffer();
  const deliveryLatencies = new SampleBuffer();
  const errorSamples: string[] = [];
  let errors = 0;
  let completed = 0;
  let measuring = false;
  let stopped = false;
  let measureStart = 0;
  let measureEnd = 0;
  const channels: LineChannel[] = [];
  const noteError = (what: string) => {
    errors++;
    if (errorSamples.length < 5) errorSamples.push(what);
  };

  // Per-pair state: start time and flags (1 = sender OK, 2 = delivered) of in-flight seqs.
  const start: Map<number, number>[] = [];
  const flags: Map<number, number>[] = [];
  const nextSeq: number[] = [];
  const pump: (() => void)[] = [];
  const idle: (() => void)[] = [];

  const complete = (pair: number, seq: number, bit: number) => {
    const f = flags[pair] as Map<number, number>;
    const have = f.get(seq);
    if (have === undefined || (have & bit) !== 0) return;
    if (measuring) {
      const t = (start[pair] as Map<number, number>).get(seq) as number;
      if (t >= measureStart) {
        (bit === 1 ? okLatencies : deliveryLatencies).push(performance.now() - t);
      }
    }
    if ((have | bit) !== 3) {
      f.set(seq, have | bit);
      return;
    }
    f.delete(seq);
    const t0 = (start[pair] as Map<number, number>).get(seq) as number;
    start[pair]?.delete(seq);
    if (measuring) completed++;
    if (measuring && t0 >= measureStart) latencies.push(performance.now() - t0);
    pump[pair]?.();
  };

  try {
    // Recipients first (a MESSAGE to a never-registered id fails), then senders.
    const recvDone: Promise<void>[] = [];
    const recvChannels = await Promise.all(p.recipients.map((u) => p.open(u)));
    channels.push(...recvChannels);
    await Promise.all(recvChannels.map(async (ch, pair) => {
      start[pair] = new Map();
      flags[pair] = new Map();
      nextSeq[pair] = 0;
      const it = ch[Symbol.asyncIterator]();
      const onLine = (line: string) => {
        if (!line.startsWith("MESSAGE ")) return;
        const sp1 = 8;
        const sp2 = line.indexOf(" ", sp1);
        const sp3 = line.indexOf(" ", sp2 + 1);
        void ch.send(`OK ${line.slice(sp1, sp2)}`).catch(() => {});
        const count = (payload: string) => {
          const info = readPayload(payload);
          if (info !== undefined && info[0] === tag && info[1] === pair) {
            complete(pair, info[2], 2);
          }
        };
        if (p.sealer === undefined) return count(line.slice(sp3 + 1));
        void p.sealer.unwrap(pair, line.slice(sp3 + 1)).then(
          (plain) =>
            plain === undefined ? noteError(`recipient ${pair}: refused`) : count(
              encodeBase64(plain.subarray(0, 36)),
            ),
          (err) => noteError(`open ${pair}: ${String(err)}`),
        );
      };
      await register(ch, p.recipients[pair] as string, onLine, it);
      recvDone.push((async () => {
        try {
          for (let r = await it.next(); r.done !== true; r = await it.next()) onLine(r.value);
        } catch (err) {
          if (!stopped) noteError(`recipient ${pair}: ${String(err)}`);
        }
        if (!stopped) noteError(`recipient ${pair} channel ended`);
      })());
    }));
    const sendChannels = await Promise.all(p.senders.map((u) => p.open(u)));
    channels.push(...sendChannels);
    const sendDone: Promise<void>[] = [];
    await Promise.all(sendChannels.map(async (ch, pair) => {
      const it = ch[Symbol.asyncIterator]();
      await register(ch, p.senders[pair] as string, () => {}, it);
      const to = p.recipients[pair] as string;
      const inFlight = flags[pair] as Map<number, number>;
      pump[pair] = () => {
        while (!stopped && inFlight.size < p.window) {
          const seq = nextSeq[pair] as number;
          nextSeq[pair] = seq + 1;
          start[pair]?.set(seq, performance.now());
          inFlight.set(seq, 0);
          const payload = makePayload(tag, pair, seq, p.payloadBytes);
          const sent = p.sealer === undefined
            ? ch.send(`MESSAGE ${tag}-${seq} ${to} ${payload}`)
            : p.sealer.wrap(pair, decodeBase64Strict(payload)!)
              .then((sealed) => ch.send(`MESSAGE ${tag}-${seq} ${to} ${sealed}`));
          void sent.catch((err) => noteError(`send ${pair}: ${String(err)}`));
        }
        if (inFlight.size === 0) idle[pair]?.();
      };
      sendDone.push((async () => {
        try {
          for (let r = await it.next(); r.done !== true; r = await it.next()) {
            const line = r.value;
            const ok = line.startsWith("OK ");
            const id = line.slice(ok ? 3 : 7, ok ? undefined : line.indexOf(" ", 7));
            const dash = id.lastIndexOf("-");
            const seq = Number(id.slice(dash + 1));
            if (id.slice(0, dash) !== tag || !Number.isInteger(seq)) continue;
            if (ok) {
              complete(pair, seq, 1);
            } else {
              noteError(`sender ${pair}: ${line}`);
              inFlight.delete(seq);
              start[pair]?.delete(seq);
              pump[pair]?.();
            }
          }
        } catch (err) {
          if (!stopped) noteError(`sender ${pair}: ${String(err)}`);
        }
        if (!stopped) noteError(`sender ${pair} channel ended`);
      })());
    }));

    // Warm up, then measure.
    for (let pair = 0; pair < pairs; pair++) pump[pair]?.();
    await sleep(p.warmupSeconds * 1000, p.signal);
    measuring = true;
    measureStart = performance.now();
    p.onMeasureStart?.();
    const endAt = measureStart + p.seconds * 1000;
    while (performance.now() < endAt && p.signal?.aborted !== true) {
      await sleep(Math.min(250, endAt - performance.now()), p.signal);
      p.onProgress?.(completed);
    }
    measureEnd = performance.now();
    measuring = false;
    p.onMeasureEnd?.();
    stopped = true;
    // Drain what is in flight (bounded), so nothing is left queued for the next phase.
    const drainEnd = Date.now() + (p.drainSeconds ?? 5) * 1000;
    while (Date.now() < drainEnd && flags.some((f) => f.size > 0)) await sleep(20);
    return {
      messages: completed,
      seconds: (measureEnd - measureStart) / 1000,
      latencies: latencies.toArray(),
      okLatencies: okLatencies.toArray(),
      deliveryLatencies: deliveryLatencies.toArray(),
      errors,
      errorSamples,
    };
  } finally {
    stopped = true;
    await Promise.allSettled(channels.map((ch) => ch.close()));
  }
}

/** Resolves after `ms` milliseconds, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
