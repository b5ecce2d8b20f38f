// The client's command line: `chat` (default), `send`, `listen`, `whois` and `trust` (README,
// docs/CLIENT.md), parsed with node:util parseArgs. Loads certificates (making a user's on
// first use from a local dev CA) and the earlier keys kept beside the key file, finds the
// state directory, connects (sealing end to end by default, ASL spec section 7), and maps
// every failure to one stderr line and an exit code.

import { deadline } from "../../lib/deadline.ts";
import { existsSync } from "../../lib/fs.ts";
import { parseSuiteList } from "../../lib/asl/suites.ts";
import type { Suite } from "../../lib/asl/types.ts";
import { parseArgs } from "node:util";
import { formatTraceEvent } from "../../lib/asl/mod.ts";
import { loadCredentials, loadTrustStore } from "../../lib/pki/credentials.ts";
import { issueUser } from "../../lib/pki/pki_files.ts";
import { loadEarlierKeys } from "../../lib/pki/key_history.ts";
import type { Credentials, TrustStore } from "../../lib/pki/types.ts";
import { Chat, clock, PLAIN_MARK, printableLines, SEALED_MARK } from "./chat.ts";
import { runChat } from "./chat_runner.ts";
import { connect, type MessengerClient } from "../../lib/client/client.ts";
import { isUserId, MAX_PAYLOAD_BYTES, parseRecipients } from "../../lib/client/commands.ts";
import { ClientError } from "../../lib/client/errors.ts";
import { explainConnectError, explainLookupError, explainReason } from "./explain.ts";
import { type EnvLookup, processEnv, resolveStateDir } from "../../lib/client/state.ts";
import { PlainUI, TerminalUI } from "./terminal.ts";
import { type ClientEvent, type ClientOptions, DEFAULT_PORT } from "../../lib/client/types.ts";

/** Exit codes: 0 success, 1 a failure at run time (FAILED, connection), 2 a usage or setup error. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

/** A usage or setup problem: one line on stderr, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Flags every subcommand takes. */
export interface CommonFlags {
  readonly user: string;
  readonly host: string;
  readonly port: number;
  /** --server LIST: the servers of a cluster, tried in turn (undefined: --host/--port). */
  readonly servers: readonly { readonly hostname: string; readonly port: number }[] | undefined;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly crl: string | undefined;
  /** The state directory: --state-dir, else the user's (see `resolveStateDir`). */
  readonly stateDir: string;
  /** True when --state-dir was given. */
  readonly explicitStateDir: boolean;
  /** True when --cert and --key were not given (then a missing cert may be made). */
  readonly defaultPaths: boolean;
  readonly verbose: boolean;
  /** Suites to offer, in order (--suites); undefined: the library's default. */
  readonly suites: readonly Suite[] | undefined;
  /** False with --no-seal: send plain payloads. */
  readonly seal: boolean;
  /** --sealed-only: refuse plain deliveries with NOT_SEALED. */
  readonly sealedOnly: boolean;
}

/** A parsed command line. */
export type CliCommand =
  | { readonly name: "help"; readonly text: string }
  | { readonly name: "chat"; readonly common: CommonFlags }
  | {
    readonly name: "send";
    readonly common: CommonFlags;
    readonly to: string;
    readonly text: string | undefined;
    readonly timeoutMs: number;
  }
  | {
    readonly name: "listen";
    readonly common: CommonFlags;
    readonly json: boolean;
    readonly count: number | undefined;
  }
  | { readonly name: "whois"; readonly common: CommonFlags; readonly target: string }
  | { readonly name: "trust"; readonly common: CommonFlags; readonly target: string };

const COMMON_HELP = `  --user ID        your user id (required; the CN of your certificate)
  --host NAME      server host (default localhost)
  --port N         server port (default ${DEFAULT_PORT})
  --server LIST    several servers of one cluster, tried in turn and failed over to:
                   HOST:PORT,HOST:PORT (instead of --host and --port)
  --ca FILE        CA certificate(s) the server must chain to (default certs/ca.pem)
  --cert FILE      your certificate chain (default certs/<user>.pem)
  --key FILE       your private key (default certs/<user>.key)
  --crl FILE       a CRL to check chains against: the server's, and whois (optional)
  --state-dir DIR  where the client keeps its state (default $XDG_STATE_HOME/netsec-msg,
                   else ~/.local/state/netsec-msg)
  --suites LIST    cipher suites to offer, in order (default X25519_AES_GCM,AES_GCM,AES_CBC;
                   X25519_AES_GCM alone: only forward-secret sessions)
  --no-seal        send plain payloads (default: sealed end to end, only the recipients
                   can read them and they can check who wrote them; docs/E2E.md)
  --sealed-only    refuse messages that are not sealed (FAILED <sid> NOT_SEALED)
  --verbose        print the handshake steps on stderr
  -h, --help       this help`;

