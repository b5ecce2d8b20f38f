// The ASL secure channel (spec sections 1–3) as the server and client use it: accept and
// connect, the in-memory pipe for tests, the error class, the shapes, and trace formatting.

export { accept, connect, DEFAULT_HANDSHAKE_TIMEOUT_MS } from "./endpoint.ts";
export { createPipe } from "./pipe.ts";
export { AslError, type AslErrorCode } from "./errors.ts";
export type {
  AcceptOptions,
  ConnectOptions,
  Duplex,
  HandshakeOptions,
  HandshakeTraceEvent,
  SecureSession,
  SessionCloseInfo,
  Suite,
} from "./types.ts";
export { formatTraceEvent, traceToLogger } from "./trace.ts";
