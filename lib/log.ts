// The one logger of lib/: one line per event, `key=value` fields, levels. lib/ code never
// calls console directly; entry points choose where lines go. Never log keys, nonces or
// message text.

/** Severity of a log line, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Fields attached to a log line; values are printed with `String()`, quoted when they hold spaces. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** A sink for log lines, shared by the server, the client and the protocol trace. */
export interface Logger {
  /** Detail for debugging (handshake steps, ignored acknowledgements). */
  debug(event: string, fields?: LogFields): void;
  /** Normal events (connections, registrations, disconnects, reconnects). */
  info(event: string, fields?: LogFields): void;
  /** Something unexpected from a peer, handled. */
  warn(event: string, fields?: LogFields): void;
  /** A failure. */
  error(event: string, fields?: LogFields): void;
}

/** Formats one event as `LEVEL event k=v k2="v 2"`. */
export function formatLogLine(level: LogLevel, event: string, fields: LogFields = {}): string {
  let line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${event}`;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = String(value);
    line += ` ${key}=${/[\s"=]/.test(text) || text === "" ? JSON.stringify(text) : text}`;
  }
  return line;
}

/** Creates a logger that writes lines at or above `level` through `write` (default: stderr). */
export function createLogger(
  level: LogLevel = "info",
  write: (line: string) => void = (line) => {
    Deno.stderr.writeSync(new TextEncoder().encode(line + "\n"));
  },
): Logger {
  const min = RANK[level];
  const at = (lvl: LogLevel) => (event: string, fields?: LogFields) => {
    if (RANK[lvl] >= min) write(formatLogLine(lvl, event, fields));
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A logger that drops everything; the default inside the library. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