/** Help texts of the subcommands. */
export const HELP: Record<"chat" | "send" | "listen" | "whois" | "trust", string> = {
  chat: `Usage: deno task client --user ID [options]
       deno task client send|listen|whois|trust --help

Interactive chat. Type "@bob hello" to send to bob, "@bob,carol hi" to a group,
a plain line to send to the last recipient, /whois bob, /trust bob, /fingerprint,
/help, /who am i, /quit. Messages are sealed end to end by default; received ones
are marked ${"🔒"} (sealed and verified) or [NOT SEALED] (plain: the server could
have written or changed them).

Options:
${COMMON_HELP}`,
  send: `Usage: deno task client send --user ID --to ID[,ID...] [options] [TEXT]

Sends TEXT (or standard input when TEXT is absent) to one user or a group, sealed
end to end (unless --no-seal). Exits 0 when the server stored it (OK), 1 printing
the reason when it FAILED or was refused here (PIN_PENDING: a recipient's
certificate changed, see "client trust"; TOO_LARGE).

Options:
  --to IDS         recipient, or comma-separated group (required)
  --timeout SECS   give up after this long (default 30)
${COMMON_HELP}`,
  listen: `Usage: deno task client listen --user ID [--json] [--count N] [options]

Prints incoming messages as they arrive and acknowledges each after printing it,
marked ${"🔒"} (sealed and verified) or [NOT SEALED]. Refused and held sealed
messages are reported on stderr.

Options:
  --json           one JSON object per line: sid, from, text, received_at, sealed,
                   sender_fingerprint (null for a plain message)
  --count N        exit after N messages
${COMMON_HELP}`,
  whois: `Usage: deno task client whois --user ID [options] USERID

Asks the server for USERID's certificate chain (CERT) and checks it yourself against
your CA file (and --crl): signed by your CA, valid now, and naming USERID. Prints
"USERID SHA-256 ab:cd:..." (the fingerprint of USERID's certificate, the hex digits
"openssl x509 -fingerprint -sha256" shows) and exits 0; compare it with the one
USERID sees in /who am i. A second line gives the section 7 fingerprint and the
pin status (accepted, new, CHANGED, rejected). Exits 1 with the reason on one line
when the lookup or the check fails, 2 for a usage error.

Options:
${COMMON_HELP}`,
  trust: `Usage: deno task client trust --user ID [options] USERID

Accepts USERID's current certificate for sealing and opening (after you compared
its fingerprint with USERID out of band), e.g. after USERID got a new certificate.
Prints the fingerprints accepted before and the new one, exits 0; 1 with the
reason when the lookup or the check fails, 2 for a usage error.

Options:
${COMMON_HELP}`,
};

const COMMON_OPTIONS = {
  user: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  server: { type: "string" },
  ca: { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
  crl: { type: "string" },
  "state-dir": { type: "string" },
  verbose: { type: "boolean" },
  suites: { type: "string" },
  "no-seal": { type: "boolean" },
  "sealed-only": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function positiveInt(value: string, flag: string, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(
      `${flag} must be a whole number from 1 to ${max}, not ${JSON.stringify(value)}`,
    );
  }
  return Number(value);
}

function suitesFlag(value: string | undefined): Suite[] | undefined {
  if (value === undefined) return undefined;
  const suites = parseSuiteList(value);
  if (typeof suites === "string") throw new UsageError(`--suites: ${suites}`);
  return suites;
}

/** `--server HOST:PORT,HOST:PORT` (a port may be left out; `[v6]:PORT` for IPv6). */
function serverList(
  value: string | undefined,
): { readonly hostname: string; readonly port: number }[] | undefined {
  if (value === undefined) return undefined;
  const servers = value.split(",").map((item) => {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s\[\]]+))(?::(\d+))?$/.exec(item.trim());
    if (m === null) {
      throw new UsageError(
        `--server: ${JSON.stringify(item)} is not HOST:PORT (for example --server a:4287,b:4287)`,
      );
    }
    const hostname = m[1] ?? m[2] ?? "";
    const port = m[3] === undefined ? DEFAULT_PORT : positiveInt(m[3], "--server port", 65_535);
    return { hostname, port };
  });
  return servers;
}

/** Parses the client's arguments; throws {@link UsageError} with a one-line reason. */
export function parseCli(args: readonly string[], env: EnvLookup = processEnv): CliCommand {
  const first = args[0];
  const name = first === "send" || first === "listen" || first === "whois" || first === "chat" ||
      first === "trust"
    ? first
    : "chat";
  const rest = name === first ? args.slice(1) : [...args];
  const options = name === "send"
    ? { ...COMMON_OPTIONS, to: { type: "string" }, timeout: { type: "string" } } as const
    : name === "listen"
    ? { ...COMMON_OPTIONS, json: { type: "boolean" }, count: { type: "string" } } as const
    : COMMON_OPTIONS;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options,
      strict: true,
      allowPositionals: name === "send" || name === "whois" || name === "trust",
    });
  } catch (err) {
    const message = (err as Error).message.split("\n")[0]!.replace(/\. To specify.*$/, "");
    throw new UsageError(
      `${message} (see: deno task client ${name === "chat" ? "" : name + " "}--help)`,
    );
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return { name: "help", text: HELP[name] };
  const str = (key: string) => typeof values[key] === "string" ? values[key] as string : undefined;
  const user = str("user");
  if (user === undefined) throw new UsageError("--user is required (for example --user alice)");
  if (!isUserId(user)) {
    throw new UsageError(
      `--user ${JSON.stringify(user)} is not a user id (1 to 111 letters and digits)`,
    );
  }
  const stateDir = resolveStateDir(str("state-dir"), env);
  if (stateDir === undefined) {
    throw new UsageError(
      "no state directory: HOME and XDG_STATE_HOME are unset; pass --state-dir DIR",
    );
  }
  const servers = serverList(str("server"));
  if (servers !== undefined && (str("host") !== undefined || str("port") !== undefined)) {
    throw new UsageError("--server replaces --host and --port: give one or the other");
  }
  const common: CommonFlags = {
    user,
    host: servers?.[0]?.hostname ?? str("host") ?? "localhost",
    port: servers?.[0]?.port ??
      (str("port") === undefined ? DEFAULT_PORT : positiveInt(str("port")!, "--port", 65_535)),
    servers,
    ca: str("ca") ?? "certs/ca.pem",
    cert: str("cert") ?? `certs/${user}.pem`,
    key: str("key") ?? `certs/${user}.key`,
    crl: str("crl"),
    stateDir,
    explicitStateDir: str("state-dir") !== undefined && str("state-dir") !== "",
    defaultPaths: str("cert") === undefined && str("key") === undefined,
    verbose: values.verbose === true,
    suites: suitesFlag(str("suites")),
    seal: values["no-seal"] !== true,
    sealedOnly: values["sealed-only"] === true,
  };
  if (name === "send") {
    const to = str("to");
    if (to === undefined) {
      throw new UsageError("--to is required (for example --to bob or --to bob,carol)");
    }
    try {
      parseRecipients(to);
    } catch (err) {
      throw new UsageError(`--to: ${(err as Error).message}`);
    }
    if (parsed.positionals.length > 1) {
      throw new UsageError("give the text as one argument (quote it), or on standard input");
    }
    const timeout = str("timeout");
    return {
      name,
      common,
      to,
      text: parsed.positionals[0],
      timeoutMs: timeout === undefined ? 30_000 : positiveInt(timeout, "--timeout", 86_400) * 1000,
    };
  }
  if (name === "whois" || name === "trust") {
    const [target, ...extra] = parsed.positionals;
    if (target === undefined) {
      throw new UsageError(`${name} needs the user id to look up (for example: ${name} bob)`);
    }
    if (extra.length > 0) throw new UsageError(`${name} takes one user id at a time`);
    if (!isUserId(target)) {
      throw new UsageError(
        `${JSON.stringify(target)} is not a user id (1 to 111 letters and digits)`,
      );
    }
    return { name, common, target };
  }
  if (name === "listen") {
    const count = str("count");
    return {
      name,
      common,
      json: values.json === true,
      count: count === undefined ? undefined : positiveInt(count, "--count", 1_000_000_000),
    };
  }
  return { name: "chat", common };
}

/** Where the CLI reads and writes; the real process streams by default. */
export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stdin: ReadableStream<Uint8Array>;
  readonly stdinIsTerminal: boolean;
}

const encoder = new TextEncoder();

function writeAllSync(file: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

/** The process's own stdin, stdout and stderr. */
export function processIO(): CliIO {
  return {
    stdout: (text) => writeAllSync(Deno.stdout, text),
    stderr: (text) => writeAllSync(Deno.stderr, text),
    stdin: Deno.stdin.readable,
    stdinIsTerminal: Deno.stdin.isTerminal(),
  };
}

/** True when `path` exists; a path that cannot be inspected counts as absent (the read says why). */
function exists(path: string): boolean {
  try {
    return existsSync(path);
  } catch {
    return false;
  }
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : path.slice(0, i) || "/";
}

/**
 * Loads the user's credentials and the trust store. With the default paths, a missing
 * user certificate is made from a local dev CA key (`certs/ca.key`) when there is one.
 */
export async function loadIdentity(
  flags: CommonFlags,
  io: CliIO,
): Promise<{ credentials: Credentials; trust: TrustStore; earlierKeys: CryptoKey[] }> {
  if (!exists(flags.cert) || !exists(flags.key)) {
    const dir = dirOf(flags.cert);
    if (flags.defaultPaths && exists(`${dir}/ca.key`) && exists(`${dir}/ca.pem`)) {
      await issueUser({ dir, userId: flags.user, force: true });
      io.stderr(
        `made ${flags.cert} and ${flags.key} for ${flags.user} (first use; signed by the dev CA ${dir}/ca.key)\n`,
      );
    } else if (!exists(flags.ca) && flags.defaultPaths) {
      throw new UsageError(
        `no CA file ${flags.ca} and no certificate for ${flags.user}: run "deno task certs init" ` +
          `and "deno task certs user ${flags.user}"`,
      );
    } else {
      throw new UsageError(
        `no certificate ${exists(flags.cert) ? flags.key : flags.cert} for ${flags.user}: run ` +
          `"deno task certs user ${flags.user}" (or pass --cert and --key)`,
      );
    }
  }
  if (!exists(flags.ca)) {
    throw new UsageError(`no CA file ${flags.ca}: run "deno task certs init" (or pass --ca)`);
  }
  try {
    const credentials = await loadCredentials(flags.cert, flags.key);
    const trust = await loadTrustStore(flags.ca, flags.crl);
    // Keys kept by `certs user ID --force` (<key>.1, .2, …): what was sealed to them opens.
    const earlierKeys = await loadEarlierKeys(flags.key);
    return { credentials, trust, earlierKeys };
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]!);
  }
}

/** Client options from the flags, credentials and an event hook. */
export function clientOptions(
  flags: CommonFlags,
  identity: { credentials: Credentials; trust: TrustStore; earlierKeys?: CryptoKey[] },
  io: CliIO,
  onEvent: (event: ClientEvent) => void,
  reconnect: ClientOptions["reconnect"] = {},
): ClientOptions {
  try {
    Deno.mkdirSync(flags.stateDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new UsageError(
      `cannot create the state directory ${flags.stateDir}: ${(err as Error).message} ` +
        `(pass --state-dir DIR)`,
    );
  }
  return {
    user: flags.user,
    hostname: flags.host,
    port: flags.port,
    ...(flags.servers !== undefined ? { servers: flags.servers } : {}),
    credentials: identity.credentials,
    trust: identity.trust,
    stateDir: flags.stateDir,
    reconnect,
    onEvent,
    seal: flags.seal,
    sealedOnly: flags.sealedOnly,
    ...(identity.earlierKeys?.length ? { earlierKeys: identity.earlierKeys } : {}),
    ...(flags.verbose ? { trace: (e) => io.stderr(formatTraceEvent(e) + "\n") } : {}),
    ...(flags.suites ? { suites: flags.suites } : {}),
  };
}

function statusLine(event: ClientEvent, flags: CommonFlags): string | undefined {
  switch (event.type) {
    case "connecting":
      return `connecting to ${event.hostname}:${event.port} (attempt ${event.attempt})`;
    case "handshake":
      return `handshake done: ${event.suite}, server ${event.server} (SHA-256 ${event.fingerprint})`;
    case "ready":
      return `registered as ${event.user}`;
    case "reconnecting":
      return `connection lost; reconnecting in ${event.delayMs} ms (attempt ${event.attempt})`;
    case "closed":
      return event.reason === "error"
        ? `closed: ${explainConnectError(event.error, { caPath: flags.ca })}`
        : undefined;
    case "bad_seal":
      return `WARNING: refused a sealed message from ${event.from} (sid ${event.sid}): BAD_SEAL, ` +
        `${event.reason}: ${event.message}`;
    case "pin_pending":
      return `WARNING: ${event.userId}'s certificate changed: accepted ${
        event.accepted.join(", ") || "(none)"
      }, now ${event.fingerprint}; their messages are held until you run ` +
        `"deno task client trust --user ${flags.user} ${event.userId}" (after comparing)`;
    case "held":
      return `a sealed message from ${event.from} is held: its certificate cannot be fetched now`;
    case "not_sealed":
      return `refused a message from ${event.from} that was not sealed (sid ${event.sid})`;
  }
}

/** Whether a status event is a warning every command prints (not only with --verbose). */
function isWarning(event: ClientEvent): boolean {
  return event.type === "bad_seal" || event.type === "pin_pending" ||
    event.type === "not_sealed";
}

async function readStdinText(stdin: ReadableStream<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    size += chunk.length;
    if (size > MAX_PAYLOAD_BYTES + 2) {
      throw new ClientError(
        "TOO_LARGE",
        `standard input is over ${MAX_PAYLOAD_BYTES} bytes; the payload limit is 11111 base64 characters`,
      );
    }
    chunks.push(chunk);
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return new TextDecoder().decode(all).replace(/\r?\n$/, "");
}

async function open(
  flags: CommonFlags,
  io: CliIO,
  onEvent: (event: ClientEvent) => void,
  reconnect: ClientOptions["reconnect"] = {},
): Promise<MessengerClient> {
  const identity = await loadIdentity(flags, io);
  noteOldState(flags, io);
  try {
    return await connect(clientOptions(flags, identity, io, onEvent, reconnect));
  } catch (err) {
    throw new RunError(
      explainConnectError(err, { caPath: flags.ca, server: `${flags.host}:${flags.port}` }),
    );
  }
}

/**
 * Before revision 4 the seen memory was `.client-state/<user>.seen` in the directory the
 * client was started from, keyed by sid alone. It is not read any more (it cannot tell a
 * redelivery from a new message of another server); say so once per run.
 */
function noteOldState(flags: CommonFlags, io: CliIO): void {
  const old = `.client-state/${flags.user}.seen`;
  if (!exists(old) || `${flags.stateDir}/${flags.user}.seen` === old) return;
  io.stderr(
    `note: ${old} (the old seen memory) is no longer used; state is kept in ` +
      `${flags.stateDir}. You may delete it.\n`,
  );
}

/** A failure at run time: one line on stderr, exit code 1. */
class RunError extends Error {}

async function runSend(cmd: Extract<CliCommand, { name: "send" }>, io: CliIO): Promise<number> {
  if (cmd.text === undefined && io.stdinIsTerminal) {
    throw new UsageError("give the text as an argument, or pipe it on standard input");
  }
  const text = cmd.text ?? await readStdinText(io.stdin);
  const flags = cmd.common;
  const log = (e: ClientEvent) => {
    const line = flags.verbose || isWarning(e) ? statusLine(e, flags) : undefined;
    if (line !== undefined) io.stderr(line + "\n");
  };
  const client = await open(flags, io, log, { maxAttempts: 5 });
  try {
    const result = await deadline(client.send(cmd.to, text), cmd.timeoutMs, () => {
      throw new ClientError("TIMEOUT", `no answer within ${cmd.timeoutMs / 1000} s`);
    });
    io.stdout(`OK ${result.id}\n`);
    return EXIT.OK;
  } catch (err) {
    if (err instanceof ClientError) {
      io.stderr(
        `FAILED: ${err.remote ? explainReason(err.code) : `${err.code}: ${err.message}`}\n`,
      );
      return EXIT.FAILED;
    }
    throw err;
  } finally {
    await client.close();
  }
}

async function runListen(cmd: Extract<CliCommand, { name: "listen" }>, io: CliIO): Promise<number> {
  const flags = cmd.common;
  let failure: string | undefined;
  const log = (e: ClientEvent) => {
    const line = statusLine(e, flags);
    if (e.type === "closed" && e.reason === "error") failure = line;
    else if (line !== undefined && (flags.verbose || isWarning(e))) io.stderr(line + "\n");
  };
  const client = await open(flags, io, log);
  const stop = () => void client.close();
  Deno.addSignalListener("SIGINT", stop);
  let count = 0;
  try {
    for await (const message of client) {
      if (cmd.json) {
        io.stdout(
          JSON.stringify({
            sid: message.sid,
            from: message.from,
            text: message.text,
            received_at: message.receivedAt.toISOString(),
            sealed: message.sealed,
            sender_fingerprint: message.senderFingerprint ?? null,
          }) + "\n",
        );
      } else {
        const [first = "", ...more] = printableLines(message.text);
        const mark = message.sealed ? SEALED_MARK : PLAIN_MARK;
        io.stdout(
          `${clock(message.receivedAt)} ${mark} ${message.from}: ${first}\n` +
            more.map((l) => `        ${l}\n`).join(""),
        );
      }
      count++;
      if (cmd.count !== undefined && count >= cmd.count) break;
    }
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    await client.close();
  }
  if (failure !== undefined) {
    io.stderr(failure + "\n");
    return EXIT.FAILED;
  }
  return EXIT.OK;
}

/**
 * A one-shot command on a connected client (whois, trust): events on stderr with --verbose,
 * a ClientError as one line on stderr (exit 1), the client closed whatever happens.
 */
async function withClient(
  flags: CommonFlags,
  io: CliIO,
  failure: (err: ClientError) => string,
  body: (client: MessengerClient) => Promise<void>,
): Promise<number> {
  const log = (e: ClientEvent) => {
    const line = flags.verbose ? statusLine(e, flags) : undefined;
    if (line !== undefined) io.stderr(line + "\n");
  };
  const client = await open(flags, io, log, false);
  try {
    await body(client);
    return EXIT.OK;
  } catch (err) {
    if (err instanceof ClientError) {
      io.stderr(failure(err) + "\n");
      return EXIT.FAILED;
    }
    throw err;
  } finally {
    await client.close();
  }
}

function runWhois(cmd: Extract<CliCommand, { name: "whois" }>, io: CliIO): Promise<number> {
  const failure = (err: ClientError) =>
    `whois ${cmd.target}: ${explainLookupError(err, cmd.target, cmd.common.ca)}`;
  return withClient(cmd.common, io, failure, async (client) => {
    const found = await client.lookupCertificate(cmd.target);
    io.stdout(`${found.identity} SHA-256 ${found.fingerprint}\n`);
    const pin = await client.whois(cmd.target);
    io.stdout(`${pin.userId} fingerprint ${pin.fingerprint} pin ${pin.pin}\n`);
  });
}

function runTrust(cmd: Extract<CliCommand, { name: "trust" }>, io: CliIO): Promise<number> {
  const failure = (err: ClientError) => `trust ${cmd.target}: ${err.code}: ${err.message}`;
  return withClient(cmd.common, io, failure, async (client) => {
    const result = await client.trust(cmd.target);
    const before = result.previous.filter((fp) => fp !== result.fingerprint);
    io.stdout(
      `${result.userId} accepted before: ${before.length ? before.join(", ") : "(none)"}\n` +
        `${result.userId} accepted now:    ${result.fingerprint}\n`,
    );
  });
}

async function runChatCommand(
  cmd: Extract<CliCommand, { name: "chat" }>,
  io: CliIO,
): Promise<number> {
  const flags = cmd.common;
  const chat = new Chat({ user: flags.user });
  const ui = io.stdinIsTerminal && Deno.stdout.isTerminal()
    ? new TerminalUI()
    : new PlainUI(io.stdin, io.stdout);
  const onEvent = (event: ClientEvent) => {
    for (const action of chat.event(event)) if (action.type === "print") ui.print(action.text);
  };
  const client = await open(flags, io, onEvent);
  const end = await runChat(client, chat, ui);
  return end.reason === "quit" ? EXIT.OK : EXIT.FAILED;
}

/** Runs the client with `args`; returns the exit code. Never throws. */
export async function main(args: readonly string[], io: CliIO = processIO()): Promise<number> {
  try {
    const cmd = parseCli(args);
    switch (cmd.name) {
      case "help":
        io.stdout(cmd.text + "\n");
        return EXIT.OK;
      case "send":
        return await runSend(cmd, io);
      case "listen":
        return await runListen(cmd, io);
      case "whois":
        return await runWhois(cmd, io);
      case "trust":
        return await runTrust(cmd, io);
      case "chat":
        return await runChatCommand(cmd, io);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`error: ${err.message}\n`);
      return EXIT.USAGE;
    }
    if (err instanceof RunError || err instanceof ClientError) {
      io.stderr(`error: ${err instanceof ClientError ? `${err.code}: ` : ""}${err.message}\n`);
      return EXIT.FAILED;
    }
    io.stderr(`error: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
    return EXIT.FAILED;
  }
}
